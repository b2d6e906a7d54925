package exporters_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
)

func TestMetricIntervalDefault(t *testing.T) {
	if d, err := exporters.MetricInterval(); err != nil || d != exporters.DefaultMetricInterval || exporters.DefaultMetricInterval != 10*time.Second {
		t.Errorf("default interval %v, %v; want the documented 10s", d, err)
	}
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "250")
	if d, err := exporters.MetricInterval(); err != nil || d != 250*time.Millisecond {
		t.Errorf("OTEL_METRIC_EXPORT_INTERVAL=250: %v, %v; want 250ms", d, err)
	}
	if d, err := exporters.MetricInterval(exporters.WithMetricInterval(time.Minute)); err != nil || d != time.Minute {
		t.Errorf("WithMetricInterval(1m) and the variable: %v, %v; want the option's 1m", d, err)
	}
}

func TestMetricIntervalFromTheEnvironment(t *testing.T) {
	r := newReceiver(t, "grpc")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "20")
	tel := setup(t, exporters.WithOTLP("grpc"), exporters.WithOTLPEndpoint(r.addr))
	use(t, tel, "env-interval", 1)
	waitUntil(t, func() bool { return r.received("env-interval").metricRequests >= 2 }, func() string {
		return fmt.Sprintf("OTEL_METRIC_EXPORT_INTERVAL=20: %d exports in 20s", r.received("env-interval").metricRequests)
	})
}

func TestOTLPHistogramsAreExponential(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			r := newReceiver(t, protocol)
			tel, err := exporters.Setup(context.Background(), exporters.WithOTLP(protocol), exporters.WithOTLPEndpoint(r.addr))
			if err != nil {
				t.Fatal(err)
			}
			m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("exp"),
				instrumented.WithMeterProvider(tel.MeterProvider()), instrumented.WithDurationSampling(1))
			for i := range 100 {
				m.Store(i, i)
				m.Load(i)
			}
			m.Snapshot().Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			_ = m.Close()
			kinds := map[string]string{}
			for _, met := range r.receivedMetrics() {
				switch {
				case met.GetExponentialHistogram() != nil:
					var count uint64
					for _, dp := range met.GetExponentialHistogram().GetDataPoints() {
						count += dp.GetCount()
					}
					if count > 0 {
						kinds[met.GetName()] = "exponential"
					}
				case met.GetHistogram() != nil:
					kinds[met.GetName()] = "explicit"
				}
			}
			for _, name := range []string{"mapx.operation.duration", "mapx.snapshot.duration"} {
				if kinds[name] != "exponential" {
					t.Errorf("%s over OTLP: %q, want a base-2 exponential histogram with samples", name, kinds[name])
				}
			}
		})
	}
}

// TestOTLPDurationsFollowTheExporterTemporality: the durations come over
// OTLP with the temporality the exporter asks for.
func TestOTLPDurationsFollowTheExporterTemporality(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
	r := newReceiver(t, "grpc")
	tel, err := exporters.Setup(context.Background(), exporters.WithOTLP("grpc"), exporters.WithOTLPEndpoint(r.addr))
	if err != nil {
		t.Fatal(err)
	}
	m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("delta"),
		instrumented.WithMeterProvider(tel.MeterProvider()), instrumented.WithDurationSampling(1))
	m.Store(1, 1)
	m.Load(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	var got []string
	for _, met := range r.receivedMetrics() {
		if h := met.GetExponentialHistogram(); h != nil && met.GetName() == "mapx.operation.duration" {
			got = append(got, h.GetAggregationTemporality().String())
		}
	}
	if len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return !strings.Contains(s, "DELTA") }) {
		t.Fatalf("mapx.operation.duration over OTLP with a delta exporter: temporalities %v", got)
	}
}

// TestPrometheusNamesMatchTheTable: every row of instrumented.Metrics() is
// served under its Prometheus name, so a dashboard checked against the table
// is checked against /metrics.
func TestPrometheusNamesMatchTheTable(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithRuntimeMetrics(false))
	m := instrumented.Wrap(mapx.New[int, int](mapx.WithMaxEntries(10)), instrumented.WithName("names"),
		instrumented.WithMeterProvider(tel.MeterProvider()), instrumented.WithDurationSampling(1))
	defer m.Close()
	m.Store(1, 1)
	m.Load(1)
	m.Range(func(int, int) bool { return true })
	s := m.Snapshot()
	defer s.Close()
	mfs := families(t, scrapeHandler(t, tel.Handler()))
	for _, row := range instrumented.Metrics() {
		if len(series(mfs, row.Prometheus)) == 0 {
			t.Errorf("%s (%s) is not served as %s", row.Name, row.Kind, row.Prometheus)
		}
	}
}

// TestThousandMaps: 1,000 maps, each made, used and closed, fit under the
// default cardinality limit with nothing folded into the overflow series,
// and their series stop when they close.
func TestThousandMaps(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithRuntimeMetrics(false))
	const maps = 1000
	var ws []*instrumented.Map[int, int]
	for i := range maps {
		w := instrumented.Wrap(mapx.New[int, int](mapx.WithMaxEntries(100)), instrumented.WithName(fmt.Sprintf("map-%04d", i)),
			instrumented.WithMeterProvider(tel.MeterProvider()), instrumented.WithDurationSampling(1))
		ws = append(ws, w)
		// Eight operation series, six of them timed (the first operation
		// never is: the sampler flags the one after).
		w.Store(1, 1)
		w.Store(1, 1)
		w.Load(1)
		w.Load(2)
		w.LoadOrStore(3, 3)
		w.Swap(3, 4)
		w.Delete(3)
		_ = w.TryStore(5, 5)
		w.Range(func(int, int) bool { return true })
	}
	text := scrapeHandler(t, tel.Handler())
	if strings.Contains(string(text), "overflow") {
		t.Fatal("series folded into otel_metric_overflow")
	}
	mfs := families(t, text)
	for name, want := range map[string]int{
		"mapx_operations_total":              8 * maps,
		"mapx_entries":                       maps,
		"mapx_entry_limit":                   maps,
		"mapx_backpressure_rejections_total": 2 * maps,
		"mapx_operation_duration_seconds":    6 * maps,
	} {
		if got := len(series(mfs, name)); got != want {
			t.Errorf("%s: %d series, want %d", name, got, want)
		}
	}
	for l, v := range series(mfs, "mapx_operations_total") {
		if strings.Contains(l, "mapx_operation=load,") && strings.Contains(l, "mapx_result=hit") && v != 1 {
			t.Errorf("mapx_operations_total{%s} = %v, want 1", l, v)
		}
	}
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The first scrape after Close has the durations' final values.
	if got := len(series(families(t, scrapeHandler(t, tel.Handler())), "mapx_operation_duration_seconds")); got != 6*maps {
		t.Errorf("mapx_operation_duration_seconds: %d series in the last scrape, want %d", got, 6*maps)
	}
	mfs = families(t, scrapeHandler(t, tel.Handler()))
	for _, row := range instrumented.Metrics() {
		if n := len(series(mfs, row.Prometheus)); n != 0 {
			t.Errorf("%s: %d series after every map closed", row.Prometheus, n)
		}
	}
}

// TestClosedMapLeavesNoSeries: the scrape after a map's Close has its
// durations' final values, and the next one no series of it at all.
func TestClosedMapLeavesNoSeries(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithRuntimeMetrics(false), exporters.WithListen("127.0.0.1:0"))
	scrape := func() []byte { return get(t, "http://"+tel.MetricsAddr()+"/metrics") }
	m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("x"),
		instrumented.WithMeterProvider(tel.MeterProvider()), instrumented.WithDurationSampling(1))
	m.Store(1, 1)
	m.Load(1) // timed: the Store flagged it
	m.Range(func(int, int) bool { return true })
	m.Snapshot().Close()
	text := string(scrape())
	for _, want := range []string{
		`mapx_operation_duration_seconds_bucket{mapx_name="x",mapx_operation="load"`,
		`mapx_snapshot_duration_seconds_bucket{mapx_name="x"`,
		`mapx_iteration_duration_seconds_bucket{mapx_name="x"`,
		`mapx_entries{mapx_name="x"}`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("no %s in\n%s", want, text)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	text = string(scrape())
	if !strings.Contains(text, `mapx_operation_duration_seconds_count{mapx_name="x",mapx_operation="load"} 1`) ||
		strings.Contains(text, `mapx_entries{mapx_name="x"}`) {
		t.Fatalf("the scrape after Close: want the durations' final values and no other series of the map, have\n%s", text)
	}
	for line := range strings.Lines(string(scrape())) {
		if strings.Contains(line, `mapx_name="x"`) {
			t.Fatalf("a series of the closed map: %s", line)
		}
	}
}
