package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter compresses with gzip
)

// arrivalTimeout bounds the wait for data to go through the collector.
const arrivalTimeout = time.Minute

// What the test does to its map, and so what the collector must show.
const (
	stores    = 37 // distinct keys
	hits      = 11 // loads of stored keys
	misses    = 5  // loads of keys never stored
	deletes   = 7  // of stored keys
	entries   = stores - deletes
	snapshots = 1
)

// TestOTLPToPrometheus sends a mapx map's metrics and spans from this process
// through a real collector running the deploy configuration: over OTLP/gRPC
// and over OTLP/HTTP into its otlp receiver, out of its prometheus exporter
// (scraped here) and of its otlp_grpc/jaeger exporter (to an OTLP trace
// server in this test standing in for Jaeger).
func TestOTLPToPrometheus(t *testing.T) {
	// The OTLP exporters and the resource read these; the test sets them all
	// through options, so the environment must not add to them.
	for _, v := range []string{
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	} {
		t.Setenv(v, "")
	}
	jaeger := startTraceSink(t)
	col := startCollector(t, jaeger.addr)
	for _, tc := range []struct{ protocol, endpoint string }{
		{"grpc", col.grpc},
		{"http/protobuf", "http://" + col.http},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			// The service name becomes the job label: it tells this
			// subtest's series from the other's on the shared collector.
			service := "mapx-e2e-" + strings.TrimSuffix(tc.protocol, "/protobuf")
			app := runApp(t, tc.protocol, tc.endpoint, service)
			got := waitSeries(t, "http://"+col.prometheus+"/metrics", service, slices.Collect(maps.Keys(app.types)))

			// The values the map's operations make, exactly.
			for _, w := range []struct {
				series string
				value  float64
			}{
				{`mapx_operations_total{mapx_name="e2e",mapx_operation="store"}`, stores},
				{`mapx_operations_total{mapx_name="e2e",mapx_operation="load",mapx_result="hit"}`, hits},
				{`mapx_operations_total{mapx_name="e2e",mapx_operation="load",mapx_result="miss"}`, misses},
				{`mapx_operations_total{mapx_name="e2e",mapx_operation="delete"}`, deletes},
				{`mapx_operations_total{mapx_name="e2e",mapx_operation="snapshot"}`, snapshots},
				{`mapx_entries{mapx_name="e2e"}`, entries},
				{`mapx_snapshots_active{mapx_name="e2e"}`, 0},
				{`mapx_snapshot_duration_seconds_count{mapx_name="e2e"}`, snapshots},
				{`mapx_snapshot_duration_seconds_bucket{le="+Inf",mapx_name="e2e"}`, snapshots},
			} {
				if v, ok := got.values[w.series]; !ok {
					t.Errorf("collector: no series %s", w.series)
				} else if v != w.value {
					t.Errorf("collector: %s = %v, want %v", w.series, v, w.value)
				}
			}
			for name, typ := range map[string]dto.MetricType{
				"mapx_operations_total":          dto.MetricType_COUNTER,
				"mapx_entries":                   dto.MetricType_GAUGE,
				"mapx_snapshot_duration_seconds": dto.MetricType_HISTOGRAM,
			} {
				if got.types[name] != typ {
					t.Errorf("collector: %s is a %v, want a %v", name, got.types[name], typ)
				}
			}

			// The collector shows the same series, names, types and values as
			// the app's own /metrics (job and instance aside, which a
			// Prometheus scrape of the app adds itself).
			for name, typ := range app.types {
				if got.types[name] != typ {
					t.Errorf("%s: a %v on the app's /metrics, a %v on the collector's", name, typ, got.types[name])
				}
			}
			for _, s := range slices.Sorted(maps.Keys(app.values)) {
				if finiteBucket(s) {
					continue // OTLP carries exponential histograms: see finiteBucket
				}
				if v, ok := got.values[s]; !ok {
					t.Errorf("%s: on the app's /metrics, not on the collector's", s)
				} else if v != app.values[s] {
					t.Errorf("%s: %v on the app's /metrics, %v on the collector's", s, app.values[s], v)
				}
			}
			for _, s := range slices.Sorted(maps.Keys(got.values)) {
				if finiteBucket(s) {
					continue
				}
				if _, ok := app.values[s]; !ok {
					t.Errorf("%s: on the collector's /metrics, not on the app's", s)
				}
			}

			// The snapshot's span went on to "Jaeger".
			if !jaeger.wait(service, "mapx.snapshot", "e2e") {
				t.Errorf("no span mapx.snapshot of map e2e from %s reached the otlp_grpc/jaeger exporter's endpoint in %v", service, arrivalTimeout)
			}
		})
	}
}

// runApp is the application side: a wrapped map exporting over OTLP with
// protocol to endpoint, through the exporters package. It returns the mapx
// series of the app's own /metrics, read just before the final export, which
// Shutdown makes.
func runApp(t *testing.T, protocol, endpoint, service string) series {
	t.Helper()
	ctx := t.Context()
	tel, err := exporters.Setup(ctx,
		exporters.WithOTLP(protocol),
		exporters.WithOTLPEndpoint(endpoint),
		// One export only, the one Shutdown flushes: the collector sees
		// exactly what /metrics showed.
		exporters.WithMetricInterval(time.Hour),
		exporters.WithServiceName(service),
		exporters.WithRuntimeMetrics(false),
		exporters.WithPyroscope(""),
	)
	if err != nil {
		t.Fatal(err)
	}
	shutdown := sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), arrivalTimeout)
		defer cancel()
		return tel.Shutdown(ctx)
	})
	t.Cleanup(func() { _ = shutdown() })

	m := instrumented.Wrap(mapx.New[int, int](),
		instrumented.WithName("e2e"),
		instrumented.WithMeterProvider(tel.MeterProvider()),
		instrumented.WithTracerProvider(tel.TracerProvider()))
	defer m.Close() // after Shutdown: closing unregisters the gauges' callback
	for k := range stores {
		m.Store(k, k*k)
	}
	for k := range hits {
		if v, ok := m.Load(k); !ok || v != k*k {
			t.Fatalf("Load(%d) = %d, %v; want %d, true", k, v, ok, k*k)
		}
	}
	for k := range misses {
		if _, ok := m.Load(stores + k); ok {
			t.Fatalf("Load(%d) found a key never stored", stores+k)
		}
	}
	for k := range deletes {
		m.Delete(stores - 1 - k)
	}
	// The snapshot is taken within a request's span, as an application's
	// would be: its mapx.snapshot span is that span's child (a context-free
	// Snapshot makes no span of its own).
	reqCtx, req := tel.TracerProvider().Tracer("e2e").Start(ctx, "request")
	m.SnapshotContext(reqCtx).Close()
	req.End()

	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	app, err := parseSeries(rec.Body.String(), func(map[string]string) bool { return true })
	if err != nil {
		t.Fatalf("the app's /metrics: %v", err)
	}
	if len(app.values) == 0 {
		t.Fatalf("the app's /metrics has no mapx series:\n%s", rec.Body.String())
	}
	if err := shutdown(); err != nil {
		t.Fatalf("Shutdown (the final OTLP export): %v", err)
	}
	return app
}

// waitSeries scrapes url until every family of names has a series of job,
// and returns the mapx series of job.
func waitSeries(t *testing.T, url, job string, names []string) series {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	ofJob := func(l map[string]string) bool { return l["job"] == job }
	deadline := time.Now().Add(arrivalTimeout)
	var last string
	for {
		body, err := get(client, url)
		if err != nil {
			last = err.Error()
		} else if s, err := parseSeries(body, ofJob); err != nil {
			t.Fatalf("the collector's /metrics: %v\n%s", err, body)
		} else if missing := s.missing(names); len(missing) == 0 {
			return s
		} else {
			last = fmt.Sprintf("no series of job %q in %v:\n%s", job, missing, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", arrivalTimeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// series are the samples of a Prometheus exposition's mapx_* families.
type series struct {
	types  map[string]dto.MetricType // by family name
	values map[string]float64        // by sample: name{label="value",...}
}

func (s series) missing(names []string) []string {
	var m []string
	for _, n := range names {
		if _, ok := s.types[n]; !ok {
			m = append(m, n)
		}
	}
	return m
}

// parseSeries parses a text exposition with Prometheus' classic name rules
// and keeps the samples of the mapx_* families whose labels pass keep. A
// sample is named as in PromQL, with its labels sorted and job and instance
// left out; a histogram gives its _bucket, _sum and _count samples.
func parseSeries(text string, keep func(labels map[string]string) bool) (series, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return series{}, err
	}
	s := series{types: map[string]dto.MetricType{}, values: map[string]float64{}}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "mapx_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if !keep(labels) {
				continue
			}
			delete(labels, "job")
			delete(labels, "instance")
			s.types[name] = mf.GetType()
			add := func(suffix string, v float64, extra ...string) {
				pairs := extra
				for k, v := range labels {
					pairs = append(pairs, fmt.Sprintf("%s=%q", k, v))
				}
				slices.Sort(pairs)
				s.values[name+suffix+"{"+strings.Join(pairs, ",")+"}"] = v
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add("", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add("", m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				add("_count", float64(h.GetSampleCount()))
				add("_sum", h.GetSampleSum())
				for _, b := range h.GetBucket() {
					add("_bucket", float64(b.GetCumulativeCount()), fmt.Sprintf("le=%q", model.FloatString(b.GetUpperBound())))
				}
			default:
				add("", m.GetUntyped().GetValue())
			}
		}
	}
	return s, nil
}

// traceSink is an OTLP/gRPC trace server standing in for Jaeger: it records
// the spans the collector's otlp_grpc/jaeger exporter sends.
type traceSink struct {
	coltracepb.UnimplementedTraceServiceServer
	addr string

	mu       sync.Mutex
	received chan struct{} // closed and replaced on each export
	spans    []sinkSpan
}

type sinkSpan struct{ service, name, mapName string }

func startTraceSink(t *testing.T) *traceSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &traceSink{addr: l.Addr().String(), received: make(chan struct{})}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, s)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return s
}

func (s *traceSink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				span := sinkSpan{service: service, name: sp.GetName()}
				for _, a := range sp.GetAttributes() {
					if a.GetKey() == "mapx.name" {
						span.mapName = a.GetValue().GetStringValue()
					}
				}
				s.spans = append(s.spans, span)
			}
		}
	}
	close(s.received)
	s.received = make(chan struct{})
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// wait reports whether a span name of map mapName from service has arrived,
// waiting up to arrivalTimeout for it.
func (s *traceSink) wait(service, name, mapName string) bool {
	timeout := time.After(arrivalTimeout)
	for {
		s.mu.Lock()
		found := slices.Contains(s.spans, sinkSpan{service, name, mapName})
		received := s.received
		s.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-received:
		case <-timeout:
			return false
		}
	}
}

// finiteBucket reports whether s is a histogram bucket series other than
// le="+Inf". The app's /metrics has the explicit buckets chosen for
// Prometheus, while the OTLP path carries base-2 exponential histograms,
// whose buckets the collector's Prometheus exporter does not write as these
// classic buckets: only their count, sum and +Inf bucket compare.
func finiteBucket(s string) bool {
	return strings.Contains(s, "_bucket{") && !strings.Contains(s, `le="+Inf"`)
}
