package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"go.yaml.in/yaml/v3"
)

// ruleFile decodes a generated rule file.
func ruleFile(t *testing.T, path string) RuleFile {
	t.Helper()
	var f RuleFile
	if err := yaml.Unmarshal(generatedFile(t, path), &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s has no group", path)
	}
	return f
}

func rules(f RuleFile) []Rule {
	var rs []Rule
	for _, g := range f.Groups {
		rs = append(rs, g.Rules...)
	}
	return rs
}

func TestRuleFilesPassPromtoolCheck(t *testing.T) {
	for _, path := range []string{AlertsPath, RecordingPath, FastAlertsPath} {
		out := runPromtool(t, "check", "rules", filepath.FromSlash(path))
		want := fmt.Sprintf("SUCCESS: %d rules found", len(rules(ruleFile(t, path))))
		if !strings.Contains(out, want) {
			t.Errorf("promtool check rules %s: want %q in\n%s", path, want, out)
		}
	}
}

// The unit tests under prometheus/tests: every alert fires when it should
// and stays quiet when it should. The files run side by side: the 48-hour
// scenarios take most of the time.
func TestAlertUnitTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("prometheus", "tests", "*.test.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit test files under prometheus/tests (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			out := runPromtool(t, "test", "rules", f)
			if !strings.Contains(out, "SUCCESS") {
				t.Errorf("promtool test rules %s:\n%s", f, out)
			}
		})
	}
}

func readUnitTests(t *testing.T, path string) unitTestFile {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	var f unitTestFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// Each alert has, among the unit tests of its rule file, a case where it
// fires and one where it must not.
func TestEveryAlertHasFiringAndQuietCases(t *testing.T) {
	alertNames := func(path string) []string {
		var names []string
		for _, r := range rules(ruleFile(t, path)) {
			names = append(names, r.Alert)
		}
		return names
	}
	production, err := filepath.Glob(filepath.Join("prometheus", "tests", "*.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	production = slices.DeleteFunc(production, func(p string) bool { return strings.HasSuffix(p, "-fast.test.yaml") })
	for _, c := range []struct {
		tests  []string
		alerts []string
	}{
		{production, alertNames(AlertsPath)},
		{[]string{"prometheus/tests/mapx-alerts-fast.test.yaml"}, []string{"MapxDirtyMapGrowing"}},
	} {
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, path := range c.tests {
			for _, ut := range readUnitTests(t, path).Tests {
				for _, a := range ut.AlertRuleTest {
					if len(a.ExpAlerts) > 0 {
						fires[a.Alertname] = true
					} else {
						quiet[a.Alertname] = true
					}
				}
			}
		}
		for _, name := range c.alerts {
			if !fires[name] {
				t.Errorf("%v: no case where %s fires", c.tests, name)
			}
			if !quiet[name] {
				t.Errorf("%v: no case where %s must not fire", c.tests, name)
			}
		}
	}
}

// The scenarios of issue 15, one file each: at least 48 simulated hours of
// series, and a last check that lists every alert that fired in them.
var scenarios = []string{
	"fast-leak", "slow-leak", "crash-loop", "warm-up", "daily-cycle", "steady-12m", "bounded-churn",
	"overlapping-snapshots", "leaked-snapshot", "target-down", "metrics-absent", "entry-limit", "deleted-keys",
}

func TestScenariosCoverTwoDays(t *testing.T) {
	for _, name := range scenarios {
		path := "prometheus/tests/scenario-" + name + ".test.yaml"
		f := readUnitTests(t, path)
		if len(f.Tests) == 0 {
			t.Errorf("%s: no test", path)
			continue
		}
		for _, ut := range f.Tests {
			step, err := model.ParseDuration(ut.Interval)
			if err != nil {
				t.Fatalf("%s: interval %q: %v", path, ut.Interval, err)
			}
			for _, s := range ut.InputSeries {
				if got := time.Duration(step) * time.Duration(seriesSamples(t, s.Values)-1); got < 48*time.Hour {
					t.Errorf("%s: %s spans %v, want at least 48h", path, s.Series, got)
				}
			}
			last := false
			for _, p := range ut.PromQLExprTest {
				d, err := model.ParseDuration(p.EvalTime)
				if err == nil && time.Duration(d) >= 48*time.Hour && strings.Contains(p.Expr, `ALERTS{alertstate="firing"}[48h]`) {
					last = true
				}
			}
			if !last {
				t.Errorf("%s: no check at 48h of every alert that fired in the 48 hours", path)
			}
			if len(ut.AlertRuleTest) == 0 {
				t.Errorf("%s: no alert_rule_test", path)
			}
		}
	}
}

// seriesSamples counts the samples of promtool's expanding notation: "a+bxn"
// and "_xn" are n+1 and n samples, anything else one.
func seriesSamples(t *testing.T, values string) int {
	n := 0
	for _, tok := range strings.Fields(values) {
		i := strings.LastIndexByte(tok, 'x')
		if i < 0 {
			n++
			continue
		}
		k, err := strconv.Atoi(tok[i+1:])
		if err != nil {
			t.Fatalf("values %q: %v", tok, err)
		}
		if strings.HasPrefix(tok, "_") {
			n += k
		} else {
			n += k + 1
		}
	}
	return n
}

// byClause finds the label lists of PromQL aggregations.
var byClause = regexp.MustCompile(`\bby \(([^)]*)\)`)

// checkKeepsMapLabels reports an aggregation in expr that drops a label that
// tells maps apart.
func checkKeepsMapLabels(t *testing.T, c Config, name, expr string) {
	t.Helper()
	clauses := byClause.FindAllStringSubmatch(expr, -1)
	if len(clauses) == 0 {
		t.Errorf("%s: no sum by (...) in %q", name, expr)
	}
	for _, m := range clauses {
		if m[1] == strings.Join(c.processLabels(), ", ") {
			continue // the process's memory or up, joined on to its maps
		}
		labels := strings.Split(m[1], ", ")
		for _, l := range c.mapLabels() {
			if !strings.Contains(","+strings.Join(labels, ",")+",", ","+l+",") {
				t.Errorf("%s: %q drops the label %s", name, m[0], l)
			}
		}
	}
}

// runbookSections returns the bodies of docs/runbook.md's sections by their
// GitHub anchor.
func runbookSections(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	anchor := ""
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchor = githubAnchor(h)
			continue
		}
		if anchor != "" {
			sections[anchor] += line + "\n"
		}
	}
	return sections
}

// githubAnchor is the fragment GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every alert, in both variants, has a severity, the four annotations, keeps
// the map's labels, and its runbook_url leads to a section of
// docs/runbook.md that says what it means and what to do.
func TestAlertsHaveAnnotationsAndRunbookSections(t *testing.T) {
	sections := runbookSections(t)
	for _, v := range []struct {
		path string
		c    Config
	}{{AlertsPath, Default()}, {FastAlertsPath, Fast()}} {
		for _, r := range rules(ruleFile(t, v.path)) {
			name := v.path + " " + r.Alert
			if r.Alert == "" || r.Record != "" {
				t.Errorf("%s: not an alerting rule: %+v", name, r)
				continue
			}
			sev := r.Labels["severity"]
			if sev != SeverityWarning && sev != SeverityCritical {
				t.Errorf("%s: severity %q", name, sev)
			}
			if r.For == "" {
				t.Errorf("%s: no for duration", name)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", name, a)
				}
			}
			checkKeepsMapLabels(t, v.c, name, r.Expr)
			if !strings.Contains(r.Annotations["summary"]+r.Annotations["description"], "$labels."+v.c.Labels.Name) {
				t.Errorf("%s: the annotations do not name the map", name)
			}
			url, frag, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if url != v.c.RunbookURL || frag != githubAnchor(r.Alert) {
				t.Errorf("%s: runbook_url %q, want %s#%s", name, r.Annotations["runbook_url"], v.c.RunbookURL, githubAnchor(r.Alert))
			}
			body, ok := sections[frag]
			if !ok {
				t.Errorf("%s: docs/runbook.md has no section #%s", name, frag)
				continue
			}
			for _, want := range []string{"**What it means.**", "**How to confirm.**", "**What to do.**", "Severity: " + sev + "."} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: runbook section #%s lacks %q", name, frag, want)
				}
			}
		}
	}
}

// Recording rules are named level:metric:operations, their level is the map,
// and they keep the labels that tell maps apart.
func TestRecordingRules(t *testing.T) {
	c := Default()
	name := regexp.MustCompile(`^` + c.Labels.Name + `:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	for _, r := range rules(ruleFile(t, RecordingPath)) {
		if !name.MatchString(r.Record) || r.Alert != "" {
			t.Errorf("recording rule %q is not named %s:<metric>:<operations>", r.Record, c.Labels.Name)
		}
		if seen[r.Record] {
			t.Errorf("recording rule %q twice", r.Record)
		}
		seen[r.Record] = true
		checkKeepsMapLabels(t, c, r.Record, r.Expr)
	}
}

// A configuration like a mixin's: a selector and more grouping labels reach
// every rule, and the result passes promtool.
func TestCustomSelectorAndGroupLabels(t *testing.T) {
	c := Default()
	c.Selector = `namespace="payments"`
	c.GroupLabels = []string{"cluster", "namespace", "job", "instance", "mapx_name"}
	c.Alerts.MemoryBudgetBytes = 4 << 30
	metricNames := append(configMetrics(c), c.Metrics.EntryLimit, c.Metrics.SnapshotOldestAge, c.Runtime.MemoryLimit, c.Metrics.Up)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, f := range map[string]RuleFile{"alerts.yaml": AlertRules(c), "recording.yaml": RecordingRules(c)} {
		for _, r := range rules(f) {
			checkKeepsMapLabels(t, c, r.Alert+r.Record, r.Expr)
			for _, name := range metricNames {
				for _, m := range regexp.MustCompile(`\b`+name+`(_bucket)?\b(\{[^}]*\})?`).FindAllStringSubmatch(r.Expr, -1) {
					if !strings.Contains(m[2], c.Selector) {
						t.Errorf("%s%s: %s without the selector", r.Alert, r.Record, m[0])
					}
				}
			}
		}
		y, err := f.YAML()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, y, 0o644); err != nil {
			t.Fatal(err)
		}
		runPromtool(t, "check", "rules", p)
	}
}

func TestValidateRefusesGroupLabelsWithoutTheMap(t *testing.T) {
	c := Default()
	c.GroupLabels = []string{"job", "instance"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "GroupLabels") {
		t.Errorf("Validate: %v, want an error naming GroupLabels", err)
	}
	c = Default()
	c.Selector = `{job="x"}`
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Selector") {
		t.Errorf("Validate: %v, want an error naming Selector", err)
	}
}
