package exporters_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP receiver on 127.0.0.1, over gRPC or HTTP, that keeps
// what it is sent. It checks the wiring of Setup: protocols, endpoints, paths
// and the environment; the end-to-end test with a real collector lives
// elsewhere.
type receiver struct {
	collmetrics.UnimplementedMetricsServiceServer

	addr string

	mu      sync.Mutex
	metrics []*collmetrics.ExportMetricsServiceRequest
	traces  []*colltrace.ExportTraceServiceRequest
	paths   []string // HTTP request paths
}

// receivedMetrics returns the metrics of every request received so far.
func (r *receiver) receivedMetrics() []*metricspb.Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*metricspb.Metric
	for _, req := range r.metrics {
		for _, rm := range req.GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				out = append(out, sm.GetMetrics()...)
			}
		}
	}
	return out
}

func newReceiver(t *testing.T, protocol string) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: ln.Addr().String()}
	if protocol == "grpc" {
		srv := grpc.NewServer()
		collmetrics.RegisterMetricsServiceServer(srv, r)
		colltrace.RegisterTraceServiceServer(srv, traceService{receiver: r})
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		return r
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *receiver) Export(_ context.Context, req *collmetrics.ExportMetricsServiceRequest) (*collmetrics.ExportMetricsServiceResponse, error) {
	r.mu.Lock()
	r.metrics = append(r.metrics, req)
	r.mu.Unlock()
	return &collmetrics.ExportMetricsServiceResponse{}, nil
}

// traceService serves the trace service: its method is also named Export.
type traceService struct {
	colltrace.UnimplementedTraceServiceServer
	*receiver
}

func (s traceService) Export(_ context.Context, req *colltrace.ExportTraceServiceRequest) (*colltrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	s.traces = append(s.traces, req)
	s.mu.Unlock()
	return &colltrace.ExportTraceServiceResponse{}, nil
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp proto.Message
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	switch {
	case strings.HasSuffix(req.URL.Path, "/v1/metrics"):
		m := &collmetrics.ExportMetricsServiceRequest{}
		err = proto.Unmarshal(b, m)
		r.metrics = append(r.metrics, m)
		resp = &collmetrics.ExportMetricsServiceResponse{}
	case strings.HasSuffix(req.URL.Path, "/v1/traces"):
		m := &colltrace.ExportTraceServiceRequest{}
		err = proto.Unmarshal(b, m)
		r.traces = append(r.traces, m)
		resp = &colltrace.ExportTraceServiceResponse{}
	default:
		err = fmt.Errorf("unexpected path %s", req.URL.Path)
	}
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// received sums up what arrived: the number of metric and trace requests,
// the largest cumulative mapx.operations{mapx.name=name, load, hit}, the
// service.name of the resources and the span names.
type received struct {
	metricRequests, traceRequests int
	loadHits                      int64
	services                      map[string]bool
	spans                         map[string]bool
	paths                         []string
}

func (r *receiver) received(name string) received {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := received{
		metricRequests: len(r.metrics), traceRequests: len(r.traces),
		services: map[string]bool{}, spans: map[string]bool{}, paths: append([]string(nil), r.paths...),
	}
	service := func(attrs []*commonpb.KeyValue) {
		for _, a := range attrs {
			if a.GetKey() == "service.name" {
				got.services[a.GetValue().GetStringValue()] = true
			}
		}
	}
	for _, req := range r.metrics {
		for _, rm := range req.GetResourceMetrics() {
			service(rm.GetResource().GetAttributes())
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() != "mapx.operations" {
						continue
					}
					for _, dp := range m.GetSum().GetDataPoints() {
						if attrs(dp) == "mapx.name="+name+",mapx.operation=load,mapx.result=hit" {
							got.loadHits = max(got.loadHits, dp.GetAsInt())
						}
					}
				}
			}
		}
	}
	for _, req := range r.traces {
		for _, rs := range req.GetResourceSpans() {
			service(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					got.spans[s.GetName()] = true
				}
			}
		}
	}
	return got
}

func attrs(dp *metricspb.NumberDataPoint) string {
	var s []string
	for _, a := range dp.GetAttributes() {
		s = append(s, a.GetKey()+"="+a.GetValue().GetStringValue())
	}
	return strings.Join(s, ",")
}

// use wraps a map on tel's providers, loads its key n times and takes a
// snapshot under a span of its own (two spans).
func use(t *testing.T, tel *exporters.Telemetry, name string, n int) {
	t.Helper()
	m := instrumented.Wrap(mapx.New[string, int](), instrumented.WithName(name),
		instrumented.WithMeterProvider(tel.MeterProvider()),
		instrumented.WithTracerProvider(tel.TracerProvider()))
	t.Cleanup(func() { _ = m.Close() })
	m.Store("k", 1)
	for range n {
		if _, ok := m.Load("k"); !ok {
			t.Fatal("Load(k) missed")
		}
	}
	ctx, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "request")
	m.SnapshotContext(ctx).Close() // a child span
	span.End()
}

func TestOTLPDelivery(t *testing.T) {
	for _, c := range []struct {
		name        string
		protocol    string            // the receiver's
		env         map[string]string // ADDR is replaced by the receiver's address
		opts        func(addr string) []exporters.Option
		metrics     bool
		traces      bool
		pathsPrefix string // HTTP only
	}{
		{
			name: "grpc from the environment", protocol: "grpc",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ADDR", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			metrics: true, traces: true,
		},
		{
			name: "grpc from the options", protocol: "grpc",
			opts: func(addr string) []exporters.Option {
				return []exporters.Option{exporters.WithOTLP("grpc"), exporters.WithOTLPEndpoint(addr)}
			},
			metrics: true, traces: true,
		},
		{
			name: "http/protobuf from the options, with a base path", protocol: "http/protobuf",
			opts: func(addr string) []exporters.Option {
				return []exporters.Option{exporters.WithOTLP("http/protobuf"), exporters.WithOTLPEndpoint("http://" + addr + "/base/")}
			},
			metrics: true, traces: true, pathsPrefix: "/base/v1/",
		},
		{
			name: "endpoint option alone: http/protobuf, the default protocol", protocol: "http/protobuf",
			opts: func(addr string) []exporters.Option {
				return []exporters.Option{exporters.WithOTLPEndpoint(addr)}
			},
			metrics: true, traces: true, pathsPrefix: "/v1/",
		},
		{
			name: "endpoint option wins over the environment", protocol: "http/protobuf",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + deadAddr},
			opts: func(addr string) []exporters.Option {
				return []exporters.Option{exporters.WithOTLPEndpoint("http://" + addr)}
			},
			metrics: true, traces: true, pathsPrefix: "/v1/",
		},
		{
			name: "traces only from the environment", protocol: "http/protobuf",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://ADDR/v1/traces"},
			traces: true, pathsPrefix: "/v1/",
		},
		{
			name: "metrics only: OTEL_TRACES_EXPORTER=none", protocol: "grpc",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ADDR", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc", "OTEL_TRACES_EXPORTER": "none"},
			metrics: true,
		},
		{
			name: "off wins over the environment", protocol: "http/protobuf",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ADDR"},
			opts: func(string) []exporters.Option {
				return []exporters.Option{exporters.WithOTLP("off")}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t, c.protocol)
			for k, v := range c.env {
				t.Setenv(k, strings.ReplaceAll(v, "ADDR", r.addr))
			}
			var opts []exporters.Option
			if c.opts != nil {
				opts = c.opts(r.addr)
			}
			opts = append(opts, exporters.WithServiceName("otlp-test"))
			tel, err := exporters.Setup(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			const n = 37
			use(t, tel, "delivered", n)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil { // flushes
				t.Fatalf("Shutdown: %v", err)
			}
			got := r.received("delivered")
			if (got.metricRequests > 0) != c.metrics || (got.traceRequests > 0) != c.traces {
				t.Fatalf("got %d metric and %d trace requests, want metrics %v, traces %v", got.metricRequests, got.traceRequests, c.metrics, c.traces)
			}
			if c.metrics && got.loadHits != n {
				t.Errorf("mapx.operations{load, hit} = %d, want %d", got.loadHits, n)
			}
			if c.traces && !got.spans["mapx.snapshot"] {
				t.Errorf("spans %v lack mapx.snapshot", got.spans)
			}
			if (c.metrics || c.traces) && (len(got.services) != 1 || !got.services["otlp-test"]) {
				t.Errorf("service.name %v, want otlp-test", got.services)
			}
			for _, p := range got.paths {
				if !strings.HasPrefix(p, c.pathsPrefix) {
					t.Errorf("HTTP path %s, want the prefix %s", p, c.pathsPrefix)
				}
			}
			if _, ok := tel.TracerProvider().(interface{ ForceFlush(context.Context) error }); ok != c.traces {
				t.Errorf("TracerProvider() is an SDK provider: %v, want %v", ok, c.traces)
			}
		})
	}
}

// deadAddr is a 127.0.0.1 address where, in these tests, nothing listens.
var deadAddr = func() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}()

// waitUntil polls done every 10 ms and fails the test with failure() if it
// is not true within 20 s, a bound only a broken run reaches.
func waitUntil(t *testing.T, done func() bool, failure func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal(failure())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exportFast makes exports time out fast, so that their errors show up.
func exportFast(t *testing.T) {
	t.Setenv("OTEL_METRIC_EXPORT_TIMEOUT", "200")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "200")
}

func TestMetricInterval(t *testing.T) {
	r := newReceiver(t, "grpc")
	tel := setup(t, exporters.WithOTLP("grpc"), exporters.WithOTLPEndpoint(r.addr),
		exporters.WithMetricInterval(20*time.Millisecond))
	use(t, tel, "interval", 1)
	// Two exports before Shutdown come from the interval, not the final
	// flush.
	waitUntil(t, func() bool { return r.received("interval").metricRequests >= 2 }, func() string {
		return fmt.Sprintf("WithMetricInterval(20ms): %d exports in 20s", r.received("interval").metricRequests)
	})
}

// within runs f and fails the test unless it returns before ctx's deadline
// plus a grace period.
func within(t *testing.T, ctx context.Context, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	deadline, _ := ctx.Deadline()
	select {
	case <-done:
	case <-time.After(time.Until(deadline) + 3*time.Second):
		t.Fatalf("%s did not return within its context", what)
	}
}

func TestCollectorDown(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			exportFast(t)
			beforeMetrics, beforeTraces := otelErrors.count("failed to upload metrics"), otelErrors.count("traces export")
			dead := closedPort(t)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var tel *exporters.Telemetry
			var err error
			within(t, ctx, "Setup", func() {
				tel, err = exporters.Setup(ctx,
					exporters.WithOTLP(protocol), exporters.WithOTLPEndpoint(dead),
					exporters.WithMetricInterval(20*time.Millisecond),
					exporters.WithListen("127.0.0.1:0"))
			})
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}

			// Map operations go on while every export fails.
			m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("down"),
				instrumented.WithMeterProvider(tel.MeterProvider()),
				instrumented.WithTracerProvider(tel.TracerProvider()))
			const workers, ops = 4, 5000
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range ops {
						m.Store(w*ops+i, i)
						if i%500 == 0 {
							ctx, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "request")
							m.SnapshotContext(ctx).Close() // a child span
							span.End()
						}
					}
				})
			}
			wg.Wait()
			mfs := families(t, get(t, "http://"+tel.MetricsAddr()+"/metrics"))
			if got := series(mfs, "mapx_operations_total")["mapx_name=down,mapx_operation=store"]; got != workers*ops {
				t.Errorf("mapx_operations_total{store} = %v, want %d", got, workers*ops)
			}
			if got := series(mfs, "mapx_entries")["mapx_name=down"]; got != workers*ops {
				t.Errorf("mapx_entries = %v, want %d", got, workers*ops)
			}

			// Exports of both signals were tried and failed: the errors went to
			// otel.Handle.
			waitUntil(t, func() bool {
				return otelErrors.count("failed to upload metrics") != beforeMetrics && otelErrors.count("traces export") != beforeTraces
			}, func() string {
				return fmt.Sprintf("no metric or no trace export error reported to otel.Handle in 20s: %v", otelErrors.all())
			})
			_ = m.Close()

			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			var first error
			within(t, sctx, "Shutdown", func() { first = tel.Shutdown(sctx) })
			t.Logf("Shutdown: %v", first) // the last export fails
			within(t, sctx, "second Shutdown", func() {
				if again := tel.Shutdown(sctx); fmt.Sprint(again) != fmt.Sprint(first) {
					t.Errorf("second Shutdown: %v, want the first's %v", again, first)
				}
			})
			goleak.VerifyNone(t)
		})
	}
}
