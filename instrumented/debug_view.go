package instrumented

import (
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// The view of the debug page, its HTML and its JSON alike: both are made from
// one debugReport, so they show the same numbers.

// rateSpan is how many samples back the page's rates are taken over.
const rateSpan = 10

// sparkPoints is the most points a sparkline has: 15 minutes of samples are
// averaged in groups of five.
const sparkPoints = 180

type debugReport struct {
	Time            time.Time  `json:"time"`
	IntervalSeconds float64    `json:"interval_seconds"`
	HistorySamples  int        `json:"history_samples"`
	Maps            []debugMap `json:"maps"`
}

type debugMap struct {
	ID       uint64        `json:"id"`
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Shards   int64         `json:"shards,omitempty"`
	Sampled  time.Time     `json:"sampled"`
	Samples  int           `json:"samples"`
	Now      debugNow      `json:"now"`
	Series   []debugSeries `json:"series"`
	Findings []Finding     `json:"findings"`
	// OperationsPerSecond is by operation, over the last interval.
	OperationsPerSecond map[string]float64 `json:"operations_per_second"`
}

// debugNow are a map's figures at its newest sample; rates are over the last
// rateSpan samples (fewer at first); nil when there is no rate yet.
type debugNow struct {
	Entries                        int64    `json:"entries"`
	DirtyEntries                   int64    `json:"dirty_entries"`
	DirtyRatio                     float64  `json:"dirty_ratio"`
	ReadMissesPerSecond            *float64 `json:"read_misses_per_second"`
	MissesPerLoad                  *float64 `json:"misses_per_load"`
	PromotionsPerSecond            *float64 `json:"promotions_per_second"`
	ActiveSnapshots                int64    `json:"active_snapshots"`
	OldestSnapshotAgeSeconds       float64  `json:"oldest_snapshot_age_seconds"`
	EntryLimit                     int64    `json:"entry_limit"`
	RejectedCapacityPerSecond      *float64 `json:"rejected_capacity_per_second"`
	RejectedRatePerSecond          *float64 `json:"rejected_rate_per_second"`
	IteratorCancellationsPerSecond *float64 `json:"iterator_cancellations_per_second"`
	OperationsPerSecond            *float64 `json:"operations_per_second"`
	LatencyP50Seconds              float64  `json:"latency_p50_seconds"`
	LatencyP99Seconds              float64  `json:"latency_p99_seconds"`
}

// debugSeries is one sparkline: its values, oldest first, as drawn.
type debugSeries struct {
	Name   string    `json:"name"`
	Unit   string    `json:"unit,omitempty"`
	Values []float64 `json:"values"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Points string    `json:"-"` // the SVG polyline's points
}

func buildReport(hs []History, interval time.Duration, capacity int, now time.Time) debugReport {
	rep := debugReport{Time: now, IntervalSeconds: interval.Seconds(), HistorySamples: capacity, Maps: []debugMap{}}
	lim := Limits{}
	if ml := debug.SetMemoryLimit(-1); ml != math.MaxInt64 {
		lim.MemoryLimit = ml
	}
	for _, h := range hs {
		if len(h.Samples) == 0 {
			continue
		}
		rep.Maps = append(rep.Maps, buildMap(h, lim))
	}
	return rep
}

func buildMap(h History, lim Limits) debugMap {
	s := h.Samples
	last := s[len(s)-1]
	m := debugMap{
		ID: h.ID, Name: h.Name, Kind: h.Kind, Shards: h.Shards, Sampled: last.Time, Samples: len(s),
		Findings: Advise(h, lim), OperationsPerSecond: h.OperationsPerSecond,
	}
	if m.Findings == nil {
		m.Findings = []Finding{}
	}
	if m.OperationsPerSecond == nil {
		m.OperationsPerSecond = map[string]float64{}
	}
	n := &m.Now
	n.Entries, n.DirtyEntries, n.ActiveSnapshots = last.Entries, last.DirtyEntries, last.ActiveSnapshots
	n.DirtyRatio = float64(last.DirtyEntries) / float64(max(last.Entries, 1))
	n.LatencyP50Seconds, n.LatencyP99Seconds = last.LatencyP50.Seconds(), last.LatencyP99.Seconds()
	n.OldestSnapshotAgeSeconds, n.EntryLimit = last.OldestSnapshotAge.Seconds(), last.EntryLimit
	if len(s) >= 2 {
		from := s[max(0, len(s)-1-rateSpan)]
		secs := last.Time.Sub(from.Time).Seconds()
		rate := func(f func(Sample) int64) *float64 {
			r := float64(f(last)-f(from)) / secs
			return &r
		}
		n.OperationsPerSecond = rate(operations)
		if h.Kind == "mapx" {
			n.ReadMissesPerSecond = rate(misses)
			n.PromotionsPerSecond = rate(promotions)
			n.RejectedCapacityPerSecond = rate(func(x Sample) int64 { return x.RejectedCapacity })
			n.RejectedRatePerSecond = rate(func(x Sample) int64 { return x.RejectedRate })
			n.IteratorCancellationsPerSecond = rate(func(x Sample) int64 { return x.IteratorCancellations })
			if l := last.Loads - from.Loads; l > 0 {
				r := float64(last.ReadMisses-from.ReadMisses) / float64(l)
				n.MissesPerLoad = &r
			}
		}
	}
	gauge := func(f func(Sample) int64) func(a, b Sample) float64 {
		return func(_, b Sample) float64 { return float64(f(b)) }
	}
	perSec := func(f func(Sample) int64) func(a, b Sample) float64 {
		return func(a, b Sample) float64 { return float64(f(b)-f(a)) / b.Time.Sub(a.Time).Seconds() }
	}
	add := func(name, unit string, f func(a, b Sample) float64) {
		m.Series = append(m.Series, series(name, unit, s, f))
	}
	add("entries", "", gauge(entries))
	if h.Kind == "mapx" {
		add("dirty_entries", "", gauge(dirty))
		add("read_misses_per_second", "/s", perSec(misses))
		add("promotions_per_second", "/s", perSec(promotions))
		add("rejections_per_second", "/s", perSec(func(x Sample) int64 { return x.RejectedCapacity + x.RejectedRate }))
		add("active_snapshots", "", gauge(func(x Sample) int64 { return x.ActiveSnapshots }))
	}
	add("operations_per_second", "/s", perSec(operations))
	add("latency_p99_seconds", "s", func(_, b Sample) float64 { return b.LatencyP99.Seconds() })
	return m
}

// series makes a sparkline of f over consecutive samples, averaged down to
// sparkPoints points.
func series(name, unit string, s []Sample, f func(a, b Sample) float64) debugSeries {
	var raw []float64
	for i := 1; i < len(s); i++ {
		raw = append(raw, f(s[i-1], s[i]))
	}
	group := max(1, (len(raw)+sparkPoints-1)/sparkPoints)
	out := debugSeries{Name: name, Unit: unit, Values: []float64{}}
	for i := 0; i < len(raw); i += group {
		sum, n := 0.0, 0
		for _, v := range raw[i:min(i+group, len(raw))] {
			sum += v
			n++
		}
		out.Values = append(out.Values, sum/float64(n))
	}
	if len(out.Values) == 0 {
		return out
	}
	out.Min, out.Max = out.Values[0], out.Values[0]
	for _, v := range out.Values {
		out.Min, out.Max = min(out.Min, v), max(out.Max, v)
	}
	if len(out.Values) < 2 {
		return out
	}
	var b strings.Builder
	for i, v := range out.Values {
		x := float64(i) * sparkWidth / float64(len(out.Values)-1)
		y := sparkHeight - 1.0
		if out.Max > out.Min {
			y = sparkHeight - 1 - (v-out.Min)/(out.Max-out.Min)*(sparkHeight-2)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64))
	}
	out.Points = b.String()
	return out
}

// The sparklines' size, in SVG user units.
const sparkWidth, sparkHeight = 180.0, 32.0

// The page's number formats; the browser test formats the JSON's numbers
// with the same rules to compare them.

// fmtRate shows a rate with one decimal, or a dash when there is none yet.
func fmtRate(r *float64) string {
	if r == nil {
		return "–"
	}
	return strconv.FormatFloat(*r, 'f', 1, 64)
}

// fmtRatio shows a ratio with two decimals.
func fmtRatio(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) }

// fmtMicros shows seconds as microseconds with two decimals, or a dash for 0.
func fmtMicros(s float64) string {
	if s == 0 {
		return "–"
	}
	return strconv.FormatFloat(s*1e6, 'f', 2, 64) + " µs"
}

// fmtNumber shows a finding's number with its unit.
func fmtNumber(n Number) string {
	v := n.Value
	switch {
	case n.Unit == "s" && v >= 60:
		return time.Duration(v * 1e9).Round(time.Second).String()
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64) + n.Unit
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + n.Unit
	default:
		return strconv.FormatFloat(v, 'g', 3, 64) + n.Unit
	}
}
