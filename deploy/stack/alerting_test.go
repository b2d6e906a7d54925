package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Alertmanager groups and inhibits per map of a process: a map name shared
// by two services or two instances never shares a notification or silences
// the other's alert.
func TestAlertmanagerGroupsAndInhibitsPerProcess(t *testing.T) {
	var cfg struct {
		Route struct {
			GroupBy []string `yaml:"group_by"`
		} `yaml:"route"`
		InhibitRules []struct {
			Equal []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	readYAML(t, filepath.Join(root, "deploy/alertmanager/alertmanager.yml"), &cfg)
	for _, l := range []string{"job", "instance", "mapx_name"} {
		if !slices.Contains(cfg.Route.GroupBy, l) {
			t.Errorf("route group_by %v lacks %s", cfg.Route.GroupBy, l)
		}
		for i, r := range cfg.InhibitRules {
			if !slices.Contains(r.Equal, l) {
				t.Errorf("inhibit rule %d: equal %v lacks %s", i, r.Equal, l)
			}
		}
	}
	if len(cfg.InhibitRules) == 0 {
		t.Error("no inhibit rule")
	}
}

// Prometheus gets each series once: it scrapes the app, or the Collector
// the app pushes its metrics to, not both.
func TestPrometheusScrapesEachSeriesOnce(t *testing.T) {
	scraped := map[string]bool{}
	for _, target := range readPrometheusConfig(t).scrapeTargets() {
		scraped[strings.Split(target, ":")[0]] = true
	}
	app := project(t).Services["app"]
	metricsExporter := ""
	if v := app.Environment["OTEL_METRICS_EXPORTER"]; v != nil {
		metricsExporter = *v
	}
	pushes := app.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil && metricsExporter != "none"
	if scraped["app"] && scraped["otel-collector"] && pushes {
		t.Error("Prometheus scrapes the app and the Collector it pushes its metrics to: every series twice")
	}
	if !scraped["app"] && !(scraped["otel-collector"] && pushes) {
		t.Error("Prometheus gets the app's metrics from nowhere")
	}
}

// minGrafanaForSchema is the first Grafana release that reads a dashboard
// schemaVersion; an older Grafana migrates nothing it does not know.
var minGrafanaForSchema = map[int][2]int{41: {12, 0}, 42: {12, 2}}

// The Grafana image the stack pins reads the dashboards' schemaVersion.
func TestGrafanaImageReadsTheDashboardSchema(t *testing.T) {
	image := project(t).Services["grafana"].Image
	_, tag, ok := strings.Cut(image, ":")
	var major, minor int
	if !ok {
		t.Fatalf("grafana image %q has no version tag", image)
	}
	if _, err := fmt.Sscanf(tag, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("grafana image %q: version %q: %v", image, tag, err)
	}
	for _, f := range dashboardFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want, known := minGrafanaForSchema[d.SchemaVersion]
		if !known && d.SchemaVersion > 42 {
			t.Errorf("%s: schemaVersion %d: add the Grafana release that reads it to minGrafanaForSchema", f, d.SchemaVersion)
			continue
		}
		if major < want[0] || major == want[0] && minor < want[1] {
			t.Errorf("%s has schemaVersion %d, which needs Grafana %d.%d or later; the stack pins %s",
				filepath.Base(f), d.SchemaVersion, want[0], want[1], image)
		}
	}
}
