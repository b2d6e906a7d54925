package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

type jsonDashboard struct {
	UID        string      `json:"uid"`
	Panels     []jsonPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string  `json:"name"`
			Type       string  `json:"type"`
			Query      any     `json:"query"`
			Datasource *jsonDS `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name       string  `json:"name"`
			Expr       string  `json:"expr"`
			Datasource *jsonDS `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
}

type jsonPanel struct {
	ID          uint32       `json:"id"`
	GridPos     jsonGridPos  `json:"gridPos"`
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Datasource  *jsonDS      `json:"datasource"`
	Targets     []jsonTarget `json:"targets"`
	Panels      []jsonPanel  `json:"panels"`
}

type jsonGridPos struct {
	X, Y, W, H uint32
}

type jsonTarget struct {
	RefID         string  `json:"refId"`
	Expr          string  `json:"expr"`
	LabelSelector string  `json:"labelSelector"`
	ProfileTypeID string  `json:"profileTypeId"`
	Datasource    *jsonDS `json:"datasource"`
}

type jsonDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// overviewJSON returns the generated overview dashboard, decoded.
func overviewJSON(t *testing.T) jsonDashboard {
	t.Helper()
	var d jsonDashboard
	if err := json.Unmarshal(generatedFile(t, OverviewPath), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// allPanels returns the dashboard's panels, rows and the panels of collapsed
// rows included, in order.
func allPanels(d jsonDashboard) []jsonPanel {
	var ps []jsonPanel
	for _, p := range d.Panels {
		ps = append(ps, p)
		ps = append(ps, p.Panels...)
	}
	return ps
}

// A panelQuery is one PromQL query of the dashboard.
type panelQuery struct {
	name string // a recording-rule-safe name that says where it is
	expr string
}

// overviewQueries returns every PromQL query of the dashboard: the panels'
// targets, the selectors of the variables' label_values() and the alert
// annotation.
func overviewQueries(t *testing.T, d jsonDashboard) []panelQuery {
	t.Helper()
	var qs []panelQuery
	for _, p := range allPanels(d) {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				qs = append(qs, panelQuery{fmt.Sprintf("panel_%d_%s", p.ID, tg.RefID), tg.Expr})
			}
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.*), *[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" || v.Name == VarService { // Pyroscope's, not PromQL
			continue
		}
		m := labelValues.FindStringSubmatch(fmt.Sprint(v.Query))
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(selector, label)", v.Name, v.Query)
		}
		qs = append(qs, panelQuery{"variable_" + v.Name, m[1]})
	}
	for i, a := range d.Annotations.List {
		if a.Expr != "" {
			qs = append(qs, panelQuery{fmt.Sprintf("annotation_%d", i), a.Expr})
		}
	}
	return qs
}

// sampleVariables are the values the tests give the dashboard's variables.
var sampleVariables = map[string]string{
	"$__rate_interval": "2m",
	"$" + VarJob:       "mapx-test",
	"$" + VarInstance:  ".+",
	"$" + VarName:      "dashtest",
}

// substitute replaces the dashboard's variables in expr by sample values.
func substitute(t *testing.T, expr string) string {
	t.Helper()
	vars := make([]string, 0, len(sampleVariables))
	for v := range sampleVariables {
		vars = append(vars, v)
	}
	// Longest first, so that no variable is replaced inside a longer one.
	slices.SortFunc(vars, func(a, b string) int { return len(b) - len(a) })
	for _, v := range vars {
		expr = strings.ReplaceAll(expr, v, sampleVariables[v])
	}
	if strings.Contains(expr, "$") {
		t.Fatalf("query %q uses a variable the tests do not know", expr)
	}
	return expr
}

// The dashboard JSON decodes strictly with the SDK's schema of Grafana's
// dashboard model: no unknown field, no required field missing, every
// constraint met.
func TestOverviewMatchesSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	//lint:ignore SA1019 the generator writes this classic model (see Overview).
	var d dashboard.Dashboard
	err := d.UnmarshalJSONStrict(generatedFile(t, OverviewPath))
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		err = nil // the SDK returns an empty BuildErrors for none
	}
	if err != nil {
		t.Fatalf("strict decoding: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("validation: %v", err)
	}
}

func TestOverviewPanelsHaveQueriesAndStableIDs(t *testing.T) {
	c := Default()
	d := overviewJSON(t)
	if d.UID != c.Dashboard.UID || !regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`).MatchString(d.UID) {
		t.Errorf("dashboard UID = %q, want %q, a valid Grafana UID", d.UID, c.Dashboard.UID)
	}

	// IDs are the ones written in overviewRows, in order: the builder does
	// not number panels itself, so an ID stays when panels move.
	var want []uint32
	for _, r := range overviewRows(c) {
		want = append(want, r.id)
		for _, p := range r.panels {
			want = append(want, p.id)
		}
	}
	var got []uint32
	seen := map[uint32]string{}
	for _, p := range allPanels(d) {
		got = append(got, p.ID)
		if p.ID == 0 {
			t.Errorf("panel %q has no ID", p.Title)
		}
		if other, dup := seen[p.ID]; dup {
			t.Errorf("panels %q and %q share ID %d", other, p.Title, p.ID)
		}
		seen[p.ID] = p.Title
	}
	if !slices.Equal(got, want) {
		t.Errorf("panel IDs = %v, want %v", got, want)
	}

	flamegraphs := 0
	for _, p := range allPanels(d) {
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		switch p.Type {
		case "row":
			continue
		case "timeseries":
			if len(p.Targets) == 0 {
				t.Errorf("panel %d %q has no query", p.ID, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %d %q: query %s is empty", p.ID, p.Title, tg.RefID)
				}
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %d %q: refId %q is empty or repeated", p.ID, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				checkDatasource(t, p, tg.Datasource, "prometheus", "${"+VarDatasource+"}")
			}
		case "flamegraph":
			flamegraphs++
			if len(p.Targets) != 1 {
				t.Fatalf("flame graph %d has %d queries, want 1", p.ID, len(p.Targets))
			}
			tg := p.Targets[0]
			if !strings.Contains(tg.LabelSelector, "$"+VarService) || tg.ProfileTypeID == "" {
				t.Errorf("flame graph %d: selector %q (want one on $%s), profile type %q",
					p.ID, tg.LabelSelector, VarService, tg.ProfileTypeID)
			}
			checkDatasource(t, p, tg.Datasource, "grafana-pyroscope-datasource", "${"+VarPyroscope+"}")
		default:
			t.Errorf("panel %d %q has type %q", p.ID, p.Title, p.Type)
		}
		if p.Description == "" {
			t.Errorf("panel %d %q has no description", p.ID, p.Title)
		}
	}
	if flamegraphs != 1 {
		t.Errorf("%d flame graph panels, want 1", flamegraphs)
	}
}

func checkDatasource(t *testing.T, p jsonPanel, target *jsonDS, typ, uid string) {
	t.Helper()
	for _, ds := range []*jsonDS{p.Datasource, target} {
		if ds == nil || ds.Type != typ || ds.UID != uid {
			t.Errorf("panel %d %q: data source %+v, want type %s uid %s", p.ID, p.Title, ds, typ, uid)
		}
	}
}

// Panels lie on Grafana's 24-column grid without overlapping.
func TestOverviewLayout(t *testing.T) {
	ps := allPanels(overviewJSON(t))
	for i, p := range ps {
		g := p.GridPos
		if g.W == 0 || g.H == 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: grid position %+v", p.ID, p.Title, g)
		}
		for _, q := range ps[:i] {
			o := q.GridPos
			if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
				t.Errorf("panels %d %q and %d %q overlap: %+v, %+v", q.ID, q.Title, p.ID, p.Title, o, g)
			}
		}
	}
}

// configMetrics returns every metric name of c's Metrics and Runtime.
func configMetrics(c Config) []string {
	m, r := c.Metrics, c.Runtime
	return []string{
		m.Operations, m.Entries, m.DirtyEntries, m.ReadMisses, m.Promotions, m.IteratorCancellations,
		m.BackpressureRejections, m.SnapshotsActive, m.SnapshotDuration, m.IterationDuration, m.OperationDuration,
		r.MemoryUsed, r.GCGoal, r.Allocated, r.Goroutines, r.ScheduleDuration,
	}
}

func TestOverviewShowsEveryMetric(t *testing.T) {
	d := overviewJSON(t)
	var all strings.Builder
	for _, q := range overviewQueries(t, d) {
		all.WriteString(q.expr + "\n")
	}
	for _, name := range configMetrics(Default()) {
		if !regexp.MustCompile(`\b` + name + `(_bucket)?\{`).MatchString(all.String()) {
			t.Errorf("no panel queries %s", name)
		}
	}
}

func TestOverviewVariablesAndAlertAnnotation(t *testing.T) {
	d := overviewJSON(t)
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
	}
	want := []string{VarDatasource, VarPyroscope, VarJob, VarInstance, VarName, VarService}
	if !slices.Equal(names, want) {
		t.Errorf("variables %v, want %v", names, want)
	}
	for _, v := range d.Templating.List {
		if v.Name != VarService {
			continue
		}
		q, _ := v.Query.(map[string]any)
		if v.Datasource == nil || v.Datasource.UID != "${"+VarPyroscope+"}" ||
			q["type"] != "labelValue" || q["labelName"] != Default().Dashboard.PyroscopeServiceLabel {
			t.Errorf("variable %s: %+v on %+v, want the label values of %s in Pyroscope",
				VarService, v.Query, v.Datasource, Default().Dashboard.PyroscopeServiceLabel)
		}
	}
	found := false
	for _, a := range d.Annotations.List {
		if strings.HasPrefix(a.Expr, "ALERTS{") && strings.Contains(a.Expr, `alertstate="firing"`) &&
			strings.Contains(a.Expr, "$"+VarName) {
			found = true
			if a.Datasource == nil || a.Datasource.UID != "${"+VarDatasource+"}" {
				t.Errorf("alert annotation data source %+v", a.Datasource)
			}
		}
	}
	if !found {
		t.Error("no annotation shows the maps' firing ALERTS")
	}
}

// Every query of the dashboard, its variables replaced by sample values,
// is valid PromQL: promtool checks one recording rule per query.
func TestOverviewQueriesParse(t *testing.T) {
	queries := overviewQueries(t, overviewJSON(t))
	var rules []Rule
	for _, q := range queries {
		rules = append(rules, Rule{Record: q.name, Expr: substitute(t, q.expr)})
	}
	path := writeYAML(t, t.TempDir(), "queries.yaml", RuleFile{Groups: []RuleGroup{{Name: "overview", Rules: rules}}})
	out := runPromtool(t, "check", "rules", path)
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(rules)); !strings.Contains(out, want) {
		t.Errorf("promtool check rules: want %q in\n%s", want, out)
	}
}

// A panel of a rate (rate() or deriv() without a division) has a
// per-second unit.
func TestRatePanelsArePerSecond(t *testing.T) {
	perSecond := map[string]bool{"ops": true, "reqps": true, "rps": true, "wps": true, "cps": true, "Bps": true}
	var raw struct {
		Panels []struct {
			ID          int    `json:"id"`
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit string `json:"unit"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(generatedFile(t, OverviewPath), &raw); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range raw.Panels {
		for _, tg := range p.Targets {
			e := tg.Expr
			if strings.Contains(e, "histogram_quantile") || strings.Contains(e, " / ") ||
				!strings.Contains(e, "rate(") && !strings.Contains(e, "deriv(") {
				continue
			}
			checked++
			if !perSecond[p.FieldConfig.Defaults.Unit] {
				t.Errorf("panel %d %q shows a rate in unit %q", p.ID, p.Title, p.FieldConfig.Defaults.Unit)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d rate panels", checked)
	}
}
