package dashboards

import "time"

// Config is the one place that holds every metric name, label name,
// threshold, window and UID the dashboards and rules are generated from.
type Config struct {
	// Selector is PromQL label matchers, without braces, that every rule's
	// series must match, e.g. `job=~"api|worker"`; empty selects all jobs.
	Selector string
	// GroupLabels tell one map from another: the rules aggregate by them and
	// the alerts carry them. The default is job, instance and mapx_name; add
	// cluster or namespace when one Prometheus sees several. It must hold
	// Labels.Name; without it, the rest are the labels of a process.
	GroupLabels []string
	Metrics     Metrics
	Runtime     RuntimeMetrics
	Labels      Labels
	Dashboard   DashboardConfig
	Alerts      Alerts
	// RunbookURL is the address of docs/runbook.md; each alert's runbook_url
	// is RunbookURL#<alert name in lower case>.
	RunbookURL string
}

// Metrics are the Prometheus names of package instrumented's metrics, as the
// OpenTelemetry Prometheus exporter writes them.
type Metrics struct {
	Operations             string // counter, by operation and result
	Entries                string // gauge
	DirtyEntries           string // gauge
	ReadMisses             string // counter
	Promotions             string // counter
	IteratorCancellations  string // counter
	BackpressureRejections string // counter, by reason
	SnapshotsActive        string // gauge
	SnapshotDuration       string // histogram, seconds
	IterationDuration      string // histogram, seconds, by outcome
	OperationDuration      string // histogram, seconds, by operation (sampled)
	EntryLimit             string // gauge: WithMaxEntries's cap, absent without one
	SnapshotOldestAge      string // gauge, seconds: the oldest open snapshot's age, 0 with none
	// Up is Prometheus's own series of whether a scrape of a target worked.
	Up string

	LoadOperation string // the operation label value of Load
	HitResult     string // the result label value of a load that found its key
}

// RuntimeMetrics are the Prometheus names of the Go runtime metrics of
// go.opentelemetry.io/contrib/instrumentation/runtime (v0.72.0) through the
// OpenTelemetry Prometheus exporter. That package exports no GC pause metric
// (its deprecated metrics, behind OTEL_GO_X_DEPRECATED_RUNTIME_METRICS, did):
// the dashboard shows the GC goal, the allocation rate and the scheduling
// latency, which GC stop-the-world pauses add to, instead.
type RuntimeMetrics struct {
	MemoryUsed      string // gauge, bytes, by MemoryTypeLabel (stack, other)
	MemoryTypeLabel string
	GCGoal          string // gauge, bytes: the heap size the GC aims at
	// MemoryLimit is a gauge in bytes exported only when GOMEMLIMIT (or
	// debug.SetMemoryLimit) sets a limit.
	MemoryLimit string
	Allocated   string // counter, bytes allocated on the heap
	Goroutines  string // gauge
	// ScheduleDuration is a histogram in seconds that only
	// runtime.NewProducer exports (pass it to the Prometheus exporter with
	// WithProducer).
	ScheduleDuration string
}

// Labels are the Prometheus label names the queries use. Job and Instance
// are added by Prometheus when it scrapes; the others come from the
// attributes of package instrumented.
type Labels struct {
	Job       string
	Instance  string
	Name      string // mapx.name: which map
	Operation string
	Result    string
	Reason    string
	Outcome   string
}

// DashboardConfig is what the overview dashboard needs besides the metrics.
type DashboardConfig struct {
	UID   string
	Title string
	Tags  []string
	// PyroscopeServiceLabel is the Pyroscope label that names the service;
	// the flame graph selects the profiles whose label equals the job.
	PyroscopeServiceLabel string
	PyroscopeProfileType  string
}

// Alerts are the thresholds, windows and for durations of the alert rules.
// The paging (critical) alerts are about impact or imminent impact: a map or
// its process predicted to reach its limit, or a leak that crash-loops the
// process. Everything else warns, with for durations long enough for
// warm-ups and daily cycles to pass.
type Alerts struct {
	// RuleGroupInterval is the evaluation interval of the rule groups; zero
	// leaves Prometheus's global evaluation_interval in force.
	RuleGroupInterval time.Duration
	// RecordingWindow is the range of the recording rules' rate()s.
	RecordingWindow time.Duration
	// SubqueryStep is the resolution of the rules' subqueries.
	SubqueryStep time.Duration

	LimitWarning   FillingUp // MapxEntriesFillingUp, warning
	LimitCritical  FillingUp // MapxEntriesFillingUp, critical
	MemoryCritical FillingUp // MapxMemoryFillingUp
	// MemoryBudgetBytes, when positive, is a byte budget per process that
	// MapxMemoryFillingUp uses when go_memory_limit_bytes is absent or
	// higher (the runtime exports it only when GOMEMLIMIT is set).
	MemoryBudgetBytes float64
	CrashLoop         CrashLoop
	EntriesGrowth     EntriesGrowth
	DirtyGrowth       DirtyGrowth
	DirtyBloat        DirtyBloat
	ReadMissStorm     ReadMissStorm
	PromotionStorm    PromotionStorm
	Backpressure      Backpressure
	SnapshotAge       SnapshotAge
	TargetDown        Absence
	MapAbsent         Absence
}

// FillingUp: predict_linear over Window says that the series reaches its
// limit within Horizon, and it already uses more than MinUsedFraction of
// it, for For (node-exporter's NodeFilesystemSpaceFillingUp).
type FillingUp struct {
	Window, Horizon, For time.Duration
	MinUsedFraction      float64
}

// CrashLoop: the process restarted (its counters reset) at least
// MinRestarts times within Window, and within Window the map grew faster
// than MinRate entries/s over GrowthWindow (deriv) to more than MinEntries
// entries, for For.
type CrashLoop struct {
	Window, GrowthWindow, For time.Duration
	MinRestarts               float64
	MinRate, MinEntries       float64
}

// EntriesGrowth, the slow leak: the map holds more than MinGrowth (a
// fraction) more entries than Compare ago, the same time of the previous
// day, so that a daily cycle cancels out; its trend over TrendWindow (deriv)
// still rises by more than MinGrowth of its size per Compare; and it holds
// more than MinEntries entries; for For.
type EntriesGrowth struct {
	Compare, TrendWindow, For time.Duration
	MinGrowth                 float64
	MinEntries                float64
}

// DirtyGrowth: the dirty map grew by more than MinRate entries/s on average
// over Window (deriv), holds more than MinEntries entries and more than it
// ever held in the PeakLookback before Window (so a bounded churn, whose
// dirty map rises and falls to the same peaks, does not count), for For.
// MinRate is above the rate of a cache warming up. A dirty map younger than
// Window+PeakLookback has no past to compare with and does not fire.
type DirtyGrowth struct {
	Window, For, PeakLookback time.Duration
	MinRate, MinEntries       float64
}

// DirtyBloat: the dirty map holds more than MaxRatio entries per live entry
// (the rest are deleted entries it still keeps) and more than MinEntries
// entries, for For.
type DirtyBloat struct {
	For        time.Duration
	MaxRatio   float64
	MinEntries float64
}

// ReadMissStorm: more than MinRate read misses/s over Window, and more than
// MinFraction of all operations, for For.
type ReadMissStorm struct {
	Window, For time.Duration
	MinRate     float64
	MinFraction float64
}

// PromotionStorm: more than MinRate dirty-map promotions/s over Window, for
// For.
type PromotionStorm struct {
	Window, For time.Duration
	MinRate     float64
}

// Backpressure: admission control refused more than MinRate writes/s over
// Window, for a reason, for For.
type Backpressure struct {
	Window, For time.Duration
	MinRate     float64
}

// SnapshotAge: the oldest open snapshot of the map is older than MaxAge,
// for For.
type SnapshotAge struct {
	MaxAge, For time.Duration
}

// Absence: a map reported within Lookback and does not now, for For.
// TargetDown: because its target is down (up == 0); MapAbsent: while its
// target is up.
type Absence struct {
	Lookback, For time.Duration
}

// Defaults of the thresholds that other parts of mapx (the debug page's
// advisor, the documentation) quote: they mean the same thing there.
const (
	// DefaultDirtyBloatMaxRatio is the dirty entries per live entry above
	// which a dirty map is bloated with deleted keys.
	DefaultDirtyBloatMaxRatio = 4
	// DefaultMinEntries is the size under which no map alerts about its
	// growth or bloat.
	DefaultMinEntries = 10000
	// DefaultDirtyGrowthRate is the dirty map's growth, in entries/s, above
	// which it is not a warm-up.
	DefaultDirtyGrowthRate = 500
	// DefaultSnapshotMaxAge is the age above which an open snapshot is
	// taken as leaked.
	DefaultSnapshotMaxAge = time.Hour
	// DefaultLimitWarningFraction and DefaultLimitCriticalFraction are the
	// shares of mapx_entry_limit in use above which a growth towards it
	// warns and pages.
	DefaultLimitWarningFraction  = 0.6
	DefaultLimitCriticalFraction = 0.8
	// DefaultSlowLeakDailyGrowth is the growth a day, as a share of the map,
	// above which a map that keeps rising is taken as leaking.
	DefaultSlowLeakDailyGrowth = 0.1
)

// Default returns the production configuration.
func Default() Config {
	return Config{
		GroupLabels: []string{"job", "instance", "mapx_name"},
		Metrics: Metrics{
			Operations:             "mapx_operations_total",
			Entries:                "mapx_entries",
			DirtyEntries:           "mapx_dirty_entries",
			ReadMisses:             "mapx_read_misses_total",
			Promotions:             "mapx_dirty_promotions_total",
			IteratorCancellations:  "mapx_iterator_cancellations_total",
			BackpressureRejections: "mapx_backpressure_rejections_total",
			SnapshotsActive:        "mapx_snapshots_active",
			SnapshotDuration:       "mapx_snapshot_duration_seconds",
			IterationDuration:      "mapx_iteration_duration_seconds",
			OperationDuration:      "mapx_operation_duration_seconds",
			EntryLimit:             "mapx_entry_limit",
			SnapshotOldestAge:      "mapx_snapshot_oldest_age_seconds",
			Up:                     "up",
			LoadOperation:          "load",
			HitResult:              "hit",
		},
		Runtime: RuntimeMetrics{
			MemoryUsed:       "go_memory_used_bytes",
			MemoryTypeLabel:  "go_memory_type",
			GCGoal:           "go_memory_gc_goal_bytes",
			MemoryLimit:      "go_memory_limit_bytes",
			Allocated:        "go_memory_allocated_bytes_total",
			Goroutines:       "go_goroutines",
			ScheduleDuration: "go_schedule_duration_seconds",
		},
		Labels: Labels{
			Job:       "job",
			Instance:  "instance",
			Name:      "mapx_name",
			Operation: "mapx_operation",
			Result:    "mapx_result",
			Reason:    "mapx_reason",
			Outcome:   "mapx_outcome",
		},
		Dashboard: DashboardConfig{
			UID:                   "mapx-overview",
			Title:                 "mapx / Overview",
			Tags:                  []string{"mapx", "go"},
			PyroscopeServiceLabel: "service_name",
			PyroscopeProfileType:  "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
		},
		Alerts: Alerts{
			RecordingWindow: 5 * time.Minute,
			SubqueryStep:    time.Minute,
			LimitWarning: FillingUp{Window: 6 * time.Hour, Horizon: 24 * time.Hour, For: time.Hour,
				MinUsedFraction: DefaultLimitWarningFraction},
			LimitCritical: FillingUp{Window: 6 * time.Hour, Horizon: 4 * time.Hour, For: 30 * time.Minute,
				MinUsedFraction: DefaultLimitCriticalFraction},
			MemoryCritical: FillingUp{Window: time.Hour, Horizon: 4 * time.Hour, For: 15 * time.Minute,
				MinUsedFraction: 0.5},
			CrashLoop: CrashLoop{Window: 2 * time.Hour, GrowthWindow: 10 * time.Minute, For: 10 * time.Minute,
				MinRestarts: 2, MinRate: 100, MinEntries: DefaultMinEntries},
			EntriesGrowth: EntriesGrowth{Compare: 24 * time.Hour, TrendWindow: 6 * time.Hour, For: 6 * time.Hour,
				MinGrowth: DefaultSlowLeakDailyGrowth, MinEntries: DefaultMinEntries},
			DirtyGrowth: DirtyGrowth{Window: 10 * time.Minute, For: 10 * time.Minute, PeakLookback: time.Hour,
				MinRate: DefaultDirtyGrowthRate, MinEntries: DefaultMinEntries},
			DirtyBloat: DirtyBloat{For: 30 * time.Minute, MaxRatio: DefaultDirtyBloatMaxRatio, MinEntries: DefaultMinEntries},
			ReadMissStorm: ReadMissStorm{
				Window: 5 * time.Minute, For: 10 * time.Minute,
				MinRate: 1000, MinFraction: 0.1,
			},
			PromotionStorm: PromotionStorm{Window: 5 * time.Minute, For: 10 * time.Minute, MinRate: 10},
			Backpressure:   Backpressure{Window: 5 * time.Minute, For: 10 * time.Minute, MinRate: 1},
			SnapshotAge:    SnapshotAge{MaxAge: DefaultSnapshotMaxAge, For: 5 * time.Minute},
			TargetDown:     Absence{Lookback: 24 * time.Hour, For: 5 * time.Minute},
			MapAbsent:      Absence{Lookback: time.Hour, For: 10 * time.Minute},
		},
		RunbookURL: "https://github.com/mapx-dev/mapx/blob/main/docs/runbook.md",
	}
}

// Fast returns the configuration of the fast rules variant for an end-to-end
// test that scrapes every second for a few minutes: the thresholds of
// Default, with windows of seconds to a minute, 15s for durations and rule
// groups evaluated every 5s. The slow leak compares with a minute ago
// instead of a day.
func Fast() Config {
	c := Default()
	const window, hold = 30 * time.Second, 15 * time.Second
	a := &c.Alerts
	a.RuleGroupInterval = 5 * time.Second
	a.RecordingWindow = window
	a.SubqueryStep = 5 * time.Second
	for _, f := range []*FillingUp{&a.LimitWarning, &a.LimitCritical, &a.MemoryCritical} {
		f.Window, f.For = window, hold
		f.Horizon /= 60 * 60 // hours become seconds
	}
	a.CrashLoop.Window, a.CrashLoop.GrowthWindow, a.CrashLoop.For = 2*time.Minute, window, hold
	a.EntriesGrowth.Compare, a.EntriesGrowth.TrendWindow, a.EntriesGrowth.For = time.Minute, window, hold
	a.DirtyGrowth.Window, a.DirtyGrowth.For, a.DirtyGrowth.PeakLookback = window, hold, time.Minute
	a.DirtyBloat.For = hold
	a.ReadMissStorm.Window, a.ReadMissStorm.For = window, hold
	a.PromotionStorm.Window, a.PromotionStorm.For = window, hold
	a.Backpressure.Window, a.Backpressure.For = window, hold
	a.SnapshotAge.MaxAge, a.SnapshotAge.For = time.Minute, hold
	a.TargetDown.Lookback, a.TargetDown.For = 5*time.Minute, hold
	a.MapAbsent.Lookback, a.MapAbsent.For = time.Minute, hold
	return c
}
