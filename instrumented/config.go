package instrumented

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures [Wrap] and [WrapSyncMap]. Options are sealed: only the
// With* functions of this package make them, and an invalid one panics with a
// message that names it.
type Option interface {
	apply(*config)
}

type config struct {
	name                  string
	meterProvider         metric.MeterProvider
	explicitMeterProvider bool
	tracerProvider        trace.TracerProvider
	attrs                 []attribute.KeyValue
	sampleEvery           int // 0: no sampled durations
	countOperations       bool
	rootSpans             bool
}

// DefaultName is the mapx.name of a map wrapped without [WithName]. Name
// your maps: live maps of the same name and attributes on one MeterProvider
// are reported as one (see Names in the package documentation).
const DefaultName = "default"

// DefaultDurationSampling is how many operations, about, share one sampled
// mapx.operation.duration measurement.
const DefaultDurationSampling = 1024

func newConfig(opts []Option) config {
	c := config{name: DefaultName, sampleEvery: DefaultDurationSampling, countOperations: true}
	for _, o := range opts {
		if o == nil {
			panic("instrumented: nil Option")
		}
		o.apply(&c)
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithName sets the mapx.name attribute that tells this map's series apart.
// It must not be empty.
func WithName(name string) Option {
	if name == "" {
		panic("instrumented: WithName(\"\"): the name must not be empty")
	}
	return optionFunc(func(c *config) { c.name = name })
}

// WithMeterProvider sets the MeterProvider. The default is
// otel.GetMeterProvider(), which follows a later otel.SetMeterProvider; with
// it, mapx.operations counts operations from the first collection on (the
// core's counters, such as mapx.read.misses, count from the start), so that a
// map in a program that never installs an SDK pays next to nothing. A nil mp
// is ignored, as in the OpenTelemetry contrib packages: the global one is
// used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.meterProvider, c.explicitMeterProvider = mp, true
		}
	})
}

// WithTracerProvider sets the TracerProvider; the default, and what a nil tp
// gives, is otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tracerProvider = tp
		}
	})
}

// WithRootSpans makes the long operations called without a parent span
// (Snapshot, Clear, Range, ReadFrom, or a Context variant whose context has
// no span) start a trace of their own. By default they make no span: only
// the Context variants, under a caller's span, do.
func WithRootSpans(on bool) Option {
	return optionFunc(func(c *config) { c.rootSpans = on })
}

// WithOperationCounts turns mapx.operations, and with it the sampled
// mapx.operation.duration, on (the default) or off. Off, a Load through the
// wrapper is the bare map's Load, and any other point operation costs a
// load and a test more than the bare map's; the map's own metrics (entries,
// dirty entries, misses, promotions, cancellations, rejections, snapshots)
// are exported all the same, as they cost nothing on the hot path.
func WithOperationCounts(on bool) Option {
	return optionFunc(func(c *config) { c.countOperations = on })
}

// WithAttributes adds constant attributes to every series and span of the
// map. They must not use the mapx.* keys this package sets.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	for _, a := range attrs {
		switch a.Key {
		case keyName, keyOperation, keyResult, keyReason, keyOutcome:
			panic(fmt.Sprintf("instrumented: WithAttributes: %s is set by this package", a.Key))
		}
		if !a.Valid() {
			panic(fmt.Sprintf("instrumented: WithAttributes: invalid attribute %q", a.Key))
		}
	}
	attrs = append([]attribute.KeyValue(nil), attrs...)
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, attrs...) })
}

// WithDurationSampling times about one operation in every n for the
// mapx.operation.duration histogram; n must be a power of two, or 0 to time
// none. The default is [DefaultDurationSampling].
func WithDurationSampling(n int) Option {
	if n < 0 || n&(n-1) != 0 {
		panic(fmt.Sprintf("instrumented: WithDurationSampling(%d): n must be 0 or a power of two", n))
	}
	return optionFunc(func(c *config) { c.sampleEvery = n })
}
