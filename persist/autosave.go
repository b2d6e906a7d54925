package persist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meters and tracers of
// [Autosaver].
const ScopeName = "github.com/mapx-dev/mapx/persist"

// Version is the instrumentation version reported with ScopeName.
const Version = "0.1.0"

// Attribute keys.
const (
	keyName       = attribute.Key("mapx.name")
	keyStore      = attribute.Key("mapx.store")
	keyResult     = attribute.Key("mapx.result")
	keyTrigger    = attribute.Key("mapx.trigger")
	keyGeneration = attribute.Key("mapx.generation")
	keyBytes      = attribute.Key("mapx.bytes")
)

// What started a save: the mapx.trigger of its span.
const (
	triggerInterval = "interval"
	triggerShutdown = "shutdown"
	triggerManual   = "manual"
)

var (
	durationBuckets = []float64{1e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60}
	sizeBuckets     = []float64{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 << 30}
)

// ErrClosed is returned by [Autosaver.SaveNow] after [Autosaver.Close].
var ErrClosed = errors.New("persist: autosaver closed")

// An Autosaver saves a map to a store every interval and once more when it
// is closed. Saves never overlap, and a tick that comes during a save is
// dropped. Each save gets a span and metrics:
//
//   - span mapx.persist.save, with mapx.name, mapx.store, mapx.trigger
//     (interval, shutdown or manual) and, once saved, mapx.generation and
//     mapx.bytes; status Error if it failed.
//   - mapx.persist.duration s, histogram, by mapx.result (ok, failed).
//   - mapx.persist.size By, histogram of the bytes of each saved snapshot.
//   - mapx.persist.errors {error}, counter of failed saves.
//
// Every series carries mapx.name, the name saved, and mapx.store, the
// store's Kind ("file", "redis", "badger"; the Go type for another Store).
type Autosaver struct {
	save    func(context.Context) (Generation, error)
	tel     *saveTelemetry
	onError func(error)

	mu     sync.Mutex // serializes saves; guards closed
	closed bool

	stop      chan struct{}
	done      chan struct{} // closed when the loop has returned
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// StartAutosave starts saving m to store as name every interval, from one
// goroutine, until [Autosaver.Close]. The first save comes an interval after
// the start. Errors of the periodic saves go to the handler of
// [WithErrorHandler]. It panics if an argument is invalid.
func StartAutosave[K comparable, V any](m Snapshotter[K, V], store Store, name string, interval time.Duration, opts ...AutosaveOption) *Autosaver {
	if m == nil || store == nil {
		panic("persist: StartAutosave: nil map or store")
	}
	if err := checkName(name); err != nil {
		panic(err.Error())
	}
	if interval <= 0 {
		panic(fmt.Sprintf("persist: StartAutosave: interval %v, want a positive one", interval))
	}
	cfg := autosaveConfig{onError: otel.Handle}
	for _, o := range opts {
		if o == nil {
			panic("persist: StartAutosave: nil AutosaveOption")
		}
		o(&cfg)
	}
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Autosaver{
		save: func(ctx context.Context) (Generation, error) {
			return SaveMap(ctx, store, name, m)
		},
		tel:     newSaveTelemetry(cfg, name, kindOf(store)),
		onError: cfg.onError,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		cancel:  cancel,
	}
	go a.loop(ctx, interval)
	return a
}

func kindOf(s Store) string {
	if k, ok := s.(interface{ Kind() string }); ok {
		return k.Kind()
	}
	return fmt.Sprintf("%T", s)
}

func (a *Autosaver) loop(ctx context.Context, interval time.Duration) {
	defer close(a.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			select {
			case <-a.stop: // Close came too: it saves
				return
			default:
			}
			if _, err := a.run(ctx, triggerInterval, false); err != nil {
				a.onError(err)
			}
		}
	}
}

// SaveNow saves at once, after any save in progress, and returns what the
// store returned. After Close it returns [ErrClosed].
func (a *Autosaver) SaveNow(ctx context.Context) (Generation, error) {
	return a.run(ctx, triggerManual, false)
}

// Close stops the periodic saves, waits for the one in progress (or, once
// ctx is done, cancels it), then saves one last time with ctx and returns
// the error of that save. Later calls do nothing and return nil. No
// goroutine of the Autosaver is left when Close returns.
func (a *Autosaver) Close(ctx context.Context) error {
	first := false
	a.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	close(a.stop)
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
	}
	a.cancel()
	_, err := a.run(ctx, triggerShutdown, true)
	return err
}

// run saves once, with telemetry. final marks the last save.
func (a *Autosaver) run(ctx context.Context, trigger string, final bool) (Generation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return Generation{}, ErrClosed
	}
	a.closed = final
	return a.tel.record(ctx, trigger, a.save)
}

type autosaveConfig struct {
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
	onError        func(error)
}

// An AutosaveOption configures [StartAutosave].
type AutosaveOption func(*autosaveConfig)

// WithMeterProvider sets the MeterProvider; the default is
// otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) AutosaveOption {
	if mp == nil {
		panic("persist: WithMeterProvider(nil)")
	}
	return func(c *autosaveConfig) { c.meterProvider = mp }
}

// WithTracerProvider sets the TracerProvider; the default is
// otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) AutosaveOption {
	if tp == nil {
		panic("persist: WithTracerProvider(nil)")
	}
	return func(c *autosaveConfig) { c.tracerProvider = tp }
}

// WithErrorHandler sets the function that gets the error of each failed
// periodic save (the errors of SaveNow and Close are returned instead); the
// default is otel.Handle. It is called from the Autosaver's goroutine and
// must not call Close.
func WithErrorHandler(f func(error)) AutosaveOption {
	if f == nil {
		panic("persist: WithErrorHandler(nil)")
	}
	return func(c *autosaveConfig) { c.onError = f }
}

// saveTelemetry holds the instruments and attribute sets of an Autosaver,
// built once.
type saveTelemetry struct {
	tracer    trace.Tracer
	spanAttrs []attribute.KeyValue
	duration  metric.Float64Histogram
	size      metric.Int64Histogram
	errors    metric.Int64Counter
	base      metric.MeasurementOption
	ok        metric.MeasurementOption
	failed    metric.MeasurementOption
}

func newSaveTelemetry(cfg autosaveConfig, name, store string) *saveTelemetry {
	attrs := []attribute.KeyValue{keyName.String(name), keyStore.String(store)}
	with := func(extra ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue(nil), attrs...), extra...)...))
	}
	t := &saveTelemetry{
		tracer:    cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version)),
		spanAttrs: attrs,
		base:      with(),
		ok:        with(keyResult.String("ok")),
		failed:    with(keyResult.String("failed")),
	}
	meter := cfg.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	var errs []error
	var err error
	t.duration, err = meter.Float64Histogram("mapx.persist.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of saves of a map to a store."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	t.size, err = meter.Int64Histogram("mapx.persist.size", metric.WithUnit("By"),
		metric.WithDescription("Size of the snapshots saved."), metric.WithExplicitBucketBoundaries(sizeBuckets...))
	errs = append(errs, err)
	t.errors, err = meter.Int64Counter("mapx.persist.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Saves of a map to a store that failed."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		otel.Handle(fmt.Errorf("mapx/persist: autosave of %q: %w", name, err))
	}
	return t
}

func (t *saveTelemetry) record(ctx context.Context, trigger string, save func(context.Context) (Generation, error)) (Generation, error) {
	ctx, span := t.tracer.Start(ctx, "mapx.persist.save", trace.WithAttributes(t.spanAttrs...), trace.WithAttributes(keyTrigger.String(trigger)))
	defer span.End()
	start := time.Now()
	g, err := save(ctx)
	elapsed := time.Since(start).Seconds()
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		t.duration.Record(ctx, elapsed, t.failed)
		t.errors.Add(ctx, 1, t.base)
		return g, err
	}
	span.SetAttributes(keyGeneration.Int64(int64(g.Number)), keyBytes.Int64(g.Size))
	t.duration.Record(ctx, elapsed, t.ok)
	t.size.Record(ctx, g.Size, t.base)
	return g, nil
}
