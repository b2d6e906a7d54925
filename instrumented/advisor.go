package instrumented

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Severity ranks a [Finding].
type Severity string

// The severities, from least to most urgent.
const (
	SeverityOK       Severity = "ok"       // the map suits its workload
	SeverityInfo     Severity = "info"     // worth knowing, nothing to fix now
	SeverityWarning  Severity = "warning"  // fix it before it hurts
	SeverityCritical Severity = "critical" // it will hurt soon
)

func (s Severity) rank() int {
	return slices.Index([]Severity{SeverityOK, SeverityInfo, SeverityWarning, SeverityCritical}, s)
}

// The kinds of [Finding]; each is a section of docs/advisor.md.
const (
	FindingHealthy       = "healthy"
	FindingReadMostly    = "healthy-read-mostly"
	FindingChurn         = "churn"
	FindingGrowth        = "growth"
	FindingDirtyBloat    = "dirty-bloat"
	FindingBackpressure  = "backpressure"
	FindingSnapshotOpen  = "snapshot-left-open"
	FindingTooManyShards = "too-many-shards"
)

// RunbookURL is where the findings' runbook sections are; a finding's
// Runbook is RunbookURL#kind.
const RunbookURL = "https://github.com/mapx-dev/mapx/blob/main/docs/advisor.md"

// A Finding is one verdict of the advisor on a map.
type Finding struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Verdict  string   `json:"verdict"` // one line, plain language
	Numbers  []Number `json:"numbers"` // the figures behind the verdict
	Runbook  string   `json:"runbook"` // the runbook section's URL
}

// A Number is one figure behind a finding.
type Number struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Limits are what a map's growth is measured against; zero means unknown.
type Limits struct {
	// MaxEntries is the map's WithMaxEntries cap; 0 means the cap its
	// history recorded (Sample.EntryLimit), if any.
	MaxEntries int64
	// MemoryLimit is the process's memory limit in bytes (GOMEMLIMIT,
	// debug.SetMemoryLimit).
	MemoryLimit int64
}

// Thresholds are the advisor's. Where an alert rule of the dashboards
// module judges the same thing, the threshold is that rule's (named on each
// field); the advisor needs no for: duration, as it reads a window of
// history at once. docs/advisor.md explains each.
type Thresholds struct {
	// Window is the history the advisor reads: the newest samples within it.
	Window time.Duration
	// MinSpan is the least history it judges from.
	MinSpan time.Duration

	// Read-mostly: at least ReadMostlyLoads of the operations are loads and
	// at most HealthyMissesPerLoad of the loads miss the read map.
	ReadMostlyLoads      float64
	HealthyMissesPerLoad float64

	// Churn: at least ChurnMissRate read misses/s (MapxReadMissStorm's
	// MinRate), at least ChurnMissesPerLoad misses per load (most loads
	// miss), and at least ChurnPromotionRate promotions/s.
	ChurnMissRate      float64
	ChurnMissesPerLoad float64
	ChurnPromotionRate float64

	// Growth: entries rise by at least GrowthMinRate entries/s
	// (MapxEntriesGrowingUnbounded's MinRate) and by GrowthMinFraction of
	// their size over the window, still at GrowthMinRate over the newest
	// GrowthRecent, on a map of at least GrowthMinEntries (the rules'
	// MinEntries); not on a map at its MaxEntries limit, where the
	// backpressure finding says what happens. Or the dirty map does so at
	// DirtyGrowthMinRate
	// (MapxDirtyMapGrowing's MinRate). Critical when the entry limit or
	// the memory limit is reached within GrowthCriticalWithin at that rate.
	GrowthMinRate        float64
	GrowthMinFraction    float64
	GrowthRecent         time.Duration
	GrowthMinEntries     int64
	DirtyGrowthMinRate   float64
	GrowthCriticalWithin time.Duration

	// Dirty bloat: the median over the window of dirty entries per live
	// entry is above DirtyBloatRatio with at least DirtyBloatMinEntries
	// dirty entries (MapxDirtyMapBloated's MaxRatio and MinEntries).
	DirtyBloatRatio      float64
	DirtyBloatMinEntries int64

	// Backpressure: at least BackpressureMinRate refusals/s
	// (MapxBackpressureRejecting's MinRate) and at least
	// BackpressureMinShare of TryStore and StoreWait calls refused.
	BackpressureMinRate  float64
	BackpressureMinShare float64

	// Snapshot left open: at the newest sample, the oldest open snapshot
	// has been open for SnapshotOpenFor (Sample.OldestSnapshotAge, the age
	// MapxSnapshotHeldOpen alerts on above its MaxAge, 1h; the page warns
	// earlier).
	SnapshotOpenFor time.Duration

	// Too many shards: at least ShardsMin shards holding fewer than
	// ShardsMinEntriesPerShard entries each on average.
	ShardsMin                int64
	ShardsMinEntriesPerShard float64
}

// DefaultThresholds are the advisor's defaults.
var DefaultThresholds = Thresholds{
	Window:  5 * time.Minute,
	MinSpan: 5 * time.Second,

	ReadMostlyLoads:      0.9,
	HealthyMissesPerLoad: 0.01,

	ChurnMissRate:      1000,
	ChurnMissesPerLoad: 0.5,
	ChurnPromotionRate: 1,

	GrowthMinRate:        1,
	GrowthMinFraction:    0.05,
	GrowthRecent:         15 * time.Second,
	GrowthMinEntries:     10000,
	DirtyGrowthMinRate:   100,
	GrowthCriticalWithin: 4 * time.Hour,

	DirtyBloatRatio:      2,
	DirtyBloatMinEntries: 10000,

	BackpressureMinRate:  1,
	BackpressureMinShare: 0.01,

	SnapshotOpenFor: 5 * time.Minute,

	ShardsMin:                16,
	ShardsMinEntriesPerShard: 4,
}

// Advise is [Thresholds.Advise] with [DefaultThresholds].
func Advise(h History, lim Limits) []Finding { return DefaultThresholds.Advise(h, lim) }

// Advise returns the findings on a map's history, most urgent first: a
// healthy verdict when nothing is wrong, none while the history spans less
// than MinSpan.
func (th Thresholds) Advise(h History, lim Limits) []Finding {
	s := h.Samples
	if len(s) < 2 {
		return nil
	}
	last := s[len(s)-1]
	first := slices.IndexFunc(s, func(x Sample) bool { return last.Time.Sub(x.Time) <= th.Window })
	s = s[first:]
	span := last.Time.Sub(s[0].Time)
	if span < th.MinSpan {
		return nil
	}
	w := window{s: s, secs: span.Seconds()}
	var out []Finding
	add := func(f Finding) {
		f.Runbook = RunbookURL + "#" + f.Kind
		out = append(out, f)
	}
	if f, ok := th.growth(w, h, lim); ok {
		add(f)
	}
	if f, ok := th.backpressure(w); ok {
		add(f)
	}
	if f, ok := th.snapshotOpen(last); ok {
		add(f)
	}
	if h.Kind == "mapx" {
		if f, ok := th.churn(w); ok {
			add(f)
		}
		if f, ok := th.dirtyBloat(w); ok {
			add(f)
		}
		if f, ok := th.tooManyShards(w, h.Shards); ok {
			add(f)
		}
	}
	if !slices.ContainsFunc(out, func(f Finding) bool { return f.Severity.rank() >= SeverityWarning.rank() }) {
		add(th.healthy(w))
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return b.Severity.rank() - a.Severity.rank() })
	return out
}

// window is the samples the advisor reads, oldest first.
type window struct {
	s    []Sample
	secs float64
}

func (w window) first() Sample { return w.s[0] }
func (w window) last() Sample  { return w.s[len(w.s)-1] }

// rate is a counter's increase per second over the window.
func (w window) rate(f func(Sample) int64) float64 {
	return float64(f(w.last())-f(w.first())) / w.secs
}

// delta is a counter's increase over the window.
func (w window) delta(f func(Sample) int64) int64 { return f(w.last()) - f(w.first()) }

// slope is the least-squares slope of a gauge, per second, over samples.
func slope(s []Sample, f func(Sample) int64) float64 {
	if len(s) < 2 {
		return 0
	}
	t0 := s[0].Time
	var n, sx, sy, sxx, sxy float64
	for _, x := range s {
		t, y := x.Time.Sub(t0).Seconds(), float64(f(x))
		n++
		sx += t
		sy += y
		sxx += t * t
		sxy += t * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// recent returns the samples of the newest d.
func (w window) recent(d time.Duration) []Sample {
	last := w.last().Time
	i := slices.IndexFunc(w.s, func(x Sample) bool { return last.Sub(x.Time) <= d })
	return w.s[i:]
}

func median(s []Sample, f func(Sample) float64) float64 {
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func entries(s Sample) int64    { return s.Entries }
func dirty(s Sample) int64      { return s.DirtyEntries }
func misses(s Sample) int64     { return s.ReadMisses }
func loads(s Sample) int64      { return s.Loads }
func operations(s Sample) int64 { return s.Operations }
func promotions(s Sample) int64 { return s.Promotions }

func (th Thresholds) healthy(w window) Finding {
	ops, lds := w.delta(operations), w.delta(loads)
	missRate := w.rate(misses)
	if ops > 0 && float64(lds) >= th.ReadMostlyLoads*float64(ops) {
		perLoad := float64(w.delta(misses)) / float64(lds)
		if perLoad <= th.HealthyMissesPerLoad {
			return Finding{
				Kind: FindingReadMostly, Severity: SeverityOK,
				Verdict: fmt.Sprintf("healthy read-mostly: %.0f%% of operations are loads and %.2g in 1,000 miss the read map, so loads take no lock: the workload mapx is built for",
					100*float64(lds)/float64(ops), 1000*perLoad),
				Numbers: []Number{{"loads share", float64(lds) / float64(ops), ""}, {"misses per load", perLoad, ""}, {"read misses", missRate, "/s"}},
			}
		}
	}
	return Finding{
		Kind: FindingHealthy, Severity: SeverityOK,
		Verdict: "no problem found in the last " + round(time.Duration(w.secs*1e9)).String(),
		Numbers: []Number{{"operations", float64(ops) / w.secs, "/s"}, {"read misses", missRate, "/s"}, {"entries", float64(w.last().Entries), ""}},
	}
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }

func (th Thresholds) churn(w window) (Finding, bool) {
	missRate, promRate := w.rate(misses), w.rate(promotions)
	lds := w.delta(loads)
	perLoad := math.NaN()
	if lds > 0 {
		perLoad = float64(w.delta(misses)) / float64(lds)
	}
	if missRate < th.ChurnMissRate || promRate < th.ChurnPromotionRate || !(perLoad >= th.ChurnMissesPerLoad || lds == 0) {
		return Finding{}, false
	}
	nums := []Number{{"read misses", missRate, "/s"}, {"promotions", promRate, "/s"}}
	if lds > 0 {
		nums = append(nums, Number{"misses per load", perLoad, ""})
	}
	return Finding{
		Kind: FindingChurn, Severity: SeverityWarning,
		Verdict: "churn: most loads miss the read map and promotions are frequent, so read/dirty pays here; a lock-per-bucket map such as xsync may serve better (measure with loadgen -compare)",
		Numbers: nums,
	}, true
}

func (th Thresholds) growth(w window, h History, lim Limits) (Finding, bool) {
	s := w.s
	entrySlope, dirtySlope := slope(s, entries), slope(s, dirty)
	// Growth must go on at the end: over GrowthRecent, or the last third of
	// a shorter window.
	recent := w.recent(min(th.GrowthRecent, time.Duration(w.secs/3*1e9)))
	last := w.last()
	if lim.MaxEntries == 0 {
		lim.MaxEntries = last.EntryLimit // an explicit limit wins over the recorded one
	}
	if lim.MaxEntries > 0 && last.Entries >= lim.MaxEntries {
		return Finding{}, false // at the cap: growth is refused, see backpressure
	}
	grew := float64(last.Entries - w.first().Entries)
	entriesLeak := entrySlope >= th.GrowthMinRate && slope(recent, entries) >= th.GrowthMinRate &&
		grew >= th.GrowthMinFraction*float64(max(w.first().Entries, 1)) && last.Entries >= th.GrowthMinEntries
	dirtyLeak := dirtySlope >= th.DirtyGrowthMinRate && slope(recent, dirty) >= th.DirtyGrowthMinRate &&
		last.DirtyEntries >= th.GrowthMinEntries
	if !entriesLeak && !dirtyLeak {
		return Finding{}, false
	}
	f := Finding{Kind: FindingGrowth, Severity: SeverityWarning}
	f.Numbers = []Number{{"entries growth", entrySlope, "/s"}, {"dirty growth", dirtySlope, "/s"}, {"entries", float64(last.Entries), ""}}
	what := fmt.Sprintf("entries grow by %.0f/s", entrySlope)
	if !entriesLeak {
		what = fmt.Sprintf("the dirty map grows by %.0f entries/s", dirtySlope)
	}
	var until []string
	soonest := time.Duration(math.MaxInt64)
	if lim.MaxEntries > 0 && entrySlope > 0 {
		left := time.Duration(float64(max(lim.MaxEntries-last.Entries, 0)) / entrySlope * 1e9)
		soonest = min(soonest, left)
		f.Numbers = append(f.Numbers, Number{"time to entry limit", left.Seconds(), "s"})
		until = append(until, fmt.Sprintf("the entry limit of %d in %v", lim.MaxEntries, round(left)))
	}
	if heapSlope := slope(s, func(x Sample) int64 { return x.HeapBytes }); lim.MemoryLimit > 0 && heapSlope > 0 {
		left := time.Duration(float64(max(lim.MemoryLimit-last.HeapBytes, 0)) / heapSlope * 1e9)
		soonest = min(soonest, left)
		f.Numbers = append(f.Numbers, Number{"heap growth", heapSlope, "B/s"}, Number{"time to memory limit", left.Seconds(), "s"})
		until = append(until, fmt.Sprintf("the memory limit in %v", round(left)))
	}
	switch {
	case len(until) == 0:
		f.Verdict = "growth: " + what + " with no entry limit (WithMaxEntries) or memory limit (GOMEMLIMIT) to reach: a leak grows until the process runs out of memory"
	default:
		f.Verdict = fmt.Sprintf("growth: %s; at that rate the map reaches %s", what, joinAnd(until))
	}
	if soonest <= th.GrowthCriticalWithin {
		f.Severity = SeverityCritical
	}
	return f, true
}

func joinAnd(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	default:
		return s[0] + " and " + s[1]
	}
}

func (th Thresholds) dirtyBloat(w window) (Finding, bool) {
	ratio := median(w.s, func(x Sample) float64 { return float64(x.DirtyEntries) / float64(max(x.Entries, 1)) })
	d := median(w.s, func(x Sample) float64 { return float64(x.DirtyEntries) })
	if ratio <= th.DirtyBloatRatio || d < float64(th.DirtyBloatMinEntries) {
		return Finding{}, false
	}
	return Finding{
		Kind: FindingDirtyBloat, Severity: SeverityWarning,
		Verdict: fmt.Sprintf("dirty bloat: the dirty maps hold %.1f entries per live entry, most of them deleted ones kept until the next promotion", ratio),
		Numbers: []Number{{"dirty per live entry", ratio, ""}, {"dirty entries", d, ""}, {"entries", float64(w.last().Entries), ""}},
	}, true
}

func (th Thresholds) backpressure(w window) (Finding, bool) {
	rc := w.rate(func(x Sample) int64 { return x.RejectedCapacity })
	rr := w.rate(func(x Sample) int64 { return x.RejectedRate })
	rejected := w.delta(func(x Sample) int64 { return x.RejectedCapacity + x.RejectedRate })
	writes := w.delta(func(x Sample) int64 { return x.AdmissionWrites })
	if rc+rr < th.BackpressureMinRate {
		return Finding{}, false
	}
	nums := []Number{{"refused for capacity", rc, "/s"}, {"refused for rate", rr, "/s"}}
	share := ""
	if writes > 0 {
		sh := float64(rejected) / float64(writes)
		if sh < th.BackpressureMinShare {
			return Finding{}, false
		}
		nums = append(nums, Number{"share refused", sh, ""})
		share = fmt.Sprintf("%.0f%% of ", 100*sh)
	}
	reason := "the entry cap (WithMaxEntries)"
	if rr > rc {
		reason = "the insert rate (WithInsertRate)"
	}
	return Finding{
		Kind: FindingBackpressure, Severity: SeverityWarning,
		Verdict: fmt.Sprintf("backpressure: admission control refuses %sinserts (%.0f/s), mostly for %s", share, rc+rr, reason),
		Numbers: nums,
	}, true
}

func (th Thresholds) snapshotOpen(last Sample) (Finding, bool) {
	open := last.OldestSnapshotAge
	if last.ActiveSnapshots == 0 || open < th.SnapshotOpenFor {
		return Finding{}, false
	}
	return Finding{
		Kind: FindingSnapshotOpen, Severity: SeverityWarning,
		Verdict: fmt.Sprintf("snapshot left open: the oldest of %d open snapshots has been open for %v; an unclosed snapshot keeps every entry it saw alive", last.ActiveSnapshots, round(open)),
		Numbers: []Number{{"oldest open for", open.Seconds(), "s"}, {"open snapshots", float64(last.ActiveSnapshots), ""}},
	}, true
}

func (th Thresholds) tooManyShards(w window, shards int64) (Finding, bool) {
	if shards < th.ShardsMin {
		return Finding{}, false
	}
	e := median(w.s, func(x Sample) float64 { return float64(x.Entries) })
	per := e / float64(shards)
	if per >= th.ShardsMinEntriesPerShard {
		return Finding{}, false
	}
	suggest := int64(1)
	for float64(suggest*2)*th.ShardsMinEntriesPerShard*4 <= e {
		suggest *= 2
	}
	return Finding{
		Kind: FindingTooManyShards, Severity: SeverityInfo,
		Verdict: fmt.Sprintf("too many shards: %.0f entries across %d shards (%.1f a shard); Stats, Range, Snapshot and Clear visit every shard: mapx.WithShards(%d) fits this map", e, shards, per, suggest),
		Numbers: []Number{{"entries", e, ""}, {"shards", float64(shards), ""}, {"entries per shard", per, ""}},
	}, true
}
