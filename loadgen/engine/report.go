package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Report is what loadgen prints at the end of a run, as text or as JSON.
type Report struct {
	Impl       string           `json:"impl"`
	Workload   string           `json:"workload"`
	Dist       string           `json:"dist"`
	Goroutines int              `json:"goroutines"`
	Keys       int              `json:"keys"`
	Rounds     int              `json:"rounds"`
	DurationS  float64          `json:"duration_s"`
	Ops        int64            `json:"ops"`
	OpsPerSec  float64          `json:"ops_per_sec"`
	OpsByKind  map[string]int64 `json:"ops_by_kind"`
	Latency    Latency          `json:"latency_ns"`
	// AllocsPerOp counts every heap allocation of the process during the
	// run (workers, snapshots, telemetry, progress) per operation.
	AllocsPerOp    float64 `json:"allocs_per_op"`
	GCPauseTotalNs uint64  `json:"gc_pause_total_ns"`
	GCCycles       uint32  `json:"gc_cycles"`
	PeakHeapBytes  uint64  `json:"peak_heap_bytes"`
	Entries        int     `json:"entries"`
	// Rejections are the writes refused by admission control, as the
	// workers saw them.
	Rejections      int64 `json:"rejections"`
	Snapshots       int64 `json:"snapshots"`
	SnapshotEntries int64 `json:"snapshot_entries"`
	Cancelled       int64 `json:"iterations_cancelled"`
	// Stats is the map's Stats() at the end; absent for implementations
	// without it (sync.Map, xsync, rwmutex).
	Stats *StatsReport `json:"stats,omitempty"`
	// Ratio compares this report with the first of a -compare run.
	Ratio *Ratio   `json:"ratio_to_first,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Machine is the run's metadata, set by the loadgen command.
	Machine *Machine `json:"machine,omitempty"`
}

// Latency is the per-operation latency in nanoseconds, from one sampled
// operation in [LatencySampleEvery], in an HDR histogram with 3 significant
// digits (values are exact to 0.1%).
type Latency struct {
	P50     int64 `json:"p50"`
	P90     int64 `json:"p90"`
	P99     int64 `json:"p99"`
	P999    int64 `json:"p999"`
	Max     int64 `json:"max"`
	Samples int64 `json:"samples"`
}

// StatsReport is [mapx.Stats] with JSON names.
type StatsReport struct {
	Entries                int64         `json:"entries"`
	DirtyEntries           int64         `json:"dirty_entries"`
	ReadMisses             int64         `json:"read_misses"`
	Promotions             int64         `json:"promotions"`
	IteratorCancellations  int64         `json:"iterator_cancellations"`
	BackpressureRejections int64         `json:"backpressure_rejections"`
	ActiveSnapshots        int64         `json:"active_snapshots"`
	RejectedCapacity       int64         `json:"rejected_capacity"`
	RejectedRate           int64         `json:"rejected_rate"`
	Shards                 int64         `json:"shards"`
	EntryLimit             int64         `json:"entry_limit"`
	OldestSnapshotAge      time.Duration `json:"oldest_snapshot_age_ns"`
}

// Ratio is a report's throughput and tail latency over the first's.
type Ratio struct {
	OpsPerSec float64 `json:"ops_per_sec"`
	P99       float64 `json:"p99"`
}

// BuildReport derives a report from a result.
func BuildReport(r *Result) Report {
	rep := Report{
		Impl: r.Impl, Workload: r.Workload, Dist: r.Dist, Goroutines: r.Goroutines, Keys: r.Keys, Rounds: r.Rounds,
		DurationS:       r.Elapsed.Seconds(),
		OpsByKind:       map[string]int64{},
		GCPauseTotalNs:  r.GCPauseNs,
		GCCycles:        r.GCCycles,
		PeakHeapBytes:   r.PeakHeap,
		Entries:         r.Entries,
		Rejections:      r.Rejections,
		Snapshots:       r.Snapshots,
		SnapshotEntries: r.SnapshotEntries,
		Cancelled:       r.Cancelled,
	}
	for k, n := range r.Counts {
		rep.Ops += n
		if n > 0 {
			rep.OpsByKind[Kind(k).String()] = n
		}
	}
	if secs := r.Elapsed.Seconds(); secs > 0 {
		rep.OpsPerSec = float64(rep.Ops) / secs
	}
	if rep.Ops > 0 {
		rep.AllocsPerOp = float64(r.Mallocs) / float64(rep.Ops)
	}
	if h := r.Latency; h != nil && h.TotalCount() > 0 {
		rep.Latency = Latency{
			P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P99: h.ValueAtQuantile(99),
			P999: h.ValueAtQuantile(99.9), Max: h.Max(), Samples: h.TotalCount(),
		}
	}
	if s := r.Stats; s != nil {
		st := StatsReport(*s)
		rep.Stats = &st
	} else {
		rep.Notes = append(rep.Notes, r.Impl+" has no Stats(): entries, dirty entries, misses and promotions are not known")
	}
	return rep
}

// Merge adds the result of another round of the same implementation and
// workload to r.
func (r *Result) Merge(o *Result) {
	r.Rounds += o.Rounds
	r.Elapsed += o.Elapsed
	for k := range r.Counts {
		r.Counts[k] += o.Counts[k]
	}
	r.Rejections += o.Rejections
	r.Latency.Merge(o.Latency)
	r.Mallocs += o.Mallocs
	r.GCPauseNs += o.GCPauseNs
	r.GCCycles += o.GCCycles
	r.PeakHeap = max(r.PeakHeap, o.PeakHeap)
	r.Entries, r.Stats = o.Entries, o.Stats
	r.Snapshots += o.Snapshots
	r.SnapshotEntries += o.SnapshotEntries
	r.Cancelled += o.Cancelled
}

// SetRatios fills the Ratio of every report with its throughput and p99
// over those of the first.
func SetRatios(reps []Report) {
	if len(reps) == 0 {
		return
	}
	base := reps[0]
	for i := range reps {
		reps[i].Ratio = &Ratio{
			OpsPerSec: ratio(reps[i].OpsPerSec, base.OpsPerSec),
			P99:       ratio(float64(reps[i].Latency.P99), float64(base.Latency.P99)),
		}
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes the report for a person.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, workload %s (%s keys), %d keys, %d goroutines", rep.Impl, rep.Workload, rep.Dist, rep.Keys, rep.Goroutines)
	if rep.Rounds > 1 {
		fmt.Fprintf(&b, ", %d rounds", rep.Rounds)
	}
	fmt.Fprintf(&b, "\n  %s ops in %.2fs: %s ops/s\n", FormatCount(float64(rep.Ops)), rep.DurationS, FormatCount(rep.OpsPerSec))
	kinds := make([]string, 0, len(rep.OpsByKind))
	for k := range numKinds {
		if n, ok := rep.OpsByKind[k.String()]; ok {
			kinds = append(kinds, fmt.Sprintf("%s %.2f%%", k, 100*float64(n)/float64(max(rep.Ops, 1))))
		}
	}
	fmt.Fprintf(&b, "  mix: %s\n", strings.Join(kinds, ", "))
	l := rep.Latency
	fmt.Fprintf(&b, "  latency (%d samples): p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		l.Samples, ns(l.P50), ns(l.P90), ns(l.P99), ns(l.P999), ns(l.Max))
	fmt.Fprintf(&b, "  allocs/op %s, GC pauses %s in %d cycles, peak heap %s\n",
		sig3(rep.AllocsPerOp), ns(int64(rep.GCPauseTotalNs)), rep.GCCycles, byteSize(rep.PeakHeapBytes))
	fmt.Fprintf(&b, "  entries %d", rep.Entries)
	if rep.Snapshots > 0 {
		fmt.Fprintf(&b, ", snapshots %d (%d entries)", rep.Snapshots, rep.SnapshotEntries)
	}
	if rep.Cancelled > 0 {
		fmt.Fprintf(&b, ", iterations cancelled %d", rep.Cancelled)
	}
	if rep.Rejections > 0 {
		fmt.Fprintf(&b, ", writes refused %d", rep.Rejections)
	}
	b.WriteString("\n")
	if s := rep.Stats; s != nil {
		fmt.Fprintf(&b, "  stats: entries %d, dirty entries %d, read misses %d, promotions %d, iterator cancellations %d, rejections %d (capacity %d, rate %d), active snapshots %d, shards %d\n",
			s.Entries, s.DirtyEntries, s.ReadMisses, s.Promotions, s.IteratorCancellations,
			s.BackpressureRejections, s.RejectedCapacity, s.RejectedRate, s.ActiveSnapshots, s.Shards)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTable writes reports side by side, with ratios to the first.
func WriteTable(w io.Writer, reps []Report) error {
	if len(reps) == 0 {
		return nil
	}
	r0 := reps[0]
	fmt.Fprintf(w, "workload %s (%s keys), %d keys, %d goroutines, %d rounds per implementation, interleaved\n",
		r0.Workload, r0.Dist, r0.Keys, r0.Goroutines, r0.Rounds)
	// Numbers right-aligned, so that their units line up; names (left-
	// aligned) are put before the lines tabwriter aligns, as it aligns all
	// columns one way.
	names := []string{"impl"}
	var nums bytes.Buffer
	tw := tabwriter.NewWriter(&nums, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ops/s\tvs first\tp50\tp99\tp99 vs first\tp99.9\tmax\tallocs/op\tGC pause\tpeak heap\t")
	for _, r := range reps {
		ratios := [2]string{"-", "-"}
		if r.Ratio != nil {
			ratios = [2]string{formatRatio(r.Ratio.OpsPerSec), formatRatio(r.Ratio.P99)}
		}
		names = append(names, r.Impl)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", FormatCount(r.OpsPerSec), ratios[0],
			ns(r.Latency.P50), ns(r.Latency.P99), ratios[1], ns(r.Latency.P999), ns(r.Latency.Max),
			sig3(r.AllocsPerOp), ns(int64(r.GCPauseTotalNs)), byteSize(r.PeakHeapBytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	width := 0
	for _, n := range names {
		width = max(width, utf8.RuneCountInString(n))
	}
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(nums.String(), "\n"), "\n") {
		fmt.Fprintf(&b, "%-*s%s\n", width, names[i], line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatProgress formats a progress line.
func FormatProgress(p Progress) string {
	s := fmt.Sprintf("%6.0fs %9s ops/s  entries %d", p.Elapsed.Seconds(), FormatCount(p.OpsPerSec), p.Entries)
	if st := p.Stats; st != nil {
		s += fmt.Sprintf("  dirty %d  misses/s %s  promotions %d  rejections %d  snapshots open %d",
			st.DirtyEntries, FormatCount(p.MissesPerSec), st.Promotions, st.BackpressureRejections, st.ActiveSnapshots)
	}
	return s
}
