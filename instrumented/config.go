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
}

// DefaultName is the mapx.name of a map wrapped without [WithName]. Name
// your maps: two live maps of the same name on one MeterProvider cannot both
// be exported.
const DefaultName = "default"

// DefaultDurationSampling is how many operations, about, share one sampled
// mapx.operation.duration measurement.
const DefaultDurationSampling = 1024

func newConfig(opts []Option) config {
	c := config{name: DefaultName, sampleEvery: DefaultDurationSampling}
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
// map in a program that never installs an SDK pays next to nothing.
func WithMeterProvider(mp metric.MeterProvider) Option {
	if mp == nil {
		panic("instrumented: WithMeterProvider(nil)")
	}
	return optionFunc(func(c *config) { c.meterProvider, c.explicitMeterProvider = mp, true })
}

// WithTracerProvider sets the TracerProvider; the default is
// otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("instrumented: WithTracerProvider(nil)")
	}
	return optionFunc(func(c *config) { c.tracerProvider = tp })
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
