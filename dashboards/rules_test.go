package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
// and stays quiet when it should.
func TestAlertUnitTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("prometheus", "tests", "*.test.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit test files under prometheus/tests (%v)", err)
	}
	for _, f := range files {
		out := runPromtool(t, "test", "rules", f)
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool test rules %s:\n%s", f, out)
		}
	}
}

// Each alert named has, in the unit test file, a case where it fires and
// one where it must not.
func TestEveryAlertHasFiringAndQuietCases(t *testing.T) {
	alertNames := func(path string) []string {
		var names []string
		for _, r := range rules(ruleFile(t, path)) {
			names = append(names, r.Alert)
		}
		return names
	}
	for _, c := range []struct {
		tests  string
		alerts []string
	}{
		{"prometheus/tests/mapx-alerts.test.yaml", alertNames(AlertsPath)},
		{"prometheus/tests/mapx-alerts-fast.test.yaml", []string{"MapxDirtyMapGrowing", "MapxEntriesGrowingUnbounded"}},
	} {
		b, err := os.ReadFile(filepath.FromSlash(c.tests))
		if err != nil {
			t.Fatal(err)
		}
		var f unitTestFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", c.tests, err)
		}
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, ut := range f.Tests {
			for _, a := range ut.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
		for _, name := range c.alerts {
			if !fires[name] {
				t.Errorf("%s: no case where %s fires", c.tests, name)
			}
			if !quiet[name] {
				t.Errorf("%s: no case where %s must not fire", c.tests, name)
			}
		}
	}
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
			for _, want := range []string{"**What it means.**", "**What to do.**", "Severity: " + sev + "."} {
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
