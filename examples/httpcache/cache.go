package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"go.opentelemetry.io/otel/metric"
)

// entry is a cached upstream response. It is stored before the fetch, so
// that admission control can refuse it before the upstream is asked, and
// requests for the same key that arrive meanwhile wait for it; done is
// closed once the fields are set.
type entry struct {
	done    chan struct{}
	status  int
	ctype   string
	body    []byte
	err     error
	fetched time.Time
}

func (e *entry) ready() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// cache is the HTTP service: GET /cache/{key...} proxies upstream/{key}
// through the map, GET /admin/snapshot streams a snapshot of it.
type cache struct {
	m        *instrumented.Map[string, *entry]
	upstream string
	client   *http.Client
	ttl      time.Duration
	now      func() time.Time

	// streamed is called after each flushed batch of the admin stream (tests
	// use it to act while a stream is under way).
	streamed func(ctx context.Context)
	// Outcomes of the admin streams.
	streamsComplete, streamsCancelled atomic.Int64
}

// options of the cache, from the flags.
type options struct {
	upstream   string
	maxEntries int
	insertRate float64
	ttl        time.Duration
}

func newCache(o options, mp metric.MeterProvider) *cache {
	var opts []mapx.Option
	if o.maxEntries > 0 {
		opts = append(opts, mapx.WithMaxEntries(o.maxEntries))
	}
	if o.insertRate > 0 {
		opts = append(opts, mapx.WithInsertRate(o.insertRate, int(max(1, math.Ceil(o.insertRate/10)))))
	}
	return &cache{
		m:        instrumented.Wrap(mapx.New[string, *entry](opts...), instrumented.WithName("httpcache"), instrumented.WithMeterProvider(mp)),
		upstream: o.upstream,
		client:   &http.Client{Timeout: 10 * time.Second},
		ttl:      o.ttl,
		now:      time.Now,
	}
}

func (c *cache) Close() error { return c.m.Close() }

func (c *cache) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /cache/{key...}", c.serveCached)
	mux.HandleFunc("GET /admin/snapshot", c.serveSnapshot)
}

func (c *cache) fresh(e *entry) bool {
	return !e.ready() || c.now().Sub(e.fetched) < c.ttl
}

func (c *cache) serveCached(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if e, ok := c.m.Load(key); ok && c.fresh(e) {
		c.reply(w, r, e, "HIT")
		return
	}
	e := &entry{done: make(chan struct{})}
	if err := c.m.TryStore(key, e); err != nil {
		c.refuse(w, err)
		return
	}
	c.fetch(key, e)
	c.reply(w, r, e, "MISS")
}

// refuse answers a write that admission control refused: 503, and a
// Retry-After of a second for the insert rate, of the TTL (when entries
// start to expire) for the cap.
func (c *cache) refuse(w http.ResponseWriter, err error) {
	retry := time.Second
	var bp *mapx.BackpressureError
	if errors.As(err, &bp) && bp.Reason == mapx.ReasonCapacity {
		retry = max(time.Second, c.ttl)
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	http.Error(w, "cache is shedding load: "+err.Error(), http.StatusServiceUnavailable)
}

// fetch fills e from the upstream. The fetch does not use the request's
// context: other requests may be waiting for the same entry. Only 200s stay
// cached.
func (c *cache) fetch(key string, e *entry) {
	defer close(e.done)
	e.fetched = c.now()
	resp, err := c.client.Get(c.upstream + "/" + key)
	if err == nil {
		defer resp.Body.Close()
		e.status, e.ctype = resp.StatusCode, resp.Header.Get("Content-Type")
		e.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	if e.err = err; err != nil || e.status != http.StatusOK {
		instrumented.CompareAndDelete(c.m, key, e)
	}
}

func (c *cache) reply(w http.ResponseWriter, r *http.Request, e *entry, how string) {
	select {
	case <-e.done:
	case <-r.Context().Done():
		return
	}
	if e.err != nil {
		http.Error(w, "upstream: "+e.err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("X-Cache", how)
	if e.ctype != "" {
		w.Header().Set("Content-Type", e.ctype)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// sweep deletes the entries older than the TTL and returns how many.
func (c *cache) sweep() int {
	n := 0
	for k, e := range c.m.All() {
		if !c.fresh(e) && instrumented.CompareAndDelete(c.m, k, e) {
			n++
		}
	}
	return n
}

// janitor sweeps every half TTL until ctx is done.
func (c *cache) janitor(ctx context.Context) {
	t := time.NewTicker(max(c.ttl/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sweep()
		}
	}
}

// snapshotLine is one line of the admin stream after the header.
type snapshotLine struct {
	Key    string `json:"key"`
	Status int    `json:"status"`
	Bytes  int    `json:"bytes"`
	AgeMs  int64  `json:"age_ms"`
}

// snapshotHeader is the first line of the admin stream.
type snapshotHeader struct {
	Entries int       `json:"entries"`
	TakenAt time.Time `json:"taken_at"`
}

// flushEvery is how many lines the admin stream writes between flushes.
const flushEvery = 64

// serveSnapshot streams a consistent snapshot of the cache as NDJSON: a
// header with the number of entries, then one line per entry (entries whose
// fetch is still under way at the cut are listed with status 0). Writers
// keep going meanwhile. When the client goes away, the request's context is
// cancelled and so is the iteration (mapx_iterator_cancellations_total).
func (c *cache) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	snap := c.m.Snapshot()
	defer snap.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	now := c.now()
	_ = enc.Encode(snapshotHeader{Entries: snap.Len(), TakenAt: now})
	n := 0
	flush := func() {
		_ = bw.Flush()
		http.NewResponseController(w).Flush()
		if c.streamed != nil {
			c.streamed(r.Context())
		}
	}
	err := snap.RangeContext(r.Context(), func(k string, e *entry) bool {
		line := snapshotLine{Key: k}
		if e.ready() {
			line.Status, line.Bytes, line.AgeMs = e.status, len(e.body), now.Sub(e.fetched).Milliseconds()
		}
		if enc.Encode(line) != nil {
			return false
		}
		if n++; n%flushEvery == 0 {
			flush()
		}
		return true
	})
	if err != nil {
		c.streamsCancelled.Add(1)
		slog.Info("admin snapshot: client went away", "streamed", n, "err", err)
		return
	}
	c.streamsComplete.Add(1)
	_ = bw.Flush()
}

// upstream is the built-in upstream: it answers every path after a short
// delay, as a slow backend would.
func upstream(delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream response for %s\n", r.URL.Path)
	})
}
