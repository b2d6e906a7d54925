package dashboards

import (
	"bytes"
	"fmt"
	"slices"
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

// mapLabels are the labels that tell one map from another: GroupLabels.
func (c Config) mapLabels() []string {
	return append([]string(nil), c.GroupLabels...)
}

// processLabels are the labels of the process a map lives in: GroupLabels
// without Labels.Name.
func (c Config) processLabels() []string {
	var p []string
	for _, l := range c.GroupLabels {
		if l != c.Labels.Name {
			p = append(p, l)
		}
	}
	return p
}

// sel writes metric with the configured Selector and more matchers.
func (c Config) sel(metric string, more ...string) string {
	ms := more
	if c.Selector != "" {
		ms = append([]string{c.Selector}, more...)
	}
	if len(ms) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(ms, ", ") + "}"
}

// Validate reports a configuration the rules cannot be generated from.
func (c Config) Validate() error {
	if !slices.Contains(c.GroupLabels, c.Labels.Name) {
		return fmt.Errorf("dashboards: GroupLabels %v lack Labels.Name %q: the alerts would not tell maps apart",
			c.GroupLabels, c.Labels.Name)
	}
	for _, l := range []string{c.Labels.Job, c.Labels.Instance} {
		if !slices.Contains(c.GroupLabels, l) {
			return fmt.Errorf("dashboards: GroupLabels %v lack %q: maps of different processes would be summed",
				c.GroupLabels, l)
		}
	}
	if strings.ContainsAny(c.Selector, "{}") {
		return fmt.Errorf("dashboards: Selector %q: write the matchers without braces", c.Selector)
	}
	return nil
}

func (c Config) groupInterval() string {
	if c.Alerts.RuleGroupInterval == 0 {
		return ""
	}
	return promDuration(c.Alerts.RuleGroupInterval)
}

// AlertRules returns the alerting rules, one group.
func AlertRules(c Config) RuleFile {
	L, P := c.mapLabels(), c.processLabels()
	m, rt, a := c.Metrics, c.Runtime, c.Alerts
	S := func(metric string) string { return c.sel(metric) }
	rng := func(metric string, d time.Duration) string { return S(metric) + "[" + promDuration(d) + "]" }
	rate := func(metric string, d time.Duration, by []string) string {
		return sumBy(by, "rate("+rng(metric, d)+")")
	}
	sum := func(metric string) string { return sumBy(L, S(metric)) }
	num := promNumber
	secs := func(d time.Duration) string { return num(d.Seconds()) }
	dur := promDuration
	subquery := func(expr string, d time.Duration) string {
		return "(" + expr + ")[" + dur(d) + ":" + dur(a.SubqueryStep) + "]"
	}
	// the map, in the words of an annotation
	theMap := fmt.Sprintf("{{ $labels.%s }} ({{ $labels.%s }}, {{ $labels.%s }})",
		c.Labels.Name, c.Labels.Job, c.Labels.Instance)
	theProcess := fmt.Sprintf("{{ $labels.%s }} ({{ $labels.%s }})", c.Labels.Job, c.Labels.Instance)
	name := "{{ $labels." + c.Labels.Name + " }}"
	alert := func(name, severity string, hold time.Duration, expr, summary, description string) Rule {
		return Rule{
			Alert:  name,
			Expr:   expr,
			For:    dur(hold),
			Labels: map[string]string{"severity": severity},
			Annotations: map[string]string{
				"summary":     summary,
				"description": description,
				"runbook_url": c.RunbookURL + "#" + strings.ToLower(name),
			},
		}
	}
	on := func(labels []string) string { return "on (" + strings.Join(labels, ", ") + ")" }

	entriesFillingUp := func(f FillingUp, severity string) Rule {
		return alert("MapxEntriesFillingUp", severity, f.For,
			sum(m.Entries)+"\n  / "+sum(m.EntryLimit)+"\n> "+num(f.MinUsedFraction)+
				"\nand\n"+sumBy(L, "predict_linear("+rng(m.Entries, f.Window)+", "+secs(f.Horizon)+")")+
				"\n  >= "+sum(m.EntryLimit),
			"Map "+name+" is predicted to reach its entry limit within "+dur(f.Horizon),
			fmt.Sprintf("%s uses {{ $value | humanizePercentage }} of its limit (WithMaxEntries), and its growth "+
				"over the last %s reaches the limit within %s: then writes of new keys are refused.",
				theMap, dur(f.Window), dur(f.Horizon)))
	}
	memLimit := sumBy(P, S(rt.MemoryLimit))
	if a.MemoryBudgetBytes > 0 {
		b := num(a.MemoryBudgetBytes)
		memLimit = "(" + memLimit + " < " + b + " or " + on(P) + " (0 * " + sumBy(P, S(rt.MemoryUsed)) + " + " + b + "))"
	}
	memUsed := sumBy(P, S(rt.MemoryUsed))
	mc, cl, eg, dg, db := a.MemoryCritical, a.CrashLoop, a.EntriesGrowth, a.DirtyGrowth, a.DirtyBloat
	rm, ps, bp, sa, td, ma := a.ReadMissStorm, a.PromotionStorm, a.Backpressure, a.SnapshotAge, a.TargetDown, a.MapAbsent
	present := func(lookback time.Duration) string {
		return "group by (" + strings.Join(L, ", ") + ") (present_over_time(" + rng(m.Entries, lookback) + "))"
	}
	up := sumBy(P, S(m.Up))
	entriesBefore := sumBy(L, S(m.Entries)+" offset "+dur(eg.Compare))

	rules := []Rule{
		entriesFillingUp(a.LimitCritical, SeverityCritical),
		entriesFillingUp(a.LimitWarning, SeverityWarning),
		alert("MapxMemoryFillingUp", SeverityCritical, mc.For,
			sumBy(L, "deriv("+rng(m.Entries, mc.Window)+")")+" > 0"+
				"\nunless "+on(L)+" "+sum(m.EntryLimit)+
				"\nand "+on(P)+"\n(\n  "+memUsed+" / "+memLimit+" > "+num(mc.MinUsedFraction)+
				"\n  and\n  predict_linear("+subquery(memUsed, mc.Window)+", "+secs(mc.Horizon)+")"+
				"\n    >= "+memLimit+"\n)",
			"Memory of "+theProcess+" is predicted to run out within "+dur(mc.Horizon)+" while "+name+" grows",
			fmt.Sprintf("%s grows by {{ $value | humanize }} entries/s and has no entry limit, and the memory of "+
				"its process, over half its limit (GOMEMLIMIT or the configured budget), grows at a pace that "+
				"reaches the limit within %s: the process will thrash in the GC and then be killed.",
				theMap, dur(mc.Horizon))),
		alert("MapxLeakCrashLooping", SeverityCritical, cl.For,
			// max, not sum: every counter of the map resets at a restart.
			aggBy("max", L, "resets("+rng(m.Operations, cl.Window)+")")+" >= "+num(cl.MinRestarts)+
				"\nand\nmax_over_time("+subquery(sumBy(L, "deriv("+rng(m.Entries, cl.GrowthWindow)+")"), cl.Window)+
				") > "+num(cl.MinRate)+
				"\nand\n"+sumBy(L, "max_over_time("+rng(m.Entries, cl.Window)+")")+" > "+num(cl.MinEntries),
			"Process of "+name+" restarts again and again while the map grows",
			fmt.Sprintf("The counters of %s reset {{ $value }} times in the last %s (the process restarted), "+
				"and between restarts the map grew faster than %s entries/s to more than %s entries: "+
				"a leak is crash-looping the process (out of memory, restart, grow again).",
				theMap, dur(cl.Window), num(cl.MinRate), num(cl.MinEntries))),
		alert("MapxEntriesGrowing", SeverityWarning, eg.For,
			"(\n  "+sum(m.Entries)+"\n  - "+entriesBefore+"\n)"+
				"\n  / clamp_min("+entriesBefore+", 1)"+
				"\n> "+num(eg.MinGrowth)+
				"\nand\n"+sumBy(L, "deriv("+rng(m.Entries, eg.TrendWindow)+")")+" * "+secs(eg.Compare)+
				"\n  / clamp_min("+sum(m.Entries)+", 1)\n> "+num(eg.MinGrowth)+
				"\nand\n"+sum(m.Entries)+" > "+num(eg.MinEntries),
			"Map "+name+" keeps growing beyond its daily pattern",
			fmt.Sprintf("%s holds {{ $value | humanizePercentage }} more entries than %s ago, and its trend "+
				"over the last %s still rises by more than %s%% of its size per %s: keys are added and not deleted.",
				theMap, dur(eg.Compare), dur(eg.TrendWindow), num(eg.MinGrowth*100),
				dur(eg.Compare))),
		alert("MapxDirtyMapGrowing", SeverityWarning, dg.For,
			sumBy(L, "deriv("+rng(m.DirtyEntries, dg.Window)+")")+" > "+num(dg.MinRate)+
				"\nand\n"+sum(m.DirtyEntries)+" > "+num(dg.MinEntries)+
				"\nunless\n"+sum(m.DirtyEntries)+"\n  <= "+
				sumBy(L, "max_over_time("+rng(m.DirtyEntries, dg.PeakLookback)+" offset "+dur(dg.Window)+")")+
				// without a past to compare with, a churn's first rise looks like a leak
				"\nand "+on(L)+"\n"+sumBy(L, S(m.DirtyEntries)+" offset "+dur(dg.Window+dg.PeakLookback)),
			"Dirty map of "+name+" is growing steadily",
			fmt.Sprintf("The dirty map of %s has grown by {{ $value | humanize }} entries/s over the last %s "+
				"(threshold %s/s) beyond the most it held in the %s before: new keys arrive faster than "+
				"reads promote it, faster than a cache warms up.",
				theMap, dur(dg.Window), num(dg.MinRate), dur(dg.PeakLookback))),
		alert("MapxDirtyMapBloated", SeverityWarning, db.For,
			sum(m.DirtyEntries)+"\n  / clamp_min("+sum(m.Entries)+", 1)\n> "+num(db.MaxRatio)+
				"\nand\n"+sum(m.DirtyEntries)+" > "+num(db.MinEntries),
			"Dirty map of "+name+" is bloated with deleted entries",
			fmt.Sprintf("The dirty map of %s holds {{ $value | humanize }} entries per live entry (threshold %s) "+
				"and more than %s entries: most are deleted keys kept until the next promotion.",
				theMap, num(db.MaxRatio), num(db.MinEntries))),
		alert("MapxReadMissStorm", SeverityWarning, rm.For,
			rate(m.ReadMisses, rm.Window, L)+" > "+num(rm.MinRate)+
				"\nand\n"+rate(m.ReadMisses, rm.Window, L)+
				"\n  / "+rate(m.Operations, rm.Window, L)+"\n> "+num(rm.MinFraction),
			"Reads of "+name+" miss the read map",
			fmt.Sprintf("{{ $value | humanize }} reads/s of %s missed the read map over the last %s "+
				"(thresholds %s/s and %s%% of its operations): each miss takes the shard lock.",
				theMap, dur(rm.Window), num(rm.MinRate), num(rm.MinFraction*100))),
		alert("MapxPromotionStorm", SeverityWarning, ps.For,
			rate(m.Promotions, ps.Window, L)+" > "+num(ps.MinRate),
			"Dirty map of "+name+" is promoted too often",
			fmt.Sprintf("The dirty maps of %s were promoted {{ $value | humanize }} times/s over the last %s "+
				"(threshold %s/s): after each promotion the next insert copies the shard's read map.",
				theMap, dur(ps.Window), num(ps.MinRate))),
		alert("MapxBackpressureRejecting", SeverityWarning, bp.For,
			rate(m.BackpressureRejections, bp.Window, with(L, c.Labels.Reason))+" > "+num(bp.MinRate),
			"Admission control of "+name+" refuses writes ({{ $labels."+c.Labels.Reason+" }})",
			fmt.Sprintf("Admission control of %s refused {{ $value | humanize }} writes/s for the reason "+
				"{{ $labels.%s }} over the last %s (threshold %s/s): TryStore and StoreWait return ErrBackpressure.",
				theMap, c.Labels.Reason, dur(bp.Window), num(bp.MinRate))),
		alert("MapxSnapshotHeldOpen", SeverityWarning, sa.For,
			aggBy("max", L, S(m.SnapshotOldestAge))+" > "+secs(sa.MaxAge),
			"A snapshot of "+name+" has been open for more than "+dur(sa.MaxAge),
			fmt.Sprintf("The oldest open snapshot of %s was taken {{ $value | humanizeDuration }} ago "+
				"(threshold %s), far longer than an iteration takes: while it is open, every write keeps "+
				"the version it replaces.", theMap, dur(sa.MaxAge))),
		alert("MapxTargetDown", SeverityWarning, td.For,
			present(td.Lookback)+"\nand "+on(P)+"\n"+up+" == 0",
			"Map "+name+" stopped reporting: its target is down",
			fmt.Sprintf("%s reported within the last %s, and Prometheus cannot scrape its process %s now "+
				"(up == 0): none of its alerts can fire.", theMap, dur(td.Lookback), theProcess)),
		alert("MapxMetricsAbsent", SeverityWarning, ma.For,
			present(ma.Lookback)+"\nunless "+on(L)+"\n"+sumBy(L, S(m.Entries))+"\nand "+on(P)+"\n"+up+" > 0",
			"Map "+name+" stopped reporting while its process is up",
			fmt.Sprintf("%s reported within the last %s and has no %s series now, while its target is "+
				"scraped: the map was closed, renamed, or its instrumentation is gone.",
				theMap, dur(ma.Lookback), m.Entries)),
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
	rate := func(series string, by []string) string {
		return sumBy(by, "rate("+series+"["+w+"])")
	}
	p99 := func(metric string, by []string) string {
		return "histogram_quantile(0.99, " + rate(c.sel(metric+"_bucket"), with(by, "le")) + ")"
	}
	rec := func(metric, op, expr string) Rule {
		return Rule{Record: lb.Name + ":" + metric + ":" + op, Expr: expr}
	}
	base := func(counter string) string { return strings.TrimSuffix(counter, "_total") }
	S := func(metric string) string { return c.sel(metric) }
	loads := c.sel(m.Operations, lb.Operation+`="`+m.LoadOperation+`"`)
	hits := c.sel(m.Operations, lb.Operation+`="`+m.LoadOperation+`"`, lb.Result+`="`+m.HitResult+`"`)
	rules := []Rule{
		rec(base(m.Operations), "rate"+w, rate(S(m.Operations), with(L, lb.Operation, lb.Result))),
		rec(base(m.ReadMisses), "rate"+w, rate(S(m.ReadMisses), L)),
		rec(base(m.Promotions), "rate"+w, rate(S(m.Promotions), L)),
		rec(base(m.IteratorCancellations), "rate"+w, rate(S(m.IteratorCancellations), L)),
		rec(base(m.BackpressureRejections), "rate"+w, rate(S(m.BackpressureRejections), with(L, lb.Reason))),
		rec("mapx_load_hits_per_load", "ratio_rate"+w, rate(hits, L)+"\n/\n"+rate(loads, L)),
		rec("mapx_read_misses_per_promotion", "ratio_rate"+w, rate(S(m.ReadMisses), L)+"\n/\n("+rate(S(m.Promotions), L)+" > 0)"),
		rec("mapx_dirty_entries_per_entry", "ratio", sumBy(L, S(m.DirtyEntries))+"\n/\nclamp_min("+sumBy(L, S(m.Entries))+", 1)"),
		rec(m.DirtyEntries, "deriv"+promDuration(c.Alerts.DirtyGrowth.Window),
			sumBy(L, "deriv("+S(m.DirtyEntries)+"["+promDuration(c.Alerts.DirtyGrowth.Window)+"])")),
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
