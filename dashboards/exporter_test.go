package dashboards

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// exportedMapName is the mapx_name of the map exercised for the exposition.
const exportedMapName = "dashtest"

// exported returns what a Prometheus scrape of a program sees that wraps a
// map with package instrumented and sets up package exporters (the
// OpenTelemetry Prometheus exporter and the Go runtime metrics): the real
// names and labels the dashboards and rules must match. The map is used so
// that every instrument has a series: loads that hit and miss, a refused
// TryStore, a snapshot, a complete and a cancelled iteration.
var exported = sync.OnceValues(func() ([]*dto.MetricFamily, error) {
	// The runtime exports go_memory_limit_bytes only under a memory limit.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	tel, err := exporters.Setup(context.Background(), exporters.WithOTLP("off"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	m := instrumented.Wrap(mapx.New[int, int](mapx.WithMaxEntries(2)),
		instrumented.WithName(exportedMapName),
		instrumented.WithMeterProvider(tel.MeterProvider()),
		instrumented.WithDurationSampling(1))
	defer func() { _ = m.Close() }()
	m.Store(1, 1)
	m.Load(1)
	m.Load(2)
	if err := m.TryStore(2, 2); err != nil {
		return nil, err
	}
	if err := m.TryStore(3, 3); !errors.Is(err, mapx.ErrBackpressure) {
		return nil, fmt.Errorf("TryStore beyond WithMaxEntries: %v, want ErrBackpressure", err)
	}
	s := m.Snapshot()
	defer s.Close()
	m.Range(func(int, int) bool { return true })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.RangeContext(ctx, func(int, int) bool { return true }); err == nil {
		return nil, errors.New("RangeContext with a cancelled context: no error")
	}
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	byName, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		return nil, err
	}
	return slices.Collect(maps.Values(byName)), nil
})

func exportedFamilies(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	mfs, err := exported()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// A series is one exported time series, by the name Prometheus stores.
type series struct {
	name    string
	labels  map[string]string
	value   float64
	counter bool // a counter, or a part of a histogram
}

// exportedSeries flattens the exposition into the series Prometheus stores,
// histograms into _bucket (with +Inf), _sum and _count.
func exportedSeries(t *testing.T) []series {
	var out []series
	for _, mf := range exportedFamilies(t) {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				if l.GetValue() != "" {
					labels[l.GetName()] = l.GetValue()
				}
			}
			with := func(k, v string) map[string]string {
				c := map[string]string{k: v}
				for k, v := range labels {
					c[k] = v
				}
				return c
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, series{mf.GetName(), labels, m.GetCounter().GetValue(), true})
			case dto.MetricType_GAUGE:
				out = append(out, series{mf.GetName(), labels, m.GetGauge().GetValue(), false})
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					le := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					out = append(out, series{mf.GetName() + "_bucket", with("le", le), float64(b.GetCumulativeCount()), true})
				}
				out = append(out,
					series{mf.GetName() + "_bucket", with("le", "+Inf"), float64(h.GetSampleCount()), true},
					series{mf.GetName() + "_sum", labels, h.GetSampleSum(), true},
					series{mf.GetName() + "_count", labels, float64(h.GetSampleCount()), true})
			default:
				t.Fatalf("%s: unexpected type %v", mf.GetName(), mf.GetType())
			}
		}
	}
	return out
}

// Every metric and label name of the configuration is one the real
// exporters write.
func TestConfigNamesAreExported(t *testing.T) {
	c := Default()
	types := map[string]dto.MetricType{}
	labels := map[string]map[string]bool{} // label name -> values
	for _, mf := range exportedFamilies(t) {
		types[mf.GetName()] = mf.GetType()
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
	}
	for _, name := range configMetrics(c) {
		if _, ok := types[name]; !ok {
			t.Errorf("%s is not exported; exported: %v", name, slices.Sorted(maps.Keys(types)))
		}
	}
	for _, h := range []string{c.Metrics.SnapshotDuration, c.Metrics.IterationDuration, c.Metrics.OperationDuration, c.Runtime.ScheduleDuration} {
		if types[h] != dto.MetricType_HISTOGRAM {
			t.Errorf("%s is a %v, not a histogram", h, types[h])
		}
	}
	lb := c.Labels
	for _, l := range []string{lb.Name, lb.Operation, lb.Result, lb.Reason, lb.Outcome, c.Runtime.MemoryTypeLabel} {
		if labels[l] == nil {
			t.Errorf("label %s is not exported; exported: %v", l, slices.Sorted(maps.Keys(labels)))
		}
	}
	if !labels[lb.Operation][c.Metrics.LoadOperation] || !labels[lb.Result][c.Metrics.HitResult] {
		t.Errorf("%s=%q or %s=%q is not exported", lb.Operation, c.Metrics.LoadOperation, lb.Result, c.Metrics.HitResult)
	}
}

// Every metric-like name in the generated dashboards and rules is a series
// the exporters write (or a label of the configuration).
func TestGeneratedFilesUseExportedNames(t *testing.T) {
	c := Default()
	known := map[string]bool{}
	for _, s := range exportedSeries(t) {
		known[s.name] = true
		for l := range s.labels {
			known[l] = true
		}
	}
	ident := regexp.MustCompile(`[a-zA-Z0-9_:]*\b(?:mapx|go)_[a-z0-9_]*[a-z0-9_:]*`)
	for _, f := range generated(t) {
		for _, id := range ident.FindAllString(string(f.Data), -1) {
			switch {
			case strings.Contains(id, ":"), // a recording rule's name
				strings.HasPrefix(id, "Mapx"), // an alert's name
				id == c.Labels.Name:
				continue
			}
			switch {
			case known[id]:
			default:
				t.Errorf("%s uses %s, which the exporters do not write", f.Path, id)
			}
		}
	}
}

// Every query of the dashboard and every recording rule returns data from
// the series the real exporters write: promtool evaluates absent(query) as
// an alert that must not fire, over half an hour of those series.
func TestQueriesReturnDataFromExportedSeries(t *testing.T) {
	exportedNames := map[string]bool{}
	for _, s := range exportedSeries(t) {
		exportedNames[s.name] = true
	}
	var alerts []Rule
	for _, q := range overviewQueries(t, overviewJSON(t)) {
		if strings.HasPrefix(q.expr, "ALERTS") {
			continue // there are no alerts to show here
		}
		alerts = append(alerts, Rule{Alert: q.name, Expr: "absent(" + substitute(t, q.expr) + ")"})
	}
	for _, r := range rules(ruleFile(t, RecordingPath)) {
		alerts = append(alerts, Rule{
			Alert: "record_" + strings.ReplaceAll(r.Record, ":", "_"),
			Expr:  "absent(" + r.Expr + ")",
		})
	}

	base := map[string]string{"job": sampleVariables["$"+VarJob], "instance": "127.0.0.1:9464"}
	var input []inputSeries
	for _, s := range exportedSeries(t) {
		if s.labels[Default().Labels.Name] != "" && s.labels[Default().Labels.Name] != exportedMapName {
			t.Fatalf("series %s of another map: %v", s.name, s.labels)
		}
		values := strconv.FormatFloat(s.value, 'f', -1, 64) + "+0x30"
		if s.counter { // grows by its value each minute
			values = "0+" + strconv.FormatFloat(s.value, 'f', -1, 64) + "x30"
		}
		input = append(input, inputSeries{Series: selector(s.name, base, s.labels), Values: values})
	}
	var checks []alertRuleTest
	for _, a := range alerts {
		checks = append(checks, alertRuleTest{EvalTime: "20m", Alertname: a.Alert})
	}

	dir := t.TempDir()
	writeYAML(t, dir, "absent.yaml", RuleFile{Groups: []RuleGroup{{Name: "absent", Rules: alerts}}})
	path := writeYAML(t, dir, "absent.test.yaml", unitTestFile{
		RuleFiles:          []string{"absent.yaml"},
		EvaluationInterval: "1m",
		Tests:              []unitTest{{Interval: "1m", InputSeries: input, AlertRuleTest: checks}},
	})
	runPromtool(t, "test", "rules", path)
	t.Logf("%d queries return data from %d exported series", len(alerts), len(input))
}

// selector writes a series in PromQL's notation, labels sorted.
func selector(name string, sets ...map[string]string) string {
	all := map[string]string{}
	for _, s := range sets {
		for k, v := range s {
			all[k] = v
		}
	}
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		ls = append(ls, k+"="+strconv.Quote(all[k]))
	}
	return name + "{" + strings.Join(ls, ", ") + "}"
}
