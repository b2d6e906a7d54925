package dashboards

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/internal/testtool"
	"go.yaml.in/yaml/v3"
)

// promtool returns the path of promtool. Without it the test fails when the
// environment variable CI is set and is skipped otherwise.
func promtool(t *testing.T) string {
	t.Helper()
	return testtool.Path(t, "promtool", "prometheus")
}

// runPromtool runs promtool with args and fails the test, with promtool's
// output, when it does not succeed.
func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// writeYAML writes v as YAML to the file name of folder dir and returns its
// path.
func writeYAML(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A unitTestFile is promtool's rule unit test file, the parts these tests
// write or read.
type unitTestFile struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval,omitempty"`
	Tests              []unitTest `yaml:"tests"`
}

type unitTest struct {
	Name           string           `yaml:"name,omitempty"`
	Interval       string           `yaml:"interval,omitempty"`
	InputSeries    []inputSeries    `yaml:"input_series,omitempty"`
	AlertRuleTest  []alertRuleTest  `yaml:"alert_rule_test,omitempty"`
	PromQLExprTest []promQLExprTest `yaml:"promql_expr_test,omitempty"`
}

type promQLExprTest struct {
	Expr     string `yaml:"expr"`
	EvalTime string `yaml:"eval_time"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  string `yaml:"eval_time"`
	Alertname string `yaml:"alertname"`
	ExpAlerts []any  `yaml:"exp_alerts"`
}
