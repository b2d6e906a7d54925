package exporters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
)

// workload runs known operations on m and returns the mapx_operations_total
// series they must produce, by labels.
func workload(t *testing.T, m *instrumented.Map[string, int], name string) map[string]float64 {
	t.Helper()
	want := map[string]float64{}
	op := func(operation, result string) {
		k := "mapx_name=" + name + ",mapx_operation=" + operation
		if result != "" {
			k += ",mapx_result=" + result
		}
		want[k]++
	}
	hitOrMiss := func(operation string, hit bool) {
		if hit {
			op(operation, "hit")
		} else {
			op(operation, "miss")
		}
	}
	for _, k := range []string{"a", "b"} {
		m.Store(k, 1)
		op("store", "")
	}
	for _, k := range []string{"a", "a", "z", "b", "a", "y", "b", "x"} {
		_, ok := m.Load(k)
		hitOrMiss("load", ok)
	}
	for _, k := range []string{"a", "c"} {
		_, loaded := m.LoadOrStore(k, 2)
		hitOrMiss("load_or_store", loaded)
	}
	// The map holds 3 entries, its cap: a new key is refused.
	for _, k := range []string{"d", "a"} {
		err := m.TryStore(k, 3)
		switch {
		case errors.Is(err, mapx.ErrBackpressure):
			op("try_store", "rejected")
		case err == nil:
			op("try_store", "ok")
		default:
			t.Fatalf("TryStore(%q): %v", k, err)
		}
	}
	_, loaded := m.Swap("b", 4)
	hitOrMiss("swap", loaded)
	for range 2 {
		_, loaded := m.LoadAndDelete("c")
		hitOrMiss("load_and_delete", loaded)
	}
	m.Delete("a")
	op("delete", "")
	for _, old := range []int{4, 4} {
		if instrumented.CompareAndSwap(m, "b", old, 5) {
			op("compare_and_swap", "ok")
		} else {
			op("compare_and_swap", "failed")
		}
	}
	m.Range(func(string, int) bool { return true })
	op("range", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.RangeContext(ctx, func(string, int) bool { return true }); err == nil {
		t.Fatal("RangeContext with a cancelled context returned nil")
	}
	op("range", "")
	m.Snapshot().Close()
	op("snapshot", "")
	return want
}

func TestPrometheus(t *testing.T) {
	tel := setup(t,
		exporters.WithListen("127.0.0.1:0"),
		exporters.WithOTLP("off"),
		exporters.WithServiceName("prom-test-service"),
		exporters.WithResourceAttributes(attribute.String("deployment.environment", "test")))
	const name = "prom-test"
	m := instrumented.Wrap(mapx.New[string, int](mapx.WithMaxEntries(3)),
		instrumented.WithName(name),
		instrumented.WithMeterProvider(tel.MeterProvider()),
		instrumented.WithTracerProvider(tel.TracerProvider()),
		instrumented.WithDurationSampling(1))
	defer m.Close()
	want := workload(t, m, name)
	open := m.Snapshot() // mapx_snapshots_active is 1 while it is open
	defer open.Close()
	want["mapx_name="+name+",mapx_operation=snapshot"]++
	stats := m.Stats()

	if !strings.HasPrefix(tel.MetricsAddr(), "127.0.0.1:") || strings.HasSuffix(tel.MetricsAddr(), ":0") {
		t.Fatalf("MetricsAddr() = %q, want 127.0.0.1 and the port chosen", tel.MetricsAddr())
	}
	body := get(t, "http://"+tel.MetricsAddr()+"/metrics")
	mfs := families(t, body)

	t.Run("operations", func(t *testing.T) {
		got := series(mfs, "mapx_operations_total")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("mapx_operations_total:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("map series", func(t *testing.T) {
		nameLabel := "mapx_name=" + name
		for _, c := range []struct {
			family string
			labels string
			want   float64
		}{
			{"mapx_entries", nameLabel, float64(m.Len())},
			{"mapx_dirty_entries", nameLabel, float64(stats.DirtyEntries)},
			{"mapx_read_misses_total", nameLabel, float64(stats.ReadMisses)},
			{"mapx_dirty_promotions_total", nameLabel, float64(stats.Promotions)},
			{"mapx_iterator_cancellations_total", nameLabel, 1},
			{"mapx_backpressure_rejections_total", nameLabel + ",mapx_reason=capacity", 1},
			{"mapx_backpressure_rejections_total", nameLabel + ",mapx_reason=rate", 0},
			{"mapx_snapshots_active", nameLabel, 1},
			{"mapx_snapshot_duration_seconds", nameLabel, 2},
			{"mapx_iteration_duration_seconds", nameLabel + ",mapx_outcome=complete", 1},
			{"mapx_iteration_duration_seconds", nameLabel + ",mapx_outcome=cancelled", 1},
		} {
			got, ok := series(mfs, c.family)[c.labels]
			if !ok || got != c.want {
				t.Errorf("%s{%s} = %v (present: %v), want %v; series: %v", c.family, c.labels, got, ok, c.want, series(mfs, c.family))
			}
		}
		// Sampling is approximate: some loads must have been timed.
		if got := series(mfs, "mapx_operation_duration_seconds")[nameLabel+",mapx_operation=load"]; got < 1 || got > 8 {
			t.Errorf("mapx_operation_duration_seconds{load} counts %v loads, want 1 to 8", got)
		}
		if m.Len() != 1 {
			t.Errorf("Len() = %d, want 1", m.Len())
		}
	})

	t.Run("names and types", func(t *testing.T) {
		types := map[string]dto.MetricType{
			"mapx_operations_total":              dto.MetricType_COUNTER,
			"mapx_entries":                       dto.MetricType_GAUGE,
			"mapx_dirty_entries":                 dto.MetricType_GAUGE,
			"mapx_read_misses_total":             dto.MetricType_COUNTER,
			"mapx_dirty_promotions_total":        dto.MetricType_COUNTER,
			"mapx_iterator_cancellations_total":  dto.MetricType_COUNTER,
			"mapx_backpressure_rejections_total": dto.MetricType_COUNTER,
			"mapx_snapshots_active":              dto.MetricType_GAUGE,
			"mapx_snapshot_duration_seconds":     dto.MetricType_HISTOGRAM,
			"mapx_iteration_duration_seconds":    dto.MetricType_HISTOGRAM,
			"mapx_operation_duration_seconds":    dto.MetricType_HISTOGRAM,
			// Go runtime metrics.
			"go_goroutines":                    dto.MetricType_GAUGE,
			"go_memory_used_bytes":             dto.MetricType_GAUGE,
			"go_memory_allocated_bytes_total":  dto.MetricType_COUNTER,
			"go_memory_allocations_total":      dto.MetricType_COUNTER,
			"go_memory_gc_goal_bytes":          dto.MetricType_GAUGE,
			"go_processor_limit":               dto.MetricType_GAUGE,
			"go_config_gogc_percent":           dto.MetricType_GAUGE,
			"go_schedule_duration_seconds":     dto.MetricType_HISTOGRAM,
			"target_info":                      dto.MetricType_GAUGE,
			"mapx_entry_limit":                 dto.MetricType_GAUGE,
			"mapx_snapshot_oldest_age_seconds": dto.MetricType_GAUGE,
		}
		for family, typ := range types {
			mf := mfs[family]
			if mf == nil {
				t.Errorf("%s is missing", family)
				continue
			}
			if mf.GetType() != typ {
				t.Errorf("%s is a %v, want a %v", family, mf.GetType(), typ)
			}
		}
		allowed := map[string]bool{"mapx_name": true, "mapx_operation": true, "mapx_result": true, "mapx_reason": true, "mapx_outcome": true}
		for family, mf := range mfs {
			if !strings.HasPrefix(family, "mapx_") {
				continue
			}
			if _, known := types[family]; !known {
				t.Errorf("unexpected family %s", family)
			}
			for _, s := range mf.GetMetric() {
				for _, l := range s.GetLabel() {
					if !allowed[l.GetName()] {
						t.Errorf("%s has label %s=%q", family, l.GetName(), l.GetValue())
					}
				}
			}
		}
	})

	t.Run("runtime values", func(t *testing.T) {
		for _, c := range []struct{ family, labels string }{
			{"go_goroutines", ""},
			{"go_memory_used_bytes", "go_memory_type=stack"},
			{"go_memory_used_bytes", "go_memory_type=other"},
			{"go_memory_allocated_bytes_total", ""},
			{"go_memory_allocations_total", ""},
			{"go_memory_gc_goal_bytes", ""},
			{"go_processor_limit", ""},
		} {
			if v := series(mfs, c.family)[c.labels]; v <= 0 {
				t.Errorf("%s{%s} = %v, want > 0", c.family, c.labels, v)
			}
		}
	})

	t.Run("resource", func(t *testing.T) {
		ti := series(mfs, "target_info")
		if len(ti) != 1 {
			t.Fatalf("target_info: %v, want one series", ti)
		}
		for labels := range ti {
			for _, l := range []string{"service_name=prom-test-service", "deployment_environment=test", "telemetry_sdk_language=go"} {
				if !strings.Contains(","+labels+",", ","+l+",") {
					t.Errorf("target_info{%s} lacks %s", labels, l)
				}
			}
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		cmd := exec.Command(promtool(t), "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, body)
		}
	})

	t.Run("handler serves the same", func(t *testing.T) {
		direct := families(t, scrapeHandler(t, tel.Handler()))
		if got := series(direct, "mapx_operations_total"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Handler(): mapx_operations_total %v, want %v", got, want)
		}
		// The registry holds the OpenTelemetry names; only Handler renames.
		gathered, err := tel.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, mf := range gathered {
			names = append(names, mf.GetName())
		}
		if !strings.Contains(strings.Join(names, " "), "mapx_operations_total") {
			t.Errorf("Registry().Gather() lacks mapx_operations_total: %v", names)
		}
	})
}

func TestRuntimeMetricsOff(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithRuntimeMetrics(false))
	m := instrumented.Wrap(mapx.New[string, int](), instrumented.WithName("no-runtime"),
		instrumented.WithMeterProvider(tel.MeterProvider()))
	defer m.Close()
	m.Store("k", 1)
	mfs := families(t, scrapeHandler(t, tel.Handler()))
	for name := range mfs {
		if strings.HasPrefix(name, "go_") {
			t.Errorf("WithRuntimeMetrics(false) serves %s", name)
		}
	}
	if got := series(mfs, "mapx_operations_total")["mapx_name=no-runtime,mapx_operation=store"]; got != 1 {
		t.Errorf("mapx_operations_total{store} = %v, want 1", got)
	}
	if tel.MetricsAddr() != "" {
		t.Errorf("MetricsAddr() = %q without WithListen, want \"\"", tel.MetricsAddr())
	}
}

func TestListenEmptyHostIsLoopback(t *testing.T) {
	tel := setup(t, exporters.WithOTLP("off"), exporters.WithListen(":0"))
	if !strings.HasPrefix(tel.MetricsAddr(), "127.0.0.1:") {
		t.Fatalf("WithListen(\":0\"): MetricsAddr() = %q, want 127.0.0.1:port", tel.MetricsAddr())
	}
	if body := get(t, "http://"+tel.MetricsAddr()+"/metrics"); !bytes.Contains(body, []byte("target_info")) {
		t.Fatalf("/metrics lacks target_info:\n%s", body)
	}
}

func TestServiceName(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       map[string]string
		opts      []exporters.Option
		want      string
		wantLabel string // another label target_info must have
	}{
		{name: "default", want: exporters.DefaultServiceName},
		{name: "OTEL_SERVICE_NAME", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"}, want: "from-env"},
		{name: "OTEL_RESOURCE_ATTRIBUTES", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=maps"}, want: "from-attrs", wantLabel: "team=maps"},
		{name: "OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES", env: map[string]string{"OTEL_SERVICE_NAME": "from-env", "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"}, want: "from-env"},
		{name: "option without the environment", opts: []exporters.Option{exporters.WithServiceName("from-option")}, want: "from-option"},
		{name: "OTEL_SERVICE_NAME wins over the option", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"}, opts: []exporters.Option{exporters.WithServiceName("from-option")}, want: "from-env"},
		{name: "OTEL_RESOURCE_ATTRIBUTES wins over the option", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"}, opts: []exporters.Option{exporters.WithServiceName("from-option")}, want: "from-attrs"},
		{name: "attributes win over the environment", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=env"}, opts: []exporters.Option{exporters.WithResourceAttributes(attribute.String("team", "option"))}, want: exporters.DefaultServiceName, wantLabel: "team=option"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			tel := setup(t, append([]exporters.Option{exporters.WithOTLP("off")}, c.opts...)...)
			ti := series(families(t, scrapeHandler(t, tel.Handler())), "target_info")
			for labels := range ti {
				l := "," + labels + ","
				if !strings.Contains(l, ",service_name="+c.want+",") || c.wantLabel != "" && !strings.Contains(l, ","+c.wantLabel+",") {
					t.Errorf("target_info{%s}: want service_name=%s and %s", labels, c.want, c.wantLabel)
				}
			}
			if len(ti) != 1 {
				t.Errorf("target_info: %v, want one series", ti)
			}
		})
	}
}
