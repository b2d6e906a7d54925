// Package instrumented wraps a [mapx.Map], or an existing [sync.Map], in one
// line and exports what it does to OpenTelemetry:
//
//	m := instrumented.Wrap(mapx.New[string, Session](), instrumented.WithName("sessions"))
//	defer m.Close()
//
// # Metrics
//
// [Metrics] is the table of what is exported: name, unit, instrument kind,
// description, attributes, where the value comes from and the Prometheus
// name; it makes the instruments and drives the collection callback, and the
// README, the dashboards and the alert rules are tested against it. Every
// series carries mapx.name (see [WithName]) and the attributes of
// [WithAttributes]. Through the OpenTelemetry Prometheus exporter the names
// become the ones in parentheses.
//
//   - mapx.operations {operation}, Counter (mapx_operations_total): by
//     mapx.operation (load, store, load_or_store, load_and_delete, delete,
//     swap, compute, compare_and_swap, compare_and_delete, range, snapshot,
//     clear, try_store, store_wait) and mapx.result: hit or miss for load,
//     load_or_store, load_and_delete and swap (whether a value was loaded); ok
//     or rejected for try_store and store_wait; ok or failed for the
//     compare-and-* functions.
//   - mapx.entries {entry}, UpDownCounter (mapx_entries).
//   - mapx.dirty.entries {entry}, UpDownCounter (mapx_dirty_entries).
//   - mapx.read.misses {miss}, Counter (mapx_read_misses_total).
//   - mapx.dirty.promotions {promotion}, Counter (mapx_dirty_promotions_total).
//   - mapx.iterator.cancellations {cancellation}, Counter
//     (mapx_iterator_cancellations_total).
//   - mapx.backpressure.rejections {rejection}, Counter
//     (mapx_backpressure_rejections_total), by mapx.reason (capacity, rate).
//   - mapx.snapshots.active {snapshot}, UpDownCounter (mapx_snapshots_active).
//   - mapx.entry.limit {entry}, UpDownCounter (mapx_entry_limit): the cap of
//     [mapx.WithMaxEntries]; absent when the map has none.
//   - mapx.snapshot.oldest.age s, Gauge (mapx_snapshot_oldest_age_seconds):
//     how long the oldest open snapshot has been open; 0 when none is.
//   - mapx.operation.duration s, Histogram (mapx_operation_duration_seconds),
//     by mapx.operation: about one operation in [DefaultDurationSampling] is
//     timed ([WithDurationSampling] changes it or turns it off), and at least
//     one a second, so that a map with little traffic has durations too.
//   - mapx.snapshot.duration s, Histogram (mapx_snapshot_duration_seconds).
//   - mapx.iteration.duration s, Histogram (mapx_iteration_duration_seconds),
//     by mapx.outcome (complete, stopped, cancelled).
//
// Entries, dirty entries, open snapshots and the limit are UpDownCounters
// because they are additive: their sum over maps or instances means
// something. The snapshot age is a Gauge: its sum does not.
//
// The histograms advise explicit buckets ([HistogramBuckets]), which a
// Prometheus exporter uses; the operation buckets are 25–50 % apart from
// 50 ns, about what timing an empty operation costs, to 1 µs, where sampled
// Loads fall (bench/README.md), then wider to 1 ms. A reader that asks for base-2 exponential
// histograms, as package exporters' OTLP reader does, gets buckets that
// follow the data instead.
//
// The histograms reach a reader through a [Producer], which package
// exporters adds to its readers; add one to your own reader in one line:
//
//	sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(instrumented.NewProducer()))
//
// A Producer serves the durations of every wrapped map in the process,
// whatever its MeterProvider. While one is open, durations go to the open
// Producers only; with none, to the MeterProvider's synchronous histograms.
// A Producer keeps its histograms of a map, about 11 KB, from the map's
// first timed operation until it has collected them after the map's Close.
//
// A [SyncMap] exports mapx.operations, mapx.entries and the durations only:
// Go's sync.Map has had no read/dirty split since Go 1.24 and exposes no
// internals.
//
// # Cardinality
//
// One map makes at most these series, each also multiplied by the distinct
// values of its [WithAttributes]: mapx.operations 22 (one per operation and
// result actually seen), mapx.operation.duration 8 (the timed point
// operations seen), mapx.iteration.duration 3, mapx.backpressure.rejections
// 2, and one for each other metric: at most 44, typically 15–25. The
// OpenTelemetry SDK keeps at most 2,000 series per instrument by default;
// past that, new series are folded into one with otel.metric.overflow=true
// and no mapx.name, so with the SDK's default about 90 maps that use every
// operation fit. Package exporters raises the limit to 50,000
// (exporters.WithCardinalityLimit): about 2,200 such maps. A [Producer]'s
// histograms are not under that limit: each holds one map's series. Keep
// mapx.name bounded: name a map for its role, not for a request or a tenant.
//
// Live wrappers with the same MeterProvider, name and attribute set share
// one set of series: counters are the sums over them, plus what closed ones
// counted (so a counter never goes down while the name is live), and
// UpDownCounters the sums over the live ones. Short-lived maps of one name
// therefore add no series and no error. When the last of them is closed,
// its asynchronous series (every Counter, UpDownCounter and Gauge) stop at
// the next collection, and with a [Producer] its histograms' series are in
// that collection, with their final values, and in no later one: a closed
// map leaves no series. Without a Producer the durations go to the
// MeterProvider's synchronous histograms, whose series stay with their last
// values: the OpenTelemetry Go SDK (v1.47) cannot forget a series of a
// synchronous instrument
// (https://github.com/open-telemetry/opentelemetry-specification/issues/2232).
// They are bounded by the distinct names, not by the number of maps. A
// Producer's series of one name and attribute set are one, over every
// MeterProvider.
//
// # Cost
//
// A point operation makes no OpenTelemetry call unless it is sampled for
// mapx.operation.duration. Load through a [Map] is the map's own Load,
// inlined: the map counts its loads itself, in a [mapx.LoadCounter] that the
// wrapper gives it, with one atomic add on a stripe of goroutines with its
// own cache lines, and times one in [WithDurationSampling]'s n. Every other
// operation reads a state word and, once something collects, adds one to a
// counter striped by P: the goroutine is pinned to its P for an atomic
// increment of that P's own cache line. Both are the same code with and
// without the race detector. With [WithOperationCounts](false) a Load costs
// what a bare map's does, and other operations read the state word only.
// Everything asynchronous is read in a single callback at collection time,
// so a counter equals the number of events, exactly. Instruments and
// attribute sets are built once per identity. The measured cost, on
// random, strided and Zipf keys, is in bench/README.md: the atomic add of
// exact counts is most of it, as a locked instruction waits for the
// load's cache misses, so that consecutive loads no longer overlap them.
//
// Since the map counts its own loads, loads made on the map that
// [Map.Unwrap] returns are counted and timed too; its other operations are
// not. Wrap a map once: a second Wrap replaces the first as the map's
// observer, and the map's loads are counted by the second only.
//
// # Spans and profiles
//
// Snapshot, iterations of the map or of its snapshots, a StoreWait that has
// to wait, Clear and ReadFrom get a span named mapx.<operation> with
// mapx.name when they run under a caller's span: use the Context variants
// ([Map.SnapshotContext], [Map.ClearContext], [Map.ReadFromContext],
// RangeContext, StoreWait; [SyncMap.RangeContext], [SyncMap.ClearContext])
// to pass it, and the span is its child. Calls
// without a span in their context make none, unless [WithRootSpans] asks for
// a trace of their own. An iteration's span has mapx.visited and
// mapx.outcome; a failed operation's span has status Error and error.type,
// and a cancelled iteration a mapx.iteration.cancelled event. Point
// operations never get a span.
//
// The Context variants run under the profile labels of their context plus
// mapx.name and mapx.operation, and restore the context's labels after, as
// [runtime/pprof.Do] does, so continuous profiles split by map and keep the
// caller's labels. The context-free methods leave the goroutine's labels
// alone: Go cannot read them back, and setting any would lose a caller's.
//
// # Names
//
// A map wrapped without [WithName] is named [DefaultName]. Wrap makes the
// wrapper the map's [mapx.Observer]; wrapping one map twice leaves the
// iterations observed by the last wrapper only.
//
// # Debug page and advisor
//
// [DebugPage] is an http.Handler showing every live wrapped map, with
// sparklines of its [Recorder]'s history (a sample a second, 900 a map,
// started on the first request) and the findings of [Advise], which turns a
// map's history into verdicts such as churn, growth toward a limit or
// backpressure. Each sample keeps the map's own [mapx.Stats.EntryLimit] and
// [mapx.Stats.OldestSnapshotAge]: the page shows them, and the advisor
// measures growth against that entry limit unless [Limits] gives one and
// judges a snapshot left open by that age, not by how many samples saw
// some snapshot open. docs/advisor.md explains each finding and its
// thresholds.
package instrumented
