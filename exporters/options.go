package exporters

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// An Option configures [Setup]. Options are sealed: only the With* functions
// of this package make them. An invalid option makes Setup fail with an error
// that names it.
type Option interface {
	apply(*config)
}

// OTLP protocols, as named by OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	protoGRPC = "grpc"
	protoHTTP = "http/protobuf"
	otlpAuto  = "auto"
	otlpOff   = "off"
)

// DefaultServiceName is the service.name when neither [WithServiceName],
// OTEL_SERVICE_NAME nor a service.name in OTEL_RESOURCE_ATTRIBUTES gives one.
const DefaultServiceName = "mapx"

type config struct {
	serviceName  string        // "": from the environment, else DefaultServiceName
	listen       string        // "": not served
	otlp         string        // otlpAuto, otlpOff, protoGRPC or protoHTTP
	endpoint     string        // "": from the environment
	interval     time.Duration // 0: OTEL_METRIC_EXPORT_INTERVAL, else DefaultMetricInterval
	cardinality  int           // 0: OTEL_GO_X_CARDINALITY_LIMIT, else DefaultCardinalityLimit
	runtime      bool
	pyroscope    string
	pyroscopeSet bool
	global       bool
	attrs        []attribute.KeyValue
	errs         []error
}

func newConfig(opts []Option) (config, error) {
	c := config{otlp: otlpAuto, runtime: true, global: true}
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("exporters: option %d is nil", i))
			continue
		}
		o.apply(&c)
	}
	if !c.pyroscopeSet {
		c.pyroscope = os.Getenv(envPyroscope)
		if err := checkPyroscope(c.pyroscope); err != nil {
			c.errs = append(c.errs, fmt.Errorf("exporters: %s=%q: %w", envPyroscope, c.pyroscope, err))
		}
	}
	return c, errors.Join(c.errs...)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// invalid is an option that makes Setup fail with err.
func invalid(format string, args ...any) Option {
	err := fmt.Errorf("exporters: "+format, args...)
	return optionFunc(func(c *config) { c.errs = append(c.errs, err) })
}

// WithServiceName sets the service.name resource attribute (and the
// Pyroscope application name) when the environment sets none: as the
// OpenTelemetry convention has it, $OTEL_SERVICE_NAME, else a service.name in
// $OTEL_RESOURCE_ATTRIBUTES, wins, so that an operator can rename a program
// that names itself. It must not be empty. Without it and the environment,
// the name is [DefaultServiceName].
func WithServiceName(name string) Option {
	if strings.TrimSpace(name) == "" {
		return invalid("WithServiceName(%q): the name must not be empty", name)
	}
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithListen serves [Telemetry.Handler] at /metrics on addr, a host:port
// such as "127.0.0.1:9464". An empty host means 127.0.0.1, not every
// interface: ask for "0.0.0.0:9464" or "[::]:9464" to be scraped from other
// machines. Port 0 picks a free port; [Telemetry.MetricsAddr] tells which. By
// default nothing is served.
func WithListen(addr string) Option {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return invalid("WithListen(%q): %v", addr, err)
	}
	if port == "" {
		return invalid("WithListen(%q): missing port", addr)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return optionFunc(func(c *config) { c.listen = addr })
}

// WithOTLP chooses how metrics and traces are exported over OTLP:
//
//   - "auto", the default: metrics are exported iff OTEL_EXPORTER_OTLP_ENDPOINT
//     or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set (and OTEL_METRICS_EXPORTER
//     is not "none"), traces iff OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_TRACES_EXPORTER is
//     not "none"), with the protocol of OTEL_EXPORTER_OTLP_METRICS_PROTOCOL or
//     OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL,
//     else "http/protobuf" (the OpenTelemetry specification's default).
//   - "off": no OTLP export, whatever the environment says.
//   - "grpc" or "http/protobuf": both signals are exported with that protocol,
//     to the endpoint of the environment (or [WithOTLPEndpoint]), else to the
//     exporter's default, localhost:4317 or localhost:4318.
func WithOTLP(protocol string) Option {
	switch protocol {
	case otlpAuto, otlpOff, protoGRPC, protoHTTP:
		return optionFunc(func(c *config) { c.otlp = protocol })
	}
	return invalid("WithOTLP(%q): want one of auto, off, grpc, http/protobuf", protocol)
}

// WithOTLPEndpoint sets the OTLP endpoint of both signals, overriding the
// OTEL_EXPORTER_OTLP_*ENDPOINT variables, and turns OTLP on unless
// WithOTLP("off") is given. It is "host:port" or "http://host:port" (plain
// text) or "https://host:port" (TLS). Over http/protobuf the paths
// /v1/metrics and /v1/traces are appended to the URL's path.
func WithOTLPEndpoint(endpoint string) Option {
	if _, err := parseEndpoint(endpoint); err != nil {
		return invalid("WithOTLPEndpoint(%q): %v", endpoint, err)
	}
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// DefaultMetricInterval is the interval of OTLP metric exports when neither
// [WithMetricInterval] nor OTEL_METRIC_EXPORT_INTERVAL sets one; shorter than
// the SDK's 60s, so that a dashboard fed over OTLP moves with a 15s scrape.
const DefaultMetricInterval = 10 * time.Second

// WithMetricInterval sets the interval of OTLP metric exports; it must be
// positive. The default is OTEL_METRIC_EXPORT_INTERVAL (milliseconds), else
// [DefaultMetricInterval]. Prometheus scrapes are not affected: they collect
// when asked.
func WithMetricInterval(d time.Duration) Option {
	if d <= 0 {
		return invalid("WithMetricInterval(%v): the interval must be positive", d)
	}
	return optionFunc(func(c *config) { c.interval = d })
}

// metricInterval is the OTLP export interval: the option's, else the
// environment's, else DefaultMetricInterval.
func (c *config) metricInterval() (time.Duration, error) {
	if c.interval > 0 {
		return c.interval, nil
	}
	v := strings.TrimSpace(os.Getenv(envMetricInterval))
	if v == "" {
		return DefaultMetricInterval, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0, fmt.Errorf("exporters: %s=%q: want a positive number of milliseconds", envMetricInterval, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// DefaultCardinalityLimit is the most series one instrument may have per
// collection when neither [WithCardinalityLimit] nor
// OTEL_GO_X_CARDINALITY_LIMIT sets a limit. A map has at most 22
// mapx.operations series (see "Cardinality" in package instrumented), so it
// holds about 2,200 maps that each use every operation, where the SDK's own
// 2,000 held about 90.
const DefaultCardinalityLimit = 50_000

// WithCardinalityLimit sets the SDK's cardinality limit: the most series
// (attribute sets) one instrument may have per collection; measurements
// beyond it are folded into one series with otel.metric.overflow=true (no
// mapx.name). It must be positive. The default is
// OTEL_GO_X_CARDINALITY_LIMIT, else [DefaultCardinalityLimit].
func WithCardinalityLimit(n int) Option {
	if n <= 0 {
		return invalid("WithCardinalityLimit(%d): the limit must be positive", n)
	}
	return optionFunc(func(c *config) { c.cardinality = n })
}

// WithRuntimeMetrics turns the Go runtime metrics (memory, goroutines,
// scheduling latency, GC goal) on or off; they are on by default.
func WithRuntimeMetrics(on bool) Option {
	return optionFunc(func(c *config) { c.runtime = on })
}

// WithPyroscope sends continuous profiles to the Pyroscope server at
// serverAddress, an http:// or https:// URL; "" turns profiling off. The
// default is $PYROSCOPE_SERVER_ADDRESS.
func WithPyroscope(serverAddress string) Option {
	if err := checkPyroscope(serverAddress); err != nil {
		return invalid("WithPyroscope(%q): %v", serverAddress, err)
	}
	return optionFunc(func(c *config) { c.pyroscope, c.pyroscopeSet = serverAddress, true })
}

// WithGlobal installs the providers as OpenTelemetry's globals
// (otel.SetMeterProvider, otel.SetTracerProvider) and sets the global
// propagator to W3C trace context and baggage, which Setup does by default,
// as an application's telemetry setup does: a map wrapped without
// instrumented.WithMeterProvider then exports through Setup's pipeline.
// Shutdown does not restore the previous globals.
func WithGlobal() Option {
	return optionFunc(func(c *config) { c.global = true })
}

// WithoutGlobal leaves OpenTelemetry's globals alone: for a library, or for
// a process with several pipelines, whose maps are then given
// [Telemetry.MeterProvider] with instrumented.WithMeterProvider.
func WithoutGlobal() Option {
	return optionFunc(func(c *config) { c.global = false })
}

// WithResourceAttributes adds attributes to the resource of every metric and
// span; they win over OTEL_RESOURCE_ATTRIBUTES. service.name is set with
// [WithServiceName] instead.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	for _, a := range attrs {
		if !a.Valid() {
			return invalid("WithResourceAttributes: invalid attribute %q", a.Key)
		}
		if a.Key == keyServiceName {
			return invalid("WithResourceAttributes: %s: use WithServiceName", a.Key)
		}
	}
	attrs = append([]attribute.KeyValue(nil), attrs...)
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, attrs...) })
}

// endpoint is a parsed WithOTLPEndpoint value.
type endpoint struct {
	host     string // host:port
	path     string // base path of http/protobuf, without a trailing slash
	insecure bool
}

func parseEndpoint(s string) (endpoint, error) {
	if !strings.Contains(s, "://") {
		if _, port, err := net.SplitHostPort(s); err != nil {
			return endpoint{}, err
		} else if port == "" {
			return endpoint{}, errors.New("missing port")
		}
		return endpoint{host: s, insecure: true}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return endpoint{}, errors.New("missing host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return endpoint{}, errors.New("want no user, query or fragment")
	}
	return endpoint{host: u.Host, path: strings.TrimSuffix(u.Path, "/"), insecure: u.Scheme == "http"}, nil
}

func checkPyroscope(addr string) error {
	if addr == "" {
		return nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: want an http or https URL", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("missing host")
	}
	return nil
}
