// Package instrumented wraps a [mapx.Map], or an existing [sync.Map], in one
// line and exports what it does to OpenTelemetry:
//
//	m := instrumented.Wrap(mapx.New[string, Session](), instrumented.WithName("sessions"))
//	defer m.Close()
//
// # Metrics
//
// Every series carries mapx.name (see [WithName]) and the attributes of
// [WithAttributes]. Through the OpenTelemetry Prometheus exporter the names
// become the ones in parentheses.
//
//   - mapx.operations {operation}, counter (mapx_operations_total): by
//     mapx.operation (load, store, load_or_store, load_and_delete, delete,
//     swap, compute, compare_and_swap, compare_and_delete, range, snapshot,
//     clear, try_store, store_wait) and mapx.result: hit or miss for load,
//     load_or_store, load_and_delete and swap (whether a value was loaded); ok
//     or rejected for try_store and store_wait; ok or failed for the
//     compare-and-* functions.
//   - mapx.entries {entry}, gauge (mapx_entries).
//   - mapx.dirty.entries {entry}, gauge (mapx_dirty_entries).
//   - mapx.read.misses {miss}, counter (mapx_read_misses_total).
//   - mapx.dirty.promotions {promotion}, counter (mapx_dirty_promotions_total).
//   - mapx.iterator.cancellations {cancellation}, counter
//     (mapx_iterator_cancellations_total).
//   - mapx.backpressure.rejections {rejection}, counter
//     (mapx_backpressure_rejections_total), by mapx.reason (capacity, rate).
//   - mapx.snapshots.active {snapshot}, gauge (mapx_snapshots_active).
//   - mapx.snapshot.duration s, histogram (mapx_snapshot_duration_seconds).
//   - mapx.iteration.duration s, histogram (mapx_iteration_duration_seconds),
//     by mapx.outcome (complete, stopped, cancelled).
//   - mapx.operation.duration s, histogram (mapx_operation_duration_seconds),
//     by mapx.operation: about one operation in [DefaultDurationSampling] is
//     timed ([WithDurationSampling] changes it or turns it off).
//
// A [SyncMap] exports mapx.operations, mapx.entries and the durations only:
// Go's sync.Map has had no read/dirty split since Go 1.24 and exposes no
// internals.
//
// # Cost
//
// A point operation makes no OpenTelemetry call unless it is sampled for
// mapx.operation.duration. It reads a flag and, once something collects,
// adds one to a counter striped by P: the goroutine is pinned to its P for
// a plain increment of that P's own cache line (an atomic one under the
// race detector). Gauges and the core's counters ([mapx.Map.Stats]) are read
// in a single asynchronous callback at collection time, so a counter equals
// the number of events, exactly. Instruments and attribute sets are built
// once, in Wrap.
//
// Measured on a 2-core machine (bench/README.md), Load through the wrapper
// takes 1.02–1.07× the bare map's time with the global provider and no SDK,
// and 1.22–1.26× with the SDK and a reader (paired medians of five runs of
// 40 interleaved rounds, sessions 4 to 6): the count is a chain of about 50
// instructions, each waiting on the one before (pinning to the P, the
// increment, unpinning), and there any chain that long costs a Load that
// much.
//
// # Spans and profiles
//
// Snapshot, every iteration of the map or of its snapshots (Range, All, Keys,
// Values, RangeContext), a StoreWait that has to wait, and Clear get a span
// named mapx.<operation> with mapx.name; an iteration's span has mapx.visited
// and mapx.outcome, and a cancelled one has status Error and a
// mapx.iteration.cancelled event. Point operations never get a span. Long
// operations run under the pprof labels mapx.name and mapx.operation, so
// continuous profiles split by map.
//
// # Names
//
// Two live wrappers with the same name on one MeterProvider would report the
// same series. The second is detected: it is not exported, and an error goes
// to otel.Handle. Close the first (or let it be collected) to free the name.
//
// Wrap makes the wrapper the map's [mapx.Observer]; wrapping one map twice
// leaves the iterations observed by the last wrapper only.
//
// # Debug page and advisor
//
// [DebugPage] is an http.Handler showing every live wrapped map, with
// sparklines of its [Recorder]'s history (a sample a second, 900 a map,
// started on the first request) and the findings of [Advise], which turns a
// map's history into verdicts such as churn, growth toward a limit or
// backpressure. docs/advisor.md explains each finding and its thresholds.
package instrumented
