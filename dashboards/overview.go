package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/grafanapyroscope"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The dashboard's template variables.
const (
	VarDatasource = "datasource" // the Prometheus data source
	VarPyroscope  = "pyroscope"  // the Pyroscope data source
	VarJob        = "job"
	VarInstance   = "instance"
	VarName       = "mapx_name"
	// VarService is the Pyroscope service of the flame graph: Pyroscope
	// names a service by its service_name (OTEL_SERVICE_NAME), which need
	// not be the Prometheus job.
	VarService = "service"
)

// rowSpec and panelSpec describe the overview's layout. IDs are written here,
// not counted, so that a panel keeps its ID (and its links) when panels are
// added or moved.
type rowSpec struct {
	id     uint32
	title  string
	panels []panelSpec
}

type panelSpec struct {
	id          uint32
	title       string
	description string
	unit        string
	width       uint32
	queries     []query
	min, max    *float64
	threshold   *float64 // drawn as a dashed red line: the alert's threshold
	flamegraph  bool     // a Pyroscope flame graph instead of PromQL queries
}

type query struct {
	expr, legend string
}

func ptr[T any](v T) *T { return &v }

// overviewRows returns the overview's rows and panels.
func overviewRows(c Config) []rowSpec {
	m, lb, rt, a := c.Metrics, c.Labels, c.Runtime, c.Alerts
	// The series of the maps chosen by the variables, with more matchers.
	sel := func(metric string, more ...string) string {
		ms := append([]string{
			fmt.Sprintf(`%s="$%s"`, lb.Job, VarJob),
			fmt.Sprintf(`%s=~"$%s"`, lb.Instance, VarInstance),
			fmt.Sprintf(`%s=~"$%s"`, lb.Name, VarName),
		}, more...)
		return metric + "{" + strings.Join(ms, ", ") + "}"
	}
	proc := func(metric string) string {
		return fmt.Sprintf(`%s{%s="$%s", %s=~"$%s"}`, metric, lb.Job, VarJob, lb.Instance, VarInstance)
	}
	eq := func(label, value string) string { return fmt.Sprintf(`%s="%s"`, label, value) }
	L := []string{lb.Instance, lb.Name} // the job is one, chosen by $job
	rate := func(series string, by []string) string {
		return sumBy(by, "rate("+series+"[$__rate_interval])")
	}
	p99 := func(metric string, by []string, more ...string) string {
		return "histogram_quantile(0.99, " + rate(sel(metric+"_bucket", more...), with(by, "le")) + ")"
	}
	mapLegend := "{{" + lb.Name + "}} {{" + lb.Instance + "}}"
	legendBy := func(label string) string { return "{{" + lb.Name + "}} {{" + label + "}} {{" + lb.Instance + "}}" }
	one := func(expr, legend string) []query { return []query{{expr, legend}} }
	growth := promDuration(a.DirtyGrowth.Window)

	return []rowSpec{
		{id: 100, title: "Operations", panels: []panelSpec{
			{id: 1, title: "Operations/s by operation", unit: "ops", width: 8,
				description: "Operations on the map through package instrumented, by operation and result.",
				queries: one(rate(sel(m.Operations), with(L, lb.Operation, lb.Result)),
					"{{"+lb.Name+"}} {{"+lb.Operation+"}} {{"+lb.Result+"}} {{"+lb.Instance+"}}")},
			{id: 2, title: "Load hit ratio", unit: "percentunit", width: 8, min: ptr(0.0), max: ptr(1.0),
				description: "The share of Loads that found their key.",
				queries: one(rate(sel(m.Operations, eq(lb.Operation, m.LoadOperation), eq(lb.Result, m.HitResult)), L)+
					" / "+rate(sel(m.Operations, eq(lb.Operation, m.LoadOperation)), L), mapLegend)},
			{id: 3, title: "Sampled operation latency p99", unit: "s", width: 8,
				description: "99th percentile of the operations that package instrumented times: about one in " +
					"DefaultDurationSampling (1024) by default.",
				queries: one(p99(m.OperationDuration, with(L, lb.Operation)), legendBy(lb.Operation))},
		}},
		{id: 200, title: "Entries and the dirty map", panels: []panelSpec{
			{id: 4, title: "Entries and their limit", unit: "short", width: 6,
				description: "Live entries of the map, and its cap (WithMaxEntries) when it has one: " +
					"MapxEntriesFillingUp predicts when the first reaches the second.",
				queries: []query{
					{sumBy(L, sel(m.Entries)), mapLegend},
					{sumBy(L, sel(m.EntryLimit)), "limit " + mapLegend},
				}},
			{id: 5, title: "Dirty-map entries", unit: "short", width: 6,
				description: "Entries in the shards' dirty maps, deleted ones included. It drops to zero when " +
					"reads promote the dirty maps to read maps.",
				queries: one(sumBy(L, sel(m.DirtyEntries)), mapLegend)},
			{id: 6, title: "Dirty-map growth rate", unit: "cps", width: 6,
				threshold: ptr(a.DirtyGrowth.MinRate),
				description: "Entries/s the dirty map grew by, over the window of the MapxDirtyMapGrowing " +
					"alert (" + growth + "); the red line is its threshold.",
				queries: one(sumBy(L, "deriv("+sel(m.DirtyEntries)+"["+growth+"])"), mapLegend)},
			{id: 7, title: "Dirty entries per live entry", unit: "short", width: 6,
				threshold: ptr(a.DirtyBloat.MaxRatio),
				description: "Dirty-map entries per live entry. Above 1 the dirty map keeps deleted keys; the " +
					"red line is the MapxDirtyMapBloated threshold.",
				queries: one(sumBy(L, sel(m.DirtyEntries))+" / clamp_min("+sumBy(L, sel(m.Entries))+", 1)", mapLegend)},
		}},
		{id: 300, title: "Read path", panels: []panelSpec{
			{id: 8, title: "Read misses/s", unit: "rps", width: 8,
				threshold:   ptr(a.ReadMissStorm.MinRate),
				description: "Reads that missed the read map and took a shard lock.",
				queries:     one(rate(sel(m.ReadMisses), L), mapLegend)},
			{id: 9, title: "Dirty-map promotions/s", unit: "cps", width: 8,
				threshold:   ptr(a.PromotionStorm.MinRate),
				description: "Dirty maps promoted to read maps.",
				queries:     one(rate(sel(m.Promotions), L), mapLegend)},
			{id: 10, title: "Read misses per promotion", unit: "short", width: 8,
				description: "A shard promotes its dirty map once its misses reach the dirty map's size, so " +
					"this is about the size of the dirty maps promoted. Empty while nothing is promoted.",
				queries: one(rate(sel(m.ReadMisses), L)+" / ("+rate(sel(m.Promotions), L)+" > 0)", mapLegend)},
		}},
		{id: 400, title: "Iteration, snapshots and admission control", panels: []panelSpec{
			{id: 11, title: "Iterator cancellations/s", unit: "cps", width: 8,
				description: "Iterations stopped because their context was done.",
				queries:     one(rate(sel(m.IteratorCancellations), L), mapLegend)},
			{id: 12, title: "Backpressure rejections/s by reason", unit: "wps", width: 8,
				threshold:   ptr(a.Backpressure.MinRate),
				description: "Writes (TryStore, StoreWait) refused by admission control, by reason.",
				queries:     one(rate(sel(m.BackpressureRejections), with(L, lb.Reason)), legendBy(lb.Reason))},
			{id: 13, title: "Active snapshots", unit: "short", width: 8,
				description: "Snapshots not yet closed or collected.",
				queries:     one(sumBy(L, sel(m.SnapshotsActive)), mapLegend)},
			{id: 21, title: "Oldest open snapshot age", unit: "s", width: 8,
				threshold: ptr(a.SnapshotAge.MaxAge.Seconds()),
				description: "Age of the map's oldest open snapshot (0 with none); the red line is the " +
					"MapxSnapshotHeldOpen threshold. A saw-tooth is snapshots closed in time; a straight " +
					"climb is one left open.",
				queries: one(aggBy("max", L, sel(m.SnapshotOldestAge)), mapLegend)},
			{id: 14, title: "Snapshot duration p99", unit: "s", width: 8,
				description: "99th percentile of the time taking a snapshot took.",
				queries:     one(p99(m.SnapshotDuration, L), mapLegend)},
			{id: 15, title: "Iteration duration p99 by outcome", unit: "s", width: 8,
				description: "99th percentile of iterations of the map and its snapshots, by outcome.",
				queries:     one(p99(m.IterationDuration, with(L, lb.Outcome)), legendBy(lb.Outcome))},
		}},
		{id: 500, title: "Go runtime", panels: []panelSpec{
			{id: 16, title: "Memory used and GC goal", unit: "bytes", width: 6,
				description: "Memory used by the Go runtime, by type, and the heap size the GC aims at.",
				queries: []query{
					{sumBy([]string{lb.Instance, rt.MemoryTypeLabel}, proc(rt.MemoryUsed)),
						"{{" + rt.MemoryTypeLabel + "}} {{" + lb.Instance + "}}"},
					{sumBy([]string{lb.Instance}, proc(rt.GCGoal)), "GC goal {{" + lb.Instance + "}}"},
				}},
			{id: 17, title: "Heap allocation rate", unit: "Bps", width: 6,
				description: "Bytes allocated on the heap per second: what drives the GC.",
				queries:     one(rate(proc(rt.Allocated), []string{lb.Instance}), "{{"+lb.Instance+"}}")},
			{id: 18, title: "Scheduling latency p99 (GC pauses included)", unit: "s", width: 6,
				description: "99th percentile of the time runnable goroutines waited to run; GC " +
					"stop-the-world pauses add to it. Exported only when the program passes " +
					"runtime.NewProducer() to the Prometheus exporter.",
				queries: one("histogram_quantile(0.99, "+rate(proc(rt.ScheduleDuration+"_bucket"),
					[]string{lb.Instance, "le"})+")", "{{"+lb.Instance+"}}")},
			{id: 19, title: "Goroutines", unit: "short", width: 6,
				description: "Live goroutines.",
				queries:     one(sumBy([]string{lb.Instance}, proc(rt.Goroutines)), "{{"+lb.Instance+"}}")},
		}},
		{id: 600, title: "Profiles", panels: []panelSpec{
			{id: 20, title: "CPU flame graph", width: 24, flamegraph: true,
				description: "CPU profile from Pyroscope of the service chosen in \"Profiles of\" (its " +
					c.Dashboard.PyroscopeServiceLabel + ", OTEL_SERVICE_NAME, which need not be the job). " +
					"Long map operations run under the pprof labels mapx.name and mapx.operation."},
		}},
	}
}

// Overview returns the overview dashboard, in Grafana's classic JSON model.
//
//lint:ignore SA1019 the classic model imports into every Grafana; dashboardv2 needs Grafana 12 with feature flags.
func Overview(c Config) (dashboard.Dashboard, error) {
	prom := common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${" + VarDatasource + "}")}
	pyro := common.DataSourceRef{Type: ptr("grafana-pyroscope-datasource"), Uid: ptr("${" + VarPyroscope + "}")}
	lb := c.Labels

	//lint:ignore SA1019 the classic JSON model imports into every Grafana; dashboardv2 needs Grafana 12 with feature flags.
	b := dashboard.NewDashboardBuilder(c.Dashboard.Title).
		Uid(c.Dashboard.UID).
		Description("A mapx map's operations, read/dirty internals, snapshots, admission control and Go runtime.").
		Tags(c.Dashboard.Tags).
		Editable().
		Refresh("30s").
		Time("now-1h", "now").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Runbook").
			Type(dashboard.DashboardLinkTypeLink).
			Url(c.RunbookURL).
			Icon("doc").
			TargetBlank(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarDatasource).
			Label("Prometheus").
			Type("prometheus")).
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarPyroscope).
			Label("Pyroscope").
			Type("grafana-pyroscope-datasource")).
		WithVariable(labelVariable(prom, VarJob, "Service (job)",
			fmt.Sprintf("label_values(%s, %s)", c.Metrics.Entries, lb.Job), false)).
		WithVariable(labelVariable(prom, VarInstance, "Instance",
			fmt.Sprintf(`label_values(%s{%s="$%s"}, %s)`, c.Metrics.Entries, lb.Job, VarJob, lb.Instance), true)).
		WithVariable(labelVariable(prom, VarName, "Map (mapx_name)",
			fmt.Sprintf(`label_values(%s{%s="$%s", %s=~"$%s"}, %s)`,
				c.Metrics.Entries, lb.Job, VarJob, lb.Instance, VarInstance, lb.Name), true)).
		WithVariable(serviceVariable(c, pyro)).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Annotations & Alerts").
			Datasource(common.DataSourceRef{Type: ptr("grafana"), Uid: ptr("-- Grafana --")}).
			Type("dashboard").
			BuiltIn(1).
			Enable(true).
			Hide(true).
			IconColor("rgba(0, 211, 255, 1)")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("mapx alerts").
			Datasource(prom).
			Enable(true).
			IconColor("red").
			Expr(alertsAnnotationExpr(c)).
			Step("30s").
			TitleFormat("{{alertname}}").
			TextFormat("{{severity}}: {{" + lb.Name + "}} on {{" + lb.Instance + "}}").
			TagKeys("alertname,severity," + lb.Name).
			UseValueForTime(false))

	for _, row := range overviewRows(c) {
		b.WithRow(dashboard.NewRowBuilder(row.title).Id(row.id))
		for _, p := range row.panels {
			if p.flamegraph {
				b.WithPanel(flamegraphPanel(c, p, pyro))
			} else {
				b.WithPanel(timeseriesPanel(p, prom))
			}
		}
	}
	return b.Build()
}

// alertsAnnotationExpr selects the firing alerts of the maps on the
// dashboard.
func alertsAnnotationExpr(c Config) string {
	lb := c.Labels
	return fmt.Sprintf(`ALERTS{alertstate="firing", %s="$%s", %s=~"$%s", %s=~"$%s"}`,
		lb.Job, VarJob, lb.Instance, VarInstance, lb.Name, VarName)
}

func labelVariable(ds common.DataSourceRef, name, label, q string, multi bool) cog.Builder[dashboard.VariableModel] {
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(ds).
		Query(dashboard.StringOrMap{String: ptr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return v
}

func timeseriesPanel(p panelSpec, ds common.DataSourceRef) cog.Builder[dashboard.Panel] {
	b := timeseries.NewPanelBuilder().
		Id(p.id).
		Title(p.title).
		Description(p.description).
		Datasource(ds).
		Unit(p.unit).
		Span(p.width).
		Height(8).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone))
	if p.min != nil {
		b.Min(*p.min)
	}
	if p.max != nil {
		b.Max(*p.max)
	}
	steps := []dashboard.Threshold{{Value: nil, Color: "green"}}
	if p.threshold != nil {
		steps = append(steps, dashboard.Threshold{Value: p.threshold, Color: "red"})
		b.ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	}
	b.Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps))
	for i, q := range p.queries {
		b.WithTarget(prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Datasource(ds).
			Expr(q.expr).
			LegendFormat(q.legend).
			Range())
	}
	return b
}

// serviceVariable lists the services Pyroscope has profiles of.
func serviceVariable(c Config, ds common.DataSourceRef) cog.Builder[dashboard.VariableModel] {
	return dashboard.NewQueryVariableBuilder(VarService).
		Label("Profiles of (" + c.Dashboard.PyroscopeServiceLabel + ")").
		Datasource(ds).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"refId":         "PyroscopeVariableQueryEditor-VariableQuery",
			"type":          "labelValue",
			"labelName":     c.Dashboard.PyroscopeServiceLabel,
			"profileTypeId": c.Dashboard.PyroscopeProfileType,
		}}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

func flamegraphPanel(c Config, p panelSpec, ds common.DataSourceRef) cog.Builder[dashboard.Panel] {
	selector := fmt.Sprintf(`{%s="$%s"}`, c.Dashboard.PyroscopeServiceLabel, VarService)
	return dashboard.NewPanelBuilder().
		Type("flamegraph").
		Id(p.id).
		Title(p.title).
		Description(p.description).
		Datasource(ds).
		Span(p.width).
		Height(14).
		WithTarget(grafanapyroscope.NewDataqueryBuilder().
			RefId("A").
			Datasource(ds).
			QueryType(string(grafanapyroscope.PyroscopeQueryTypeProfile)).
			ProfileTypeId(c.Dashboard.PyroscopeProfileType).
			LabelSelector(selector).
			GroupBy([]string{}))
}
