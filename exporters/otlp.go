package exporters

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables read here; the OTLP exporters and the SDK read the
// other OTEL_* variables themselves.
const (
	envServiceName    = "OTEL_SERVICE_NAME"
	envMetricInterval = "OTEL_METRIC_EXPORT_INTERVAL"
	envCardinality    = "OTEL_GO_X_CARDINALITY_LIMIT"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envPyroscope      = "PYROSCOPE_SERVER_ADDRESS"
	envPyroscopeUser  = "PYROSCOPE_BASIC_AUTH_USER"
	envPyroscopePass  = "PYROSCOPE_BASIC_AUTH_PASSWORD"
	envPyroscopeOrg   = "PYROSCOPE_TENANT_ID"
)

// signal is one OTLP signal: metrics or traces.
type signal struct {
	name     string // METRICS or TRACES, as in the variables' names
	path     string // default http/protobuf path
	on       bool
	protocol string
}

// plan decides whether and how a signal is exported over OTLP.
func (c *config) plan(name, path string) (signal, error) {
	s := signal{name: name, path: path}
	switch c.otlp {
	case otlpOff:
		return s, nil
	case protoGRPC, protoHTTP:
		s.on, s.protocol = true, c.otlp
		return s, nil
	}
	s.on = c.endpoint != "" ||
		(os.Getenv(envEndpoint) != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+name+"_ENDPOINT") != "") &&
			os.Getenv("OTEL_"+name+"_EXPORTER") != "none"
	if !s.on {
		return s, nil
	}
	s.protocol = protoHTTP
	for _, v := range []string{"OTEL_EXPORTER_OTLP_" + name + "_PROTOCOL", envProtocol} {
		p := os.Getenv(v)
		if p == "" {
			continue
		}
		if p != protoGRPC && p != protoHTTP {
			return s, fmt.Errorf("exporters: %s=%q: want grpc or http/protobuf", v, p)
		}
		s.protocol = p
		break
	}
	return s, nil
}

// metricExporter makes the OTLP metric exporter of s. It connects to nothing
// yet: gRPC dials lazily and HTTP per export.
// Its histograms are base-2 exponential.
func (c *config) metricExporter(ctx context.Context, s signal) (sdkmetric.Exporter, error) {
	if s.protocol == protoGRPC {
		opts := endpointOptions(c, "", otlpmetricgrpc.WithEndpoint, nil, otlpmetricgrpc.WithInsecure)
		return otlpmetricgrpc.New(ctx, append(opts, otlpmetricgrpc.WithAggregationSelector(exponentialHistograms))...)
	}
	opts := endpointOptions(c, s.path, otlpmetrichttp.WithEndpoint, otlpmetrichttp.WithURLPath, otlpmetrichttp.WithInsecure)
	return otlpmetrichttp.New(ctx, append(opts, otlpmetrichttp.WithAggregationSelector(exponentialHistograms))...)
}

// exponentialHistograms makes every histogram on the OTLP path a base-2
// exponential one: its buckets follow the data, wherever the durations fall,
// where the explicit buckets of /metrics had to be chosen in advance. 160
// buckets at the scale the SDK picks cover a ratio of 2^(160/2^scale)
// between the smallest and the largest sample.
func exponentialHistograms(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if k == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}
	return sdkmetric.DefaultAggregationSelector(k)
}

// spanExporter makes the OTLP span exporter of s.
func (c *config) spanExporter(ctx context.Context, s signal) (sdktrace.SpanExporter, error) {
	if s.protocol == protoGRPC {
		return otlptracegrpc.New(ctx, endpointOptions(c, "", otlptracegrpc.WithEndpoint, nil, otlptracegrpc.WithInsecure)...)
	}
	return otlptracehttp.New(ctx, endpointOptions(c, s.path, otlptracehttp.WithEndpoint, otlptracehttp.WithURLPath, otlptracehttp.WithInsecure)...)
}

// endpointOptions returns the options of one of the four OTLP exporters that
// point it at WithOTLPEndpoint's endpoint, or none without it (the exporter
// then reads the environment). withURLPath is nil for gRPC.
func endpointOptions[O any](c *config, path string, withEndpoint, withURLPath func(string) O, withInsecure func() O) []O {
	if c.endpoint == "" {
		return nil
	}
	ep, _ := parseEndpoint(c.endpoint) // checked by WithOTLPEndpoint
	opts := []O{withEndpoint(ep.host)}
	if withURLPath != nil {
		opts = append(opts, withURLPath(ep.path+path))
	}
	if ep.insecure {
		opts = append(opts, withInsecure())
	}
	return opts
}

// stoppableSpanExporter cancels the exports in flight once stop is called.
// The batch span processor exports its last spans from a goroutine of its own
// with a context of its own (OTEL_BSP_EXPORT_TIMEOUT, 30s by default); when
// Shutdown's context ends first, stop makes that goroutine end too, so that
// nothing outlives Shutdown for long.
type stoppableSpanExporter struct {
	sdktrace.SpanExporter
	ctx  context.Context
	stop context.CancelFunc
}

func newStoppableSpanExporter(e sdktrace.SpanExporter) *stoppableSpanExporter {
	ctx, stop := context.WithCancel(context.Background())
	return &stoppableSpanExporter{SpanExporter: e, ctx: ctx, stop: stop}
}

func (e *stoppableSpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.ctx, cancel)()
	return e.SpanExporter.ExportSpans(ctx, spans)
}
