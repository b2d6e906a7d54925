package exporters_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/exporters"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.uber.org/goleak"
)

func TestInvalidOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		opt  exporters.Option
		want string // the error must contain it
	}{
		{name: "empty service name", opt: exporters.WithServiceName(""), want: "WithServiceName"},
		{name: "listen without port", opt: exporters.WithListen("127.0.0.1"), want: "WithListen"},
		{name: "listen with empty port", opt: exporters.WithListen("127.0.0.1:"), want: "WithListen"},
		{name: "listen on nothing", opt: exporters.WithListen(""), want: "WithListen"},
		{name: "unknown protocol", opt: exporters.WithOTLP("udp"), want: "WithOTLP"},
		{name: "http/json", opt: exporters.WithOTLP("http/json"), want: "WithOTLP"},
		{name: "empty endpoint", opt: exporters.WithOTLPEndpoint(""), want: "WithOTLPEndpoint"},
		{name: "endpoint scheme", opt: exporters.WithOTLPEndpoint("ftp://127.0.0.1:4317"), want: "WithOTLPEndpoint"},
		{name: "endpoint without host", opt: exporters.WithOTLPEndpoint("http://"), want: "WithOTLPEndpoint"},
		{name: "endpoint without port", opt: exporters.WithOTLPEndpoint("127.0.0.1"), want: "WithOTLPEndpoint"},
		{name: "zero interval", opt: exporters.WithMetricInterval(0), want: "WithMetricInterval"},
		{name: "negative interval", opt: exporters.WithMetricInterval(-time.Second), want: "WithMetricInterval"},
		{name: "pyroscope without scheme", opt: exporters.WithPyroscope("127.0.0.1:4040"), want: "WithPyroscope"},
		{name: "pyroscope without host", opt: exporters.WithPyroscope("http://"), want: "WithPyroscope"},
		{name: "service.name attribute", opt: exporters.WithResourceAttributes(attribute.String("service.name", "x")), want: "WithResourceAttributes"},
		{name: "invalid attribute", opt: exporters.WithResourceAttributes(attribute.KeyValue{}), want: "WithResourceAttributes"},
		{name: "nil option", opt: nil, want: "nil"},
		{name: "zero cardinality limit", opt: exporters.WithCardinalityLimit(0), want: "WithCardinalityLimit"},
		{name: "interval variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + deadAddr, "OTEL_METRIC_EXPORT_INTERVAL": "10s"}, want: "OTEL_METRIC_EXPORT_INTERVAL"},
		{name: "protocol variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + deadAddr, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, want: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "traces protocol variable", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + deadAddr, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift"}, want: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{name: "pyroscope variable", env: map[string]string{"PYROSCOPE_SERVER_ADDRESS": "pyroscope:4040"}, want: "PYROSCOPE_SERVER_ADDRESS"},
		{name: "resource attributes variable", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign"}, want: "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			opts := []exporters.Option{exporters.WithServiceName("valid"), c.opt}
			if c.opt == nil && c.env != nil {
				opts = opts[:1]
			}
			tel, err := exporters.Setup(context.Background(), opts...)
			if err == nil {
				_ = tel.Shutdown(context.Background())
				t.Fatal("Setup succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Setup: %v, want an error naming %s", err, c.want)
			}
		})
	}
}

// A Setup that fails late leaves nothing running: here the listener's port
// is taken once the OTLP exporters, the providers and the runtime metrics
// are up.
func TestSetupFailureLeavesNothingRunning(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var tel *exporters.Telemetry
			var err error
			within(t, ctx, "Setup", func() {
				tel, err = exporters.Setup(ctx, exporters.WithOTLP(protocol), exporters.WithOTLPEndpoint(deadAddr),
					exporters.WithListen(taken.Addr().String()))
			})
			if err == nil {
				_ = tel.Shutdown(ctx)
				t.Fatal("Setup succeeded on a taken port")
			}
			if !strings.Contains(err.Error(), "WithListen") {
				t.Errorf("Setup: %v, want an error naming WithListen", err)
			}
			goleak.VerifyNone(t)
		})
	}
}

func TestSetupCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if tel, err := exporters.Setup(ctx, exporters.WithListen("127.0.0.1:0")); err == nil {
		_ = tel.Shutdown(context.Background())
		t.Fatal("Setup with a cancelled context succeeded")
	}
	goleak.VerifyNone(t)
}

func TestShutdownTwice(t *testing.T) {
	tel, err := exporters.Setup(context.Background(), exporters.WithListen("127.0.0.1:0"), exporters.WithOTLP("off"))
	if err != nil {
		t.Fatal(err)
	}
	addr := tel.MetricsAddr()
	get(t, "http://"+addr+"/metrics")
	for i := range 2 {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown %d: %v", i+1, err)
		}
	}
	if conn, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Shutdown", addr)
	}
	goleak.VerifyNone(t)
}

func TestGlobal(t *testing.T) {
	mp, tp := otel.GetMeterProvider(), otel.GetTracerProvider()
	setup(t, exporters.WithOTLP("off"), exporters.WithoutGlobal())
	if otel.GetMeterProvider() != mp || otel.GetTracerProvider() != tp {
		t.Fatal("Setup with WithoutGlobal changed the global providers")
	}
	tel := setup(t, exporters.WithOTLP("off"))
	if otel.GetMeterProvider() != tel.MeterProvider() || otel.GetTracerProvider() != tel.TracerProvider() {
		t.Error("Setup did not install the providers as the globals by default")
	}
	fields := otel.GetTextMapPropagator().Fields()
	want := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}).Fields()
	slices.Sort(fields)
	slices.Sort(want)
	if !slices.Equal(fields, want) {
		t.Errorf("global propagator fields %v, want %v", fields, want)
	}
}
