package dashboards

import "time"

// Config is the one place that holds every metric name, label name,
// threshold, window and UID the dashboards and rules are generated from.
type Config struct {
	Metrics   Metrics
	Runtime   RuntimeMetrics
	Labels    Labels
	Dashboard DashboardConfig
	Alerts    Alerts
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
	Allocated       string // counter, bytes allocated on the heap
	Goroutines      string // gauge
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
type Alerts struct {
	// RuleGroupInterval is the evaluation interval of the rule groups; zero
	// leaves Prometheus's global evaluation_interval in force.
	RuleGroupInterval time.Duration
	// RecordingWindow is the range of the recording rules' rate()s.
	RecordingWindow time.Duration

	DirtyGrowth    Growth
	DirtyBloat     DirtyBloat
	DirtyHuge      DirtyHuge
	EntriesLeak    Growth
	ReadMissStorm  ReadMissStorm
	PromotionStorm PromotionStorm
	Backpressure   Backpressure
	SnapshotsOpen  SnapshotsOpen
}

// Growth: a gauge of entries grew by more than MinRate entries/s on average
// over Window (deriv), and is above MinEntries, for For. DirtyGrowth is about
// the dirty map, EntriesLeak about the live entries.
type Growth struct {
	Window, For time.Duration
	MinRate     float64
	MinEntries  float64
}

// DirtyBloat: the dirty map holds more than MaxRatio entries per live entry
// (the rest are deleted entries it still keeps) and more than MinEntries
// entries, for For.
type DirtyBloat struct {
	For        time.Duration
	MaxRatio   float64
	MinEntries float64
}

// DirtyHuge: the dirty map holds more than MaxEntries entries for For.
type DirtyHuge struct {
	For        time.Duration
	MaxEntries float64
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

// SnapshotsOpen: at least MinOpen snapshots were open at every scrape of
// Window, for For. Window only has to cover the time between two rule
// evaluations; For is how long the snapshots have been left open.
type SnapshotsOpen struct {
	Window, For time.Duration
	MinOpen     float64
}

// Default returns the production configuration.
func Default() Config {
	return Config{
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
			LoadOperation:          "load",
			HitResult:              "hit",
		},
		Runtime: RuntimeMetrics{
			MemoryUsed:       "go_memory_used_bytes",
			MemoryTypeLabel:  "go_memory_type",
			GCGoal:           "go_memory_gc_goal_bytes",
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
			DirtyGrowth: Growth{
				Window: 10 * time.Minute, For: 15 * time.Minute,
				MinRate: 100, MinEntries: 10000,
			},
			DirtyBloat:  DirtyBloat{For: 15 * time.Minute, MaxRatio: 2, MinEntries: 10000},
			DirtyHuge:   DirtyHuge{For: 15 * time.Minute, MaxEntries: 10e6},
			EntriesLeak: Growth{Window: time.Hour, For: time.Hour, MinRate: 1, MinEntries: 10000},
			ReadMissStorm: ReadMissStorm{
				Window: 5 * time.Minute, For: 10 * time.Minute,
				MinRate: 1000, MinFraction: 0.1,
			},
			PromotionStorm: PromotionStorm{Window: 5 * time.Minute, For: 10 * time.Minute, MinRate: 10},
			Backpressure:   Backpressure{Window: 5 * time.Minute, For: 10 * time.Minute, MinRate: 1},
			SnapshotsOpen:  SnapshotsOpen{Window: 5 * time.Minute, For: 30 * time.Minute, MinOpen: 1},
		},
		RunbookURL: "https://github.com/mapx-dev/mapx/blob/main/docs/runbook.md",
	}
}

// Fast returns the configuration of the fast rules variant for an end-to-end
// test that scrapes every second for a few minutes: the thresholds of
// Default, with 30s windows, 15s for durations and rule groups evaluated
// every 5s. Only the leak's rate floor is raised, to the dirty-map growth
// rate: over 30s, a flat map's noise of a few entries/s would pass Default's
// 1/s, while a leak grows by thousands.
func Fast() Config {
	c := Default()
	const window, hold = 30 * time.Second, 15 * time.Second
	a := &c.Alerts
	a.RuleGroupInterval = 5 * time.Second
	a.RecordingWindow = window
	a.DirtyGrowth.Window, a.DirtyGrowth.For = window, hold
	a.DirtyBloat.For = hold
	a.DirtyHuge.For = hold
	a.EntriesLeak.Window, a.EntriesLeak.For = window, hold
	a.EntriesLeak.MinRate = a.DirtyGrowth.MinRate
	a.ReadMissStorm.Window, a.ReadMissStorm.For = window, hold
	a.PromotionStorm.Window, a.PromotionStorm.For = window, hold
	a.Backpressure.Window, a.Backpressure.For = window, hold
	a.SnapshotsOpen.Window, a.SnapshotsOpen.For = window, hold
	return c
}
