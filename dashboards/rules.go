package dashboards

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// A RuleGroup is a group of a rule file.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// A Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// The alerts' severities.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// mapLabels are the labels that tell one map from another: a map lives in
// one process (job and instance) and has a name.
func (c Config) mapLabels() []string {
	return []string{c.Labels.Job, c.Labels.Instance, c.Labels.Name}
}

func (c Config) groupInterval() string {
	if c.Alerts.RuleGroupInterval == 0 {
		return ""
	}
	return promDuration(c.Alerts.RuleGroupInterval)
}

// AlertRules returns the alerting rules, one group.
func AlertRules(c Config) RuleFile {
	L := c.mapLabels()
	m, a := c.Metrics, c.Alerts
	rng := func(metric string, d time.Duration) string { return metric + "[" + promDuration(d) + "]" }
	rate := func(metric string, d time.Duration, by []string) string {
		return sumBy(by, "rate("+rng(metric, d)+")")
	}
	sum := func(metric string) string { return sumBy(L, metric) }
	num := promNumber
	// the map, in the words of an annotation
	theMap := fmt.Sprintf("{{ $labels.%s }} ({{ $labels.%s }}, {{ $labels.%s }})",
		c.Labels.Name, c.Labels.Job, c.Labels.Instance)
	name := "{{ $labels." + c.Labels.Name + " }}"
	alert := func(name, severity string, hold time.Duration, expr, summary, description string) Rule {
		return Rule{
			Alert:  name,
			Expr:   expr,
			For:    promDuration(hold),
			Labels: map[string]string{"severity": severity},
			Annotations: map[string]string{
				"summary":     summary,
				"description": description,
				"runbook_url": c.RunbookURL + "#" + strings.ToLower(name),
			},
		}
	}
	// growing is the expression of a Growth alert on metric; grown says so.
	growing := func(metric string, g Growth) string {
		return sumBy(L, "deriv("+rng(metric, g.Window)+")") + " > " + num(g.MinRate) +
			"\nand\n" + sum(metric) + " > " + num(g.MinEntries)
	}
	grown := func(g Growth) string {
		return fmt.Sprintf("has grown by {{ $value | humanize }} entries/s over the last %s (threshold %s/s) "+
			"and holds more than %s entries", promDuration(g.Window), num(g.MinRate), num(g.MinEntries))
	}
	dg, db, dh, el := a.DirtyGrowth, a.DirtyBloat, a.DirtyHuge, a.EntriesLeak
	rm, ps, bp, so := a.ReadMissStorm, a.PromotionStorm, a.Backpressure, a.SnapshotsOpen
	rules := []Rule{
		alert("MapxDirtyMapGrowing", SeverityWarning, dg.For, growing(m.DirtyEntries, dg),
			"Dirty map of "+name+" is growing steadily",
			"The dirty map of "+theMap+" "+grown(dg)+": new keys arrive faster than reads promote it."),
		alert("MapxDirtyMapBloated", SeverityCritical, db.For,
			sum(m.DirtyEntries)+"\n  / clamp_min("+sum(m.Entries)+", 1)\n> "+num(db.MaxRatio)+
				"\nand\n"+sum(m.DirtyEntries)+" > "+num(db.MinEntries),
			"Dirty map of "+name+" is bloated with deleted entries",
			fmt.Sprintf("The dirty map of %s holds {{ $value | humanize }} entries per live entry (threshold %s) "+
				"and more than %s entries: most are deleted keys kept until the next promotion.",
				theMap, num(db.MaxRatio), num(db.MinEntries))),
		alert("MapxDirtyMapHuge", SeverityCritical, dh.For,
			sum(m.DirtyEntries)+" > "+num(dh.MaxEntries),
			"Dirty map of "+name+" holds more than "+num(dh.MaxEntries)+" entries",
			fmt.Sprintf("The dirty map of %s holds {{ $value | humanize }} entries (threshold %s): "+
				"the map needs about twice the memory of its entries until reads promote it.",
				theMap, num(dh.MaxEntries))),
		alert("MapxEntriesGrowingUnbounded", SeverityWarning, el.For, growing(m.Entries, el),
			"Map "+name+" grows without bound",
			theMap+" "+grown(el)+": keys are added and not deleted."),
		alert("MapxReadMissStorm", SeverityWarning, rm.For,
			rate(m.ReadMisses, rm.Window, L)+" > "+num(rm.MinRate)+
				"\nand\n"+rate(m.ReadMisses, rm.Window, L)+
				"\n  / "+rate(m.Operations, rm.Window, L)+"\n> "+num(rm.MinFraction),
			"Reads of "+name+" miss the read map",
			fmt.Sprintf("{{ $value | humanize }} reads/s of %s missed the read map over the last %s "+
				"(thresholds %s/s and %s%% of its operations): each miss takes the shard lock.",
				theMap, promDuration(rm.Window), num(rm.MinRate), num(rm.MinFraction*100))),
		alert("MapxPromotionStorm", SeverityWarning, ps.For,
			rate(m.Promotions, ps.Window, L)+" > "+num(ps.MinRate),
			"Dirty map of "+name+" is promoted too often",
			fmt.Sprintf("The dirty maps of %s were promoted {{ $value | humanize }} times/s over the last %s "+
				"(threshold %s/s): after each promotion the next insert copies the shard's read map.",
				theMap, promDuration(ps.Window), num(ps.MinRate))),
		alert("MapxBackpressureRejecting", SeverityWarning, bp.For,
			rate(m.BackpressureRejections, bp.Window, with(L, c.Labels.Reason))+" > "+num(bp.MinRate),
			"Admission control of "+name+" refuses writes ({{ $labels."+c.Labels.Reason+" }})",
			fmt.Sprintf("Admission control of %s refused {{ $value | humanize }} writes/s for the reason "+
				"{{ $labels.%s }} over the last %s (threshold %s/s): TryStore and StoreWait return ErrBackpressure.",
				theMap, c.Labels.Reason, promDuration(bp.Window), num(bp.MinRate))),
		alert("MapxSnapshotsLeftOpen", SeverityWarning, so.For,
			sumBy(L, "min_over_time("+rng(m.SnapshotsActive, so.Window)+")")+" >= "+num(so.MinOpen),
			"Snapshots of "+name+" are left open",
			fmt.Sprintf("{{ $value | humanize }} snapshots of %s have been open at every scrape for %s "+
				"(threshold %s): while one is open, writes keep every version they replace.",
				theMap, promDuration(so.For), num(so.MinOpen))),
	}
	return RuleFile{Groups: []RuleGroup{{Name: "mapx.alerts", Interval: c.groupInterval(), Rules: rules}}}
}

// RecordingRules returns the recording rules, named level:metric:operations
// after Prometheus's convention; the level is the map (job, instance and
// mapx_name, plus the labels the metric is split by).
func RecordingRules(c Config) RuleFile {
	L := c.mapLabels()
	m, lb := c.Metrics, c.Labels
	w := promDuration(c.Alerts.RecordingWindow)
	rate := func(metric string, by []string) string {
		return sumBy(by, "rate("+metric+"["+w+"])")
	}
	p99 := func(metric string, by []string) string {
		return "histogram_quantile(0.99, " + rate(metric+"_bucket", with(by, "le")) + ")"
	}
	rec := func(metric, op, expr string) Rule {
		return Rule{Record: lb.Name + ":" + metric + ":" + op, Expr: expr}
	}
	base := func(counter string) string { return strings.TrimSuffix(counter, "_total") }
	loads := m.Operations + `{` + lb.Operation + `="` + m.LoadOperation + `"}`
	hits := m.Operations + `{` + lb.Operation + `="` + m.LoadOperation + `", ` + lb.Result + `="` + m.HitResult + `"}`
	rules := []Rule{
		rec(base(m.Operations), "rate"+w, rate(m.Operations, with(L, lb.Operation, lb.Result))),
		rec(base(m.ReadMisses), "rate"+w, rate(m.ReadMisses, L)),
		rec(base(m.Promotions), "rate"+w, rate(m.Promotions, L)),
		rec(base(m.IteratorCancellations), "rate"+w, rate(m.IteratorCancellations, L)),
		rec(base(m.BackpressureRejections), "rate"+w, rate(m.BackpressureRejections, with(L, lb.Reason))),
		rec("mapx_load_hits_per_load", "ratio_rate"+w, rate(hits, L)+"\n/\n"+rate(loads, L)),
		rec("mapx_read_misses_per_promotion", "ratio_rate"+w, rate(m.ReadMisses, L)+"\n/\n("+rate(m.Promotions, L)+" > 0)"),
		rec("mapx_dirty_entries_per_entry", "ratio", sumBy(L, m.DirtyEntries)+"\n/\nclamp_min("+sumBy(L, m.Entries)+", 1)"),
		rec(m.DirtyEntries, "deriv"+promDuration(c.Alerts.DirtyGrowth.Window),
			sumBy(L, "deriv("+m.DirtyEntries+"["+promDuration(c.Alerts.DirtyGrowth.Window)+"])")),
		rec(m.OperationDuration, "p99_rate"+w, p99(m.OperationDuration, with(L, lb.Operation))),
		rec(m.SnapshotDuration, "p99_rate"+w, p99(m.SnapshotDuration, L)),
		rec(m.IterationDuration, "p99_rate"+w, p99(m.IterationDuration, with(L, lb.Outcome))),
	}
	return RuleFile{Groups: []RuleGroup{{Name: "mapx.recording", Interval: c.groupInterval(), Rules: rules}}}
}

// generatedYAMLHeader starts every generated rule file.
const generatedYAMLHeader = "# Code generated by `go run ./cmd/gen` in dashboards/ from config.go. DO NOT EDIT.\n"

// YAML returns the rule file as YAML.
func (f RuleFile) YAML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(generatedYAMLHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
