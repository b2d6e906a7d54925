package stack

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/mapx-dev/mapx/internal/testtool"
	"gopkg.in/yaml.v3"
)

// root is the repository root, two folders up.
var root = func() string {
	abs, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return abs
}()

var wantServices = []string{"alertmanager", "app", "grafana", "jaeger", "otel-collector", "prometheus", "pyroscope"}

func loadProject(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(env), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadProject(t, []string{"GRAFANA_ADMIN_PASSWORD=not-a-default"})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestComposeServicesAndImages(t *testing.T) {
	p := project(t)
	names := p.ServiceNames()
	slices.Sort(names)
	if !slices.Equal(names, wantServices) {
		t.Fatalf("services %v, want %v", names, wantServices)
	}
	for name, s := range p.Services {
		if s.Build != nil {
			df := filepath.Join(s.Build.Context, s.Build.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: Dockerfile %s: %v", name, df, err)
			}
			continue
		}
		image, tag, ok := strings.Cut(s.Image, ":")
		if !ok || tag == "" || tag == "latest" || strings.Contains(tag, "/") {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
		_ = image
	}
}

func TestComposeMountsExist(t *testing.T) {
	for name, s := range project(t).Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s, which does not exist: %v", name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s mounts %s read-write; configs are mounted read-only", name, v.Source)
			}
		}
	}
}

func TestComposePortsBindLoopbackAndDoNotClash(t *testing.T) {
	seen := map[string]string{}
	for name, s := range project(t).Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on %q; publish on 127.0.0.1 only", name, port.Published, port.HostIP)
			}
			key := port.HostIP + ":" + port.Published + "/" + port.Protocol
			if other, ok := seen[key]; ok {
				t.Errorf("%s and %s both publish %s", name, other, key)
			}
			seen[key] = name
		}
	}
	if len(seen) == 0 {
		t.Fatal("no published ports")
	}
}

func TestGrafanaHasNoDefaultPassword(t *testing.T) {
	_, err := loadProject(t, nil)
	if err == nil || !strings.Contains(err.Error(), "GRAFANA_ADMIN_PASSWORD") {
		t.Fatalf("the stack loads without GRAFANA_ADMIN_PASSWORD (err %v): Grafana would get a default password", err)
	}
	g := project(t).Services["grafana"]
	if pw := g.Environment["GF_SECURITY_ADMIN_PASSWORD"]; pw == nil || *pw != "not-a-default" {
		t.Fatalf("Grafana's admin password does not come from GRAFANA_ADMIN_PASSWORD: %v", pw)
	}
}

// mountTarget finds where the stack mounts a file or folder of the repository.
func mountTarget(t *testing.T, service, source string) string {
	t.Helper()
	for _, v := range project(t).Services[service].Volumes {
		if v.Source == filepath.Join(root, source) {
			return v.Target
		}
	}
	t.Fatalf("%s does not mount %s", service, source)
	return ""
}

// TestPrometheusConfig lays the Prometheus container's files out as the
// stack mounts them and runs promtool on them: the config, the rule files it
// loads, and the scrape targets' names against the compose services.
func TestPrometheusConfig(t *testing.T) {
	promtool := testtool.Path(t, "promtool", "prometheus")
	cfgTarget := mountTarget(t, "prometheus", "deploy/prometheus/prometheus.yml")
	rulesTarget := mountTarget(t, "prometheus", "dashboards/prometheus")
	dir := t.TempDir()
	place := func(target string) string { return filepath.Join(dir, filepath.FromSlash(target)) }
	copyFile(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"), place(cfgTarget))
	rules, _ := filepath.Glob(filepath.Join(root, "dashboards/prometheus/*.yaml"))
	if len(rules) == 0 {
		t.Fatal("no rule files in dashboards/prometheus")
	}
	for _, r := range rules {
		copyFile(t, r, filepath.Join(place(rulesTarget), filepath.Base(r)))
	}
	out, err := exec.Command(promtool, "check", "config", place(cfgTarget)).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "SUCCESS"); got < 1+len(rules) {
		t.Fatalf("promtool checked %d files, want the config and %d rule files:\n%s", got, len(rules), out)
	}

	cfg := readPrometheusConfig(t)
	services := project(t).Services
	targets := cfg.scrapeTargets()
	for _, am := range cfg.Alerting.Alertmanagers {
		for _, s := range am.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	for _, target := range targets {
		host, _, err := net.SplitHostPort(target)
		if err != nil {
			t.Fatalf("target %q: %v", target, err)
		}
		if _, ok := services[host]; !ok && host != "localhost" {
			t.Errorf("Prometheus targets %s, which is no service of the stack", target)
		}
	}
}

// staticConfigs are the static_configs of a job or of the alerting section.
type staticConfigs []struct {
	Targets []string `yaml:"targets"`
}

// prometheusConfig is what the tests read of deploy/prometheus/prometheus.yml.
type prometheusConfig struct {
	ScrapeConfigs []struct {
		StaticConfigs staticConfigs `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
	Alerting struct {
		Alertmanagers []struct {
			StaticConfigs staticConfigs `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
}

func readPrometheusConfig(t *testing.T) prometheusConfig {
	t.Helper()
	var cfg prometheusConfig
	readYAML(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"), &cfg)
	return cfg
}

// scrapeTargets returns the targets of every scrape job.
func (c prometheusConfig) scrapeTargets() []string {
	var targets []string
	for _, sc := range c.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	return targets
}

func TestAlertmanagerConfig(t *testing.T) {
	amtool := testtool.Path(t, "amtool", "prometheus-alertmanager")
	out, err := exec.Command(amtool, "check-config", filepath.Join(root, "deploy/alertmanager/alertmanager.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

// TestGrafanaProvisioning checks that the provisioning files parse, that the
// dashboards provider reads the folder where the stack mounts
// dashboards/grafana, and that every datasource a dashboard names by UID is
// provisioned.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(root, "deploy/grafana/provisioning/datasources/datasources.yaml"), &ds)
	uids := map[string]string{}
	for _, d := range ds.Datasources {
		if d.UID == "" || d.Type == "" || d.URL == "" {
			t.Errorf("datasource %+v lacks a uid, type or url", d)
		}
		uids[d.UID] = d.Type
	}
	for _, typ := range []string{"prometheus", "grafana-pyroscope-datasource", "jaeger"} {
		if !slices.Contains(mapsValues(uids), typ) {
			t.Errorf("no %s datasource provisioned", typ)
		}
	}

	var dash struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(root, "deploy/grafana/provisioning/dashboards/dashboards.yaml"), &dash)
	target := mountTarget(t, "grafana", "dashboards/grafana")
	if len(dash.Providers) != 1 || dash.Providers[0].Options.Path != target {
		t.Fatalf("dashboard providers %+v do not read %s, where dashboards/grafana is mounted", dash.Providers, target)
	}
	for _, f := range dashboardFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if uid, _ := d["uid"].(string); uid == "" {
			t.Errorf("%s has no uid", f)
		}
		for _, uid := range datasourceUIDs(d) {
			if strings.HasPrefix(uid, "$") || strings.HasPrefix(uid, "-- ") || uid == "grafana" {
				continue // a template variable, chosen in Grafana, or a built-in one
			}
			if _, ok := uids[uid]; !ok {
				t.Errorf("%s uses datasource %q, which is not provisioned", filepath.Base(f), uid)
			}
		}
	}
}

func datasourceUIDs(v any) (out []string) {
	switch v := v.(type) {
	case map[string]any:
		if ds, ok := v["datasource"].(map[string]any); ok {
			if uid, ok := ds["uid"].(string); ok {
				out = append(out, uid)
			}
		}
		for _, x := range v {
			out = append(out, datasourceUIDs(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, datasourceUIDs(x)...)
		}
	}
	return out
}

func mapsValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dashboardFiles returns the generated dashboards that the stack mounts into
// Grafana, and fails the test when there are none.
func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "dashboards/grafana/*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards in dashboards/grafana")
	}
	return files
}
