package exporters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/mapx-dev/mapx/instrumented"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

const keyServiceName = attribute.Key("service.name")

// Telemetry is what [Setup] started: the providers, the Prometheus registry
// and handler, and, as configured, the /metrics listener, the OTLP exporters,
// the runtime metrics and the profiler. Its methods are safe for concurrent
// use.
type Telemetry struct {
	mp       *sdkmetric.MeterProvider
	tp       trace.TracerProvider
	sdkTP    *sdktrace.TracerProvider // nil: traces are not exported
	spanExp  *stoppableSpanExporter   // nil: traces are not exported
	bsp      sdktrace.SpanProcessor   // nil: traces are not exported
	reg      *prometheus.Registry
	handler  http.Handler
	srv      *http.Server // nil without WithListen
	addr     string
	served   chan struct{} // closed when srv.Serve returns
	profiler *profiler     // nil without Pyroscope

	debug *instrumented.DebugPage // served at /debug/mapx; nil without WithListen

	// producers serve the maps' durations to the readers, so that a closed
	// map's histogram series stop too.
	producers []*instrumented.Producer

	shutdownOnce sync.Once
	shutdownErr  error
}

// Setup starts what an application needs to see its maps, as opts and the
// environment say (see the package documentation). On error nothing is left
// running. Setup connects to nothing, so it returns at once even when an
// OTLP endpoint or the Pyroscope server is down; ctx bounds it all the same.
// Call [Telemetry.Shutdown] when done.
func Setup(ctx context.Context, opts ...Option) (*Telemetry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exporters: Setup: %w", err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	metrics, err := cfg.plan("METRICS", "/v1/metrics")
	if err != nil {
		return nil, err
	}
	traces, err := cfg.plan("TRACES", "/v1/traces")
	if err != nil {
		return nil, err
	}
	res, err := cfg.resource(ctx)
	if err != nil {
		return nil, err
	}

	t := &Telemetry{reg: prometheus.NewRegistry(), tp: noop.NewTracerProvider()}
	ok := false
	defer func() {
		if !ok {
			// Release what was made without exporting anything: a context
			// that is already done skips the final flushes.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			_ = t.Shutdown(done)
		}
	}()

	if err := t.setupMetrics(ctx, &cfg, metrics, res); err != nil {
		return nil, err
	}
	if traces.on {
		exp, err := cfg.spanExporter(ctx, traces)
		if err != nil {
			return nil, fmt.Errorf("exporters: OTLP %s span exporter: %w", traces.protocol, err)
		}
		t.spanExp = newStoppableSpanExporter(limitSpanErrors(exp))
		t.bsp = sdktrace.NewBatchSpanProcessor(t.spanExp)
		t.sdkTP = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(t.bsp))
		t.tp = t.sdkTP
	}
	if cfg.listen != "" {
		if err := t.listen(ctx, cfg.listen); err != nil {
			return nil, err
		}
	}
	if cfg.pyroscope != "" {
		name, _ := res.Set().Value(keyServiceName)
		if t.profiler, err = startPyroscope(cfg.pyroscope, name.AsString()); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exporters: Setup: %w", err)
	}
	if cfg.global {
		otel.SetMeterProvider(t.mp)
		otel.SetTracerProvider(t.tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	ok = true
	return t, nil
}

// resource is service.name (DefaultServiceName, else WithServiceName), the
// telemetry SDK, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, and
// WithResourceAttributes, later ones winning: the environment names the
// service over the program.
func (c *config) resource(ctx context.Context) (*resource.Resource, error) {
	name := DefaultServiceName
	if c.serviceName != "" {
		name = c.serviceName
	}
	opts := []resource.Option{
		resource.WithAttributes(keyServiceName.String(name)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(c.attrs...),
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("exporters: resource (%s, OTEL_RESOURCE_ATTRIBUTES): %w", envServiceName, err)
	}
	return res, nil
}

// setupMetrics makes the MeterProvider with its Prometheus reader and, as
// planned, its OTLP reader, and starts the runtime metrics.
func (t *Telemetry) setupMetrics(ctx context.Context, cfg *config, otlp signal, res *resource.Resource) error {
	promOpts := []otelprom.Option{
		otelprom.WithRegisterer(t.reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithProducer(t.newProducer()),
	}
	if cfg.runtime {
		promOpts = append(promOpts, otelprom.WithProducer(runtime.NewProducer()))
	}
	promExp, err := otelprom.New(promOpts...)
	if err != nil {
		return fmt.Errorf("exporters: Prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp), sdkmetric.WithView(goroutinesView)}
	if cfg.cardinality > 0 {
		mpOpts = append(mpOpts, sdkmetric.WithCardinalityLimit(cfg.cardinality))
	} else if os.Getenv(envCardinality) == "" {
		mpOpts = append(mpOpts, sdkmetric.WithCardinalityLimit(DefaultCardinalityLimit))
	}
	if otlp.on {
		interval, err := cfg.metricInterval()
		if err != nil {
			_ = promExp.Shutdown(ctx)
			return err
		}
		exp, err := cfg.metricExporter(ctx, otlp)
		if err != nil {
			_ = promExp.Shutdown(ctx)
			return fmt.Errorf("exporters: OTLP %s metric exporter: %w", otlp.protocol, err)
		}
		readerOpts := []sdkmetric.PeriodicReaderOption{
			sdkmetric.WithInterval(interval),
			sdkmetric.WithProducer(t.newProducer(
				instrumented.ProducerAggregation(exponentialHistograms(sdkmetric.InstrumentKindHistogram)),
				instrumented.ProducerTemporality(exp.Temporality(sdkmetric.InstrumentKindHistogram)))),
		}
		if cfg.runtime {
			readerOpts = append(readerOpts, sdkmetric.WithProducer(runtime.NewProducer()))
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(limitMetricErrors(exp), readerOpts...)))
	}
	t.mp = sdkmetric.NewMeterProvider(mpOpts...)
	t.handler = promhttp.HandlerFor(t.reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{slog.Default().With("component", "prometheus")},
		ErrorHandling: promhttp.ContinueOnError,
	})
	if cfg.runtime {
		if err := runtime.Start(runtime.WithMeterProvider(t.mp)); err != nil {
			return fmt.Errorf("exporters: runtime metrics: %w", err)
		}
	}
	return nil
}

// newProducer makes an instrumented.Producer that Shutdown closes.
func (t *Telemetry) newProducer(opts ...instrumented.ProducerOption) *instrumented.Producer {
	p := instrumented.NewProducer(opts...)
	t.producers = append(t.producers, p)
	return p
}

// listen serves the handler at /metrics on addr.
func (t *Telemetry) listen(ctx context.Context, addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("exporters: WithListen(%q): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", t.handler)
	t.debug = instrumented.NewDebugPage()
	mux.Handle("/debug/mapx", t.debug)
	t.srv = metricsServer(mux, metricsIdle)
	t.addr = ln.Addr().String()
	t.served = make(chan struct{})
	go func() {
		defer close(t.served)
		if err := t.srv.Serve(newLimitListener(ln, MaxMetricsConnections)); !errors.Is(err, http.ErrServerClosed) {
			otel.Handle(fmt.Errorf("exporters: serving /metrics on %s: %w", t.addr, err))
		}
	}()
	return nil
}

// MeterProvider returns the SDK MeterProvider: pass it to
// instrumented.WithMeterProvider.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// TracerProvider returns the SDK TracerProvider when traces are exported over
// OTLP, else a no-op TracerProvider.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Handler returns the Prometheus exposition of the MeterProvider's metrics,
// the content of /metrics.
func (t *Telemetry) Handler() http.Handler { return t.handler }

// Registry returns the client_golang registry behind Handler. Collectors
// registered on it are served too.
func (t *Telemetry) Registry() *prometheus.Registry { return t.reg }

// MetricsAddr returns the address /metrics is served on, with the port
// chosen when port 0 was asked, or "" without [WithListen].
func (t *Telemetry) MetricsAddr() string { return t.addr }

// Shutdown flushes and stops everything Setup started: it stops serving
// /metrics, stops the profiler, exports the last metrics and spans and
// closes the exporters, all within ctx. When ctx ends first, what is left is
// abandoned and Shutdown returns ctx's error. Later calls return the first
// call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() { t.shutdownErr = t.shutdown(ctx) })
	return t.shutdownErr
}

func (t *Telemetry) shutdown(ctx context.Context) error {
	var errs []error
	if t.srv != nil {
		if err := t.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("exporters: stopping /metrics server: %w", err))
			_ = t.srv.Close()
		}
		<-t.served
	}
	if t.debug != nil {
		_ = t.debug.Close()
	}
	if t.profiler != nil {
		errs = append(errs, t.profiler.stop(ctx))
	}
	// Metrics and traces are flushed side by side, sharing ctx.
	var wg sync.WaitGroup
	var mpErr, tpErr error
	if t.mp != nil {
		wg.Go(func() {
			if err := t.mp.Shutdown(ctx); err != nil {
				mpErr = fmt.Errorf("exporters: MeterProvider shutdown: %w", err)
			}
		})
	}
	if t.sdkTP != nil {
		wg.Go(func() {
			if err := t.sdkTP.Shutdown(ctx); err != nil {
				tpErr = fmt.Errorf("exporters: TracerProvider shutdown: %w", err)
			}
		})
	}
	wg.Wait()
	// After the MeterProvider's last export, which they serve.
	for _, p := range t.producers {
		_ = p.Close()
	}
	if t.sdkTP != nil {
		// If ctx ended first, the batch span processor may still be
		// exporting its last spans: cancel that export. The TracerProvider
		// does not even shut its processors down when ctx is done before
		// it starts: do it (a second Shutdown of the processor does nothing).
		t.spanExp.stop()
		_ = t.bsp.Shutdown(ctx)
	}
	return errors.Join(append(errs, mpErr, tpErr)...)
}

// goroutinesView renames the runtime metric go.goroutine.count, whose
// Prometheus name go_goroutine_count promtool check metrics rejects (the
// _count suffix belongs to histograms and summaries), to go.goroutines:
// go_goroutines, the name client_golang's Go collector uses. A view applies
// to every reader, so /metrics and OTLP (and a Collector behind it) carry
// the same name.
var goroutinesView = sdkmetric.NewView(
	sdkmetric.Instrument{Name: "go.goroutine.count"},
	sdkmetric.Stream{Name: "go.goroutines"},
)

// promLogger sends promhttp's errors to slog.
type promLogger struct{ l *slog.Logger }

func (l promLogger) Println(v ...any) { l.l.Warn(fmt.Sprint(v...)) }
