// Package engine is the load generator behind the loadgen command: it runs a
// workload on a concurrent map, reports throughput, sampled latency,
// allocations, GC and the map's internal counters, compares implementations
// side by side, and plays the demo that shows what the instrumented map
// exports.
//
// # Implementations
//
// [Impls], the list that the bench module's benchmarks share (package
// [github.com/mapx-dev/mapx/loadgen/impls]): mapx, mapx-instrumented (mapx
// wrapped by package instrumented, the default), sync.Map,
// sync.Map-instrumented, xsync (github.com/puzpuzpuz/xsync v4) and rwmutex
// (a Go map behind a sync.RWMutex). Keys and values are uint64. Only mapx has Stats (entries, dirty entries, read misses,
// promotions, rejections), admission control (-max-entries, -insert-rate,
// writes through TryStore) and snapshots; for the others a report leaves the
// stats out and says so, scans read the keys one by one (under the read lock
// for rwmutex, with no consistency for sync.Map and xsync), and -snapshot-every
// and -cancel-every iterate the live map.
//
// # Workloads
//
// [Workloads]: read-mostly (99% loads), balanced (75%), write-heavy (50%),
// churn (ever-new keys inserted and the oldest deleted, in turn on every
// goroutine, so the size stays steady), leak (read-mostly plus a paced
// inserter of keys that are never deleted) and the YCSB core workloads A to
// F. Keys are drawn uniformly or from a zipf distribution (θ = 0.99, YCSB's
// generator; rank 0 hottest); ycsb-d and churn read the newest keys first.
// Each operation picks its kind from the mix with its goroutine's own random
// source, so the shares hold to a fraction of a percent over a million
// operations.
//
// # Guarantees
//
//   - -rate and the leak's -leak-rate are paced by the clock, not by the
//     speed of the machine: after n operations a goroutine waits until
//     start + n/rate. After a stall it catches up at most one second's worth.
//   - Latency: one operation in [LatencySampleEvery] is timed with the
//     monotonic clock into an HDR histogram (1 ns to 100 s, 3 significant
//     digits). It is service time: a paced run does not count the time an
//     operation waited for its turn.
//   - allocs_per_op, gc_pause_total_ns and peak_heap_bytes are the whole
//     process's during the run (workers, snapshots, telemetry), read from
//     runtime.MemStats before and after, and from runtime/metrics every
//     100ms for the peak; the preload is not counted.
//   - With -compare every implementation runs -rounds rounds on a fresh map,
//     interleaved (mapx, sync.Map, mapx, sync.Map, ...) so that they share
//     the machine's noise; the table gives ratios to the first.
//
// # When not to use it
//
// For numbers to publish use the benchmarks (make bench, benchstat): loadgen
// runs for seconds to hours against a live telemetry pipeline and measures a
// whole process, not one operation in isolation. It is not a YCSB client: it
// drives an in-process map, with YCSB's mixes and distributions but not its
// record sizes or its ordered scans (a scan reads consecutive integer keys).
package engine
