// Package exporters wires, in one call, everything an application needs to
// see its maps: a Prometheus /metrics endpoint, OTLP export of metrics and
// traces, Go runtime metrics and continuous profiles to Pyroscope.
//
//	tel, err := exporters.Setup(ctx, exporters.WithListen("127.0.0.1:9464"))
//	if err != nil {
//		return err
//	}
//	defer tel.Shutdown(context.Background())
//	m := instrumented.Wrap(mapx.New[string, Session](),
//		instrumented.WithName("sessions"),
//		instrumented.WithMeterProvider(tel.MeterProvider()),
//		instrumented.WithTracerProvider(tel.TracerProvider()))
//
// # What Setup starts
//
//   - An OpenTelemetry SDK MeterProvider ([Telemetry.MeterProvider]) read by
//     the OpenTelemetry Prometheus exporter on a client_golang registry of
//     its own ([Telemetry.Registry], served by [Telemetry.Handler]), and, when
//     OTLP is on, by a periodic reader exporting over OTLP.
//   - With [WithListen], an HTTP server serving the handler at /metrics. It
//     closes connections idle for 60 s, gives a request 30 s to arrive and
//     its response 2 min to be written (far beyond a scrape timeout, for
//     large registries), and holds at most [MaxMetricsConnections] at once;
//     further clients wait to be accepted.
//   - At /debug/mapx on the same server, instrumented's debug page of every
//     live map (instrumented.DebugPage; its sampler starts on the first visit).
//   - When OTLP traces are on, an SDK TracerProvider with a batch span
//     processor exporting over OTLP; otherwise [Telemetry.TracerProvider] is
//     a no-op provider, since spans would go nowhere.
//   - On each reader, an instrumented.Producer serving the maps' duration
//     histograms, so that a closed map's histogram series stop after one
//     last collection, like its other series; [Telemetry.Shutdown] closes
//     them.
//   - Go runtime metrics (go.opentelemetry.io/contrib/instrumentation/runtime),
//     unless [WithRuntimeMetrics](false).
//   - With a Pyroscope server address, a continuous profiler (CPU, alloc and
//     in-use objects and space, goroutines, mutex and block), tagged with the
//     service name. The mutex and block profile rates are set while it runs
//     ([MutexProfileFraction], [BlockProfileRate]) and reset at Shutdown. One
//     profiler runs per process.
//   - Unless [WithoutGlobal], the providers and a W3C trace-context and
//     baggage propagator become OpenTelemetry's globals, so that maps
//     wrapped with no provider of their own export through Setup's pipeline.
//
// Every series and span carries the resource: service.name, the telemetry
// SDK's attributes, OTEL_RESOURCE_ATTRIBUTES and [WithResourceAttributes].
//
// # Histograms and cardinality
//
// Over OTLP every histogram is a base-2 exponential one (160 buckets, the
// scale following the data, with the OTLP exporter's temporality); on
// /metrics they keep the explicit buckets package instrumented advises
// (instrumented.HistogramBuckets), which histogram_quantile and the
// dashboards read. One instrument may have at most [DefaultCardinalityLimit]
// series per collection ([WithCardinalityLimit]); past it the SDK folds new
// series into one with otel_metric_overflow="true" and no mapx_name. The
// durations, served by the Producers, are not under that limit.
//
// # Prometheus names
//
// Names are translated with underscores and unit and _total suffixes
// (unit annotations in braces, such as {operation}, add no suffix): the
// counter mapx.operations is mapx_operations_total, the histogram
// mapx.snapshot.duration (unit s) is mapx_snapshot_duration_seconds, the
// gauge mapx.entries is mapx_entries, and the attribute mapx.name is the
// label mapx_name. Series carry no otel_scope_* labels; the resource is the
// single series target_info. The Go runtime metrics are go_memory_used_bytes
// (by go_memory_type: stack, other), go_memory_allocated_bytes_total,
// go_memory_allocations_total, go_memory_gc_goal_bytes,
// go_memory_limit_bytes (only when a limit is set), go_goroutines,
// go_processor_limit, go_config_gogc_percent and the histogram
// go_schedule_duration_seconds. go_goroutines is OpenTelemetry's
// go.goroutine.count, renamed go.goroutines by a view of the MeterProvider
// because Prometheus reserves the _count suffix for histograms and
// summaries; OTLP carries the same name. The exposition passes promtool
// check metrics.
//
// # Guarantees
//
//   - A collector or Pyroscope server that is down or slow never blocks or
//     slows map operations: instruments record in memory, exports run on
//     their own goroutines, and their errors go to otel.Handle (Pyroscope's
//     and the /metrics server's to slog). While an OTLP exporter keeps
//     failing with the same error, otel.Handle gets it once a minute, with
//     the number of failures not reported; a new error, or the first after a
//     success, at once.
//   - Setup connects to nothing and returns within its context. On error it
//     returns an error naming the offending option or variable and leaves
//     nothing running.
//   - Shutdown returns within its context, even when an OTLP endpoint is a
//     dead port: exports still in flight when the context ends are
//     abandoned and cancelled. Calling it again returns the first result.
//     No goroutine of the exporters, the /metrics server or the Pyroscope
//     profiler and its HTTP transport outlives it.
//
// # Environment
//
// Options win over the environment, except the service name: an operator's
// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) wins over
// [WithServiceName], as the OpenTelemetry convention has it. Read by this
// package:
//
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: the resource.
//   - OTEL_METRIC_EXPORT_INTERVAL: the OTLP export interval in milliseconds
//     (else [DefaultMetricInterval]); a value that is not a positive number
//     fails Setup.
//   - OTEL_GO_X_CARDINALITY_LIMIT, read by the SDK when
//     [WithCardinalityLimit] is not given: replaces
//     [DefaultCardinalityLimit].
//   - OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: turn OTLP on per signal (see
//     [WithOTLP]); OTEL_METRICS_EXPORTER=none and OTEL_TRACES_EXPORTER=none
//     keep a signal off.
//   - OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
//     OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc or http/protobuf (the
//     default); http/json is not supported and fails Setup.
//   - PYROSCOPE_SERVER_ADDRESS, and PYROSCOPE_BASIC_AUTH_USER,
//     PYROSCOPE_BASIC_AUTH_PASSWORD, PYROSCOPE_TENANT_ID for its
//     authentication.
//
// Read by the OpenTelemetry SDK and exporters themselves: the other
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression,
// certificates, insecure), OTEL_METRIC_EXPORT_TIMEOUT, OTEL_BSP_*, OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG. OTEL_PROPAGATORS and OTEL_SDK_DISABLED are not
// honoured.
//
// # When not to use it
//
//   - In a library: libraries take a MeterProvider (instrumented does);
//     only the application's main should call Setup.
//   - When the application already has an OpenTelemetry or Prometheus
//     setup: pass its MeterProvider to instrumented.WithMeterProvider
//     instead of starting a second pipeline.
//   - When Prometheus must see the standard client_golang process and Go
//     collectors (process_*, go_memstats_*): register them on Registry()
//     yourself.
//   - Block profiling with Pyroscope samples nearly every blocking event: on
//     a program that blocks a lot, measure its cost before leaving it on.
package exporters
