// Command httpcache is an HTTP service that caches its upstream's responses
// in a mapx map with admission control, and streams a consistent snapshot of
// the cache to an admin endpoint.
//
//	go -C examples run ./httpcache                # from the repository root: built-in upstream and clients, 10s, then a summary
//	go -C examples run ./httpcache -duration 0    # serve on 127.0.0.1:8080 until Ctrl-C
//	curl -i http://127.0.0.1:8080/cache/item-1    # X-Cache: MISS, then HIT
//	curl -N http://127.0.0.1:8080/admin/snapshot  # NDJSON: a header, then one line per entry
//	curl -s http://127.0.0.1:8080/metrics | grep ^mapx_
//
// # Behaviour
//
//   - GET /cache/{key...} answers from the cache, or stores a pending entry
//     with TryStore and fetches upstream/{key}. When admission control
//     refuses the store (-max-entries or -insert-rate), the upstream is not
//     asked: the answer is 503 with Retry-After (1s for the insert rate, the
//     TTL for the cap). Requests for a key whose fetch is under way wait for
//     it. Only 200s stay cached; entries older than -ttl are refetched, and a
//     janitor deletes them every half TTL.
//   - GET /admin/snapshot streams a snapshot taken when the request arrives:
//     a header line {"entries", "taken_at"} and exactly that many entry lines,
//     however much the cache changes meanwhile. When the client goes away,
//     the request's context ends the iteration (counted in
//     mapx_iterator_cancellations_total).
//   - GET /metrics serves the map's metrics (mapx_name="httpcache").
//
// It is an example, not a production cache: no Vary or Cache-Control
// handling, no size-aware eviction, and the whole response is kept in
// memory (up to 1 MiB).
package main
