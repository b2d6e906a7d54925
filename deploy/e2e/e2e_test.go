package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/internal/testtool"
)

// The fast variant of the alert rules: the production windows and for:
// durations shortened so that a few minutes of a 1 s scrape are enough.
var ruleFiles = []string{
	"dashboards/prometheus/testdata/mapx-alerts-fast.yaml",
	"dashboards/prometheus/mapx-recording.yaml",
}

const (
	growthAlert     = "MapxDirtyMapGrowing"
	targetDownAlert = "MapxTargetDown"
)

func TestEndToEnd(t *testing.T) {
	prometheus := testtool.Path(t, "prometheus", "prometheus")
	dir := t.TempDir()
	loadgen := build(t, "loadgen", filepath.Join(dir, "loadgen"), false)
	collector := build(t, "deploy/collector", filepath.Join(root, ".bin", "otelcol-mapx"), true)

	// Two load generators serving /metrics: a map that leaks and one that
	// does not, each paced so that both and Prometheus fit on two cores.
	leaky, healthy := testtool.FreeAddr(t), testtool.FreeAddr(t)
	common := []string{"-duration=0", "-progress=off", "-rate=1000", "-goroutines=2", "-keys=20000"}
	start(t, "loadgen leaky", nil, loadgen, append([]string{
		"-name=leaky", "-workload=leak", "-leak-rate=2000", "-insert-rate=1500",
		"-snapshot-every=2s", "-cancel-every=2s", "-metrics-addr=" + leaky}, common...)...)
	start(t, "loadgen healthy", nil, loadgen, append([]string{
		"-name=healthy", "-workload=read-mostly", "-metrics-addr=" + healthy}, common...)...)
	// A healthy map whose process is stopped later: its absence must alert.
	doomedAddr := testtool.FreeAddr(t)
	doomed := start(t, "loadgen doomed", nil, loadgen, append([]string{
		"-name=doomed", "-workload=read-mostly", "-metrics-addr=" + doomedAddr}, common...)...)

	// A third one exporting over OTLP to a real Collector, which Prometheus
	// scrapes: the same series must arrive that way.
	otlpIn, otlpOut := testtool.FreeAddr(t), testtool.FreeAddr(t)
	collectorConfig := filepath.Join(dir, "otelcol.yaml")
	writeFile(t, collectorConfig, fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  prometheus:
    endpoint: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheus]
`, otlpIn, otlpOut))
	start(t, "otelcol-mapx", nil, collector, "--config="+collectorConfig)
	start(t, "loadgen otlp", []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlpIn, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_METRIC_EXPORT_INTERVAL=1000", "OTEL_SERVICE_NAME=mapx-e2e",
	}, loadgen, append([]string{"-name=otlp", "-workload=read-mostly", "-metrics-addr="}, common...)...)

	// Prometheus: 1 s scrapes and evaluations, the mapx rules.
	promAddr := testtool.FreeAddr(t)
	var rules []string
	for _, f := range ruleFiles {
		rules = append(rules, fmt.Sprintf("%q", filepath.Join(root, f)))
	}
	promConfig := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promConfig, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: mapx
    static_configs:
      - targets: [%q, %q, %q]
  - job_name: otel-collector
    static_configs:
      - targets: [%q]
`, strings.Join(rules, ", "), leaky, healthy, doomedAddr, otlpOut))
	start(t, "prometheus", nil, prometheus, "--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	p := prom{base: "http://" + promAddr}
	waitHTTP(t, "Prometheus ready", p.base+"/-/ready", time.Minute)
	promStarted := time.Now()

	t.Run("growth alert for the leaking map only", func(t *testing.T) {
		waitFor(t, growthAlert+" pending or firing for leaky", 4*time.Minute, func() (bool, string) {
			alerts, err := p.alerts()
			if err != nil {
				return false, err.Error()
			}
			for _, a := range alerts {
				if a.Labels["alertname"] == growthAlert && a.Labels["mapx_name"] == "leaky" {
					return true, ""
				}
			}
			return false, fmt.Sprint(alerts)
		})
	})

	t.Run("every dashboard query returns data", func(t *testing.T) {
		queries := dashboardQueries(t)
		if len(queries) < 10 {
			t.Fatalf("only %d Prometheus queries in the dashboards", len(queries))
		}
		vars := map[string]string{
			"job": "mapx", "instance": ".*", "mapx_name": "leaky",
			"__rate_interval": "30s", "__interval": "5s", "__range": "2m",
		}
		for _, q := range queries {
			expr := substitute(q.expr, vars)
			if name := unexported(t, p, expr); name != "" {
				t.Logf("panel %q: no %s series in Prometheus at all (package instrumented does not export it yet, "+
					"or no map here has one); not checked", q.panel, name)
				continue
			}
			waitFor(t, fmt.Sprintf("panel %q: %s", q.panel, expr), 90*time.Second, func() (bool, string) {
				samples, err := p.query(expr)
				if err != nil {
					return false, err.Error()
				}
				return len(samples) > 0, "no data"
			})
		}
	})

	t.Run("OTLP series match the app's own", func(t *testing.T) {
		names := func(mapName string) (out []string, err error) {
			samples, err := p.query(fmt.Sprintf(`count by (__name__) ({mapx_name=%q})`, mapName))
			for _, s := range samples {
				out = append(out, s.Metric["__name__"])
			}
			sort.Strings(out)
			return out, err
		}
		var direct, viaCollector []string
		waitFor(t, "the same mapx series through OTLP and the Collector", 2*time.Minute, func() (bool, string) {
			var err1, err2 error
			direct, err1 = names("healthy")
			viaCollector, err2 = names("otlp")
			if err1 != nil || err2 != nil {
				return false, fmt.Sprint(err1, err2)
			}
			return len(direct) >= 8 && slices.Equal(direct, viaCollector), fmt.Sprintf("direct %v, via the Collector %v", direct, viaCollector)
		})
		samples, err := p.query(`mapx_operations_total{job="otel-collector", mapx_name="otlp", mapx_operation="load", mapx_result="hit"}`)
		if err != nil || len(samples) != 1 {
			t.Fatalf("load hits through the Collector: %v, %v", samples, err)
		}
	})

	t.Run("no alert for the healthy maps", func(t *testing.T) {
		// Give the rules a minute of data (four times the fast for:), then
		// look at every alert that was ever pending or firing.
		time.Sleep(time.Until(promStarted.Add(time.Minute)))
		samples, err := p.query(`count by (alertname, mapx_name, alertstate) (count_over_time(ALERTS{mapx_name!="leaky"}[10m]))`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			t.Errorf("alert %s was %s for %q: only the leaking map may alert", s.Metric["alertname"], s.Metric["alertstate"], s.Metric["mapx_name"])
		}
	})

	t.Run("absence alert when a target goes down", func(t *testing.T) {
		if err := syscall.Kill(-doomed.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, targetDownAlert+" firing for doomed", 2*time.Minute, func() (bool, string) {
			alerts, err := p.alerts()
			if err != nil {
				return false, err.Error()
			}
			for _, a := range alerts {
				if a.Labels["alertname"] == targetDownAlert && a.Labels["mapx_name"] == "doomed" && a.State == "firing" {
					return true, ""
				}
			}
			return false, fmt.Sprint(alerts)
		})
		samples, err := p.query(`ALERTS{alertname="` + targetDownAlert + `", mapx_name!="doomed"}`)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			t.Errorf("%s for %q, whose target is up", targetDownAlert, s.Metric["mapx_name"])
		}
	})
}

// announced are the series the rules and dashboards use that exist only
// for some maps: mapx_entry_limit, for maps with WithMaxEntries, which no
// load generator here has.
var announced = []string{"mapx_entry_limit"}

// unexported returns an announced series that expr uses and of which
// Prometheus has no series at all, or "". Once one exists, the query is
// checked like any other.
func unexported(t *testing.T, p prom, expr string) string {
	t.Helper()
	for _, name := range announced {
		if !strings.Contains(expr, name) {
			continue
		}
		samples, err := p.query(`count({__name__="` + name + `"})`)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) == 0 {
			return name
		}
	}
	return ""
}

type panelQuery struct{ panel, expr string }

// dashboardQueries returns the PromQL of every panel of every dashboard.
func dashboardQueries(t *testing.T) []panelQuery {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "dashboards/grafana/*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	var out []panelQuery
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			panel, _ := p.(map[string]any)
			title, _ := panel["title"].(string)
			targets, _ := panel["targets"].([]any)
			for _, tg := range targets {
				if expr, _ := tg.(map[string]any)["expr"].(string); expr != "" {
					out = append(out, panelQuery{title, expr})
				}
			}
			sub, _ := panel["panels"].([]any)
			walk(sub)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []any `json:"panels"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(d.Panels)
	}
	return out
}

// substitute replaces Grafana's $name and ${name} variables.
func substitute(expr string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) }) // $__rate_interval before $__range
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "${"+n+"}", vars[n])
		expr = strings.ReplaceAll(expr, "$"+n, vars[n])
	}
	return expr
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
