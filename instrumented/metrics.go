package instrumented

import (
	"strings"

	"github.com/mapx-dev/mapx"
)

// Kind is an OpenTelemetry instrument kind.
type Kind int

// The instrument kinds this package uses. Counters and UpDownCounters are
// asynchronous (read in one callback at collection time); histograms are
// recorded when a sampled operation ends, into every open [Producer] or, with
// none, the MeterProvider's synchronous histograms.
const (
	Counter       Kind = iota // monotonic: Prometheus adds _total
	UpDownCounter             // additive, goes up and down: sums across maps make sense
	Gauge                     // not additive: a maximum, an age
	Histogram
)

// String returns the kind's name as the OpenTelemetry specification spells it.
func (k Kind) String() string {
	switch k {
	case Counter:
		return "Counter"
	case UpDownCounter:
		return "UpDownCounter"
	case Gauge:
		return "Gauge"
	case Histogram:
		return "Histogram"
	}
	return "unknown"
}

// A Metric is one metric this package exports: the row of [Metrics] that
// makes its instrument and, for the asynchronous ones, says what the
// collection callback reads.
type Metric struct {
	Name        string // OpenTelemetry name
	Unit        string // UCUM, or an {annotation}
	Kind        Kind
	Description string
	// Attributes are the keys the metric has besides mapx.name and those of
	// WithAttributes.
	Attributes []string
	// Source says where the value comes from: a field of [mapx.Stats], or
	// the wrapper's own counts and timings.
	Source string
	// SyncMap reports whether a [SyncMap] exports it too.
	SyncMap bool
	// Prometheus is the name the OpenTelemetry Prometheus exporter gives it
	// (dots to underscores, unit suffix, _total for counters).
	Prometheus string

	intStat   func(*mapx.Stats) int64   // nil unless read from Stats as an integer
	floatStat func(*mapx.Stats) float64 // nil unless read from Stats as a float
	retire    bool                      // a counter of the map's: kept when a map of the same identity closes
}

// Rows of the table, by index.
const (
	mOperations = iota
	mEntries
	mDirtyEntries
	mReadMisses
	mPromotions
	mCancellations
	mRejections
	mSnapshotsActive
	mEntryLimit
	mSnapshotOldestAge
	mOperationDuration
	mSnapshotDuration
	mIterationDuration
	numMetrics
)

var metricTable = [numMetrics]Metric{
	mOperations: {Name: "mapx.operations", Unit: "{operation}", Kind: Counter,
		Description: "Operations on the map.", Attributes: []string{string(keyOperation), string(keyResult)},
		Source: "the wrapper's striped counts", SyncMap: true},
	mEntries: {Name: "mapx.entries", Unit: "{entry}", Kind: UpDownCounter,
		Description: "Entries in the map.", Source: "Stats.Entries (a SyncMap: its own count of added minus removed keys)", SyncMap: true,
		intStat: func(s *mapx.Stats) int64 { return s.Entries }},
	mDirtyEntries: {Name: "mapx.dirty.entries", Unit: "{entry}", Kind: UpDownCounter,
		Description: "Entries in the shards' dirty maps, deleted ones included.", Source: "Stats.DirtyEntries",
		intStat: func(s *mapx.Stats) int64 { return s.DirtyEntries }},
	mReadMisses: {Name: "mapx.read.misses", Unit: "{miss}", Kind: Counter,
		Description: "Reads that missed the read-only map and locked a shard.", Source: "Stats.ReadMisses",
		intStat: func(s *mapx.Stats) int64 { return s.ReadMisses }, retire: true},
	mPromotions: {Name: "mapx.dirty.promotions", Unit: "{promotion}", Kind: Counter,
		Description: "Dirty maps promoted to read-only maps.", Source: "Stats.Promotions",
		intStat: func(s *mapx.Stats) int64 { return s.Promotions }, retire: true},
	mCancellations: {Name: "mapx.iterator.cancellations", Unit: "{cancellation}", Kind: Counter,
		Description: "Iterations stopped because their context was done.", Source: "Stats.IteratorCancellations",
		intStat: func(s *mapx.Stats) int64 { return s.IteratorCancellations }, retire: true},
	mRejections: {Name: "mapx.backpressure.rejections", Unit: "{rejection}", Kind: Counter,
		Description: "Writes refused by admission control.", Attributes: []string{string(keyReason)},
		Source: "Stats.RejectedCapacity (mapx.reason=capacity), Stats.RejectedRate (mapx.reason=rate)", retire: true},
	mSnapshotsActive: {Name: "mapx.snapshots.active", Unit: "{snapshot}", Kind: UpDownCounter,
		Description: "Snapshots not yet closed.", Source: "Stats.ActiveSnapshots",
		intStat: func(s *mapx.Stats) int64 { return s.ActiveSnapshots }},
	mEntryLimit: {Name: "mapx.entry.limit", Unit: "{entry}", Kind: UpDownCounter,
		Description: "The cap on entries set by WithMaxEntries; absent when there is none.", Source: "Stats.EntryLimit",
		intStat: func(s *mapx.Stats) int64 { return s.EntryLimit }},
	mSnapshotOldestAge: {Name: "mapx.snapshot.oldest.age", Unit: "s", Kind: Gauge,
		Description: "How long the oldest open snapshot has been open; 0 when none is.", Source: "Stats.OldestSnapshotAge",
		floatStat: func(s *mapx.Stats) float64 { return s.OldestSnapshotAge.Seconds() }},
	mOperationDuration: {Name: "mapx.operation.duration", Unit: "s", Kind: Histogram,
		Description: "Duration of sampled map operations.", Attributes: []string{string(keyOperation)},
		Source: "the wrapper's timing of sampled operations", SyncMap: true},
	mSnapshotDuration: {Name: "mapx.snapshot.duration", Unit: "s", Kind: Histogram,
		Description: "Duration of taking a snapshot.", Source: "the wrapper's timing of Snapshot"},
	mIterationDuration: {Name: "mapx.iteration.duration", Unit: "s", Kind: Histogram,
		Description: "Duration of iterations over the map or its snapshots.", Attributes: []string{string(keyOutcome)},
		Source: "the map's Observer", SyncMap: true},
}

func init() {
	for i := range metricTable {
		m := &metricTable[i]
		m.Prometheus = prometheusName(m.Name, m.Unit, m.Kind)
	}
}

// Metrics returns the table of the metrics this package exports, the one
// that makes the instruments: dashboards and alert rules check their names
// against it.
func Metrics() []Metric {
	out := make([]Metric, len(metricTable))
	for i, m := range metricTable {
		m.Attributes = append([]string(nil), m.Attributes...)
		out[i] = m
	}
	return out
}

// prometheusName is the name the OpenTelemetry Prometheus exporter (with its
// default UnderscoreEscapingWithSuffixes translation) gives a metric; a test
// in package exporters checks it against the real exporter.
func prometheusName(name, unit string, k Kind) string {
	n := strings.ReplaceAll(name, ".", "_")
	if unit == "s" {
		n += "_seconds"
	}
	if k == Counter {
		n += "_total"
	}
	return n
}
