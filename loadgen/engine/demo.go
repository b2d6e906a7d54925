package engine

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The demo's defaults; the -duration, -keys, -goroutines, -rate and
// -leak-rate flags override them when given.
const (
	DemoPhase      = 40 * time.Second // four phases: under three minutes
	DemoKeys       = 50_000
	DemoGoroutines = 2
	DemoRate       = 100_000 // ops/s: the demo leaves most of a core idle
	DemoLeakRate   = 5000    // keys/s
)

// DemoOptions configure [RunDemo].
type DemoOptions struct {
	Phase      time.Duration
	Keys       int
	Goroutines int
	Rate       float64
	LeakRate   float64
	// Forever repeats the phases until ctx is done.
	Forever bool
	// Map names the map and gives its providers; the demo sets MaxEntries.
	Map MapOptions
	// Out receives the phase banners and, if Progress, a line a second.
	Out      io.Writer
	Progress bool
	// AfterPhase, if set, is called at the end of each phase.
	AfterPhase func(phase string)
}

// PhaseResult is the outcome of one phase of the demo.
type PhaseResult struct {
	Phase  string
	Result *Result
}

type demoPhase struct {
	name, does, watch string
	cfg               RunConfig
	before            func()
}

// DemoMaxEntries is the demo's cap on entries: the leak reaches it halfway
// through the pressure phase, after 1.5 phases of leaking.
func DemoMaxEntries(o DemoOptions) int {
	return o.Keys + int(o.LeakRate*o.Phase.Seconds()*1.5)
}

// RunDemo runs the demo on one instrumented map (mapx-instrumented): a
// healthy read-mostly phase; a leak that grows the entries and the dirty map,
// with snapshots and iterations cancelled by their deadline; pressure, when
// the leak reaches the cap and TryStore refuses it; and recovery, when the
// leaked keys are deleted. It returns each phase's result; a run cut short
// by ctx returns the phases it ran, with a nil error.
func RunDemo(ctx context.Context, o DemoOptions) ([]PhaseResult, error) {
	o.Map.MaxEntries = DemoMaxEntries(o)
	t, err := NewTarget("mapx-instrumented", o.Map, o.Keys)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	base := RunConfig{Goroutines: o.Goroutines, Duration: o.Phase, Rate: o.Rate, LeakRate: o.LeakRate, Admission: true,
		ProgressEvery: min(time.Second, o.Phase/3)}
	healthy, leak, pressure := base, base, base
	healthy.Workload, healthy.SnapshotEvery = "read-mostly", max(o.Phase/4, time.Millisecond)
	leak.Workload = "leak"
	pressure.Workload, pressure.SnapshotEvery, pressure.CancelEvery = "leak", max(o.Phase/4, time.Millisecond), max(o.Phase/10, time.Millisecond)
	name := o.Map.Name
	phases := []demoPhase{
		{name: "healthy", cfg: healthy,
			does:  fmt.Sprintf("read-mostly at up to %s ops/s on %d keys, a snapshot every %v", FormatCount(o.Rate), o.Keys, healthy.SnapshotEvery),
			watch: fmt.Sprintf(`rate(mapx_operations_total{mapx_name=%q}[1m]) steady, mapx_entries flat at %d, mapx_dirty_entries 0, mapx_read_misses_total flat`, name, o.Keys)},
		{name: "leak", cfg: leak,
			does:  fmt.Sprintf("the same reads, plus %s new keys/s that are never deleted", FormatCount(o.LeakRate)),
			watch: "mapx_entries and mapx_dirty_entries climb in a straight line (no read misses, so no promotion empties the dirty map)"},
		{name: "pressure", cfg: pressure,
			does: fmt.Sprintf("the leak goes on; a snapshot every %v, an iteration cancelled by its deadline every %v; the leak reaches the cap of %d entries (-max-entries) halfway through and TryStore refuses it",
				pressure.SnapshotEvery, pressure.CancelEvery, o.Map.MaxEntries),
			watch: `mapx_iterator_cancellations_total climbs; each snapshot or iteration promotes the dirty maps (mapx_dirty_promotions_total jumps by the shard count), yet the next insert copies the read map into a new dirty map, so mapx_dirty_entries follows mapx_entries until the cap; then mapx_entries flattens, mapx_dirty_entries drops to 0 and mapx_backpressure_rejections_total{mapx_reason="capacity"} climbs`},
		{name: "recovery", cfg: healthy, before: func() { t.DeleteInserted() },
			does:  "the leaked keys are deleted (the fix is deployed) and the healthy reads go on",
			watch: fmt.Sprintf("mapx_entries falls back to %d, mapx_backpressure_rejections_total stops climbing", o.Keys)},
	}
	var out []PhaseResult
	for cycle := 1; ; cycle++ {
		for i, ph := range phases {
			if ctx.Err() != nil {
				return out, nil
			}
			fmt.Fprintf(o.Out, "\n== phase %d/%d: %s (%v)", i+1, len(phases), ph.name, o.Phase)
			if o.Forever {
				fmt.Fprintf(o.Out, ", cycle %d", cycle)
			}
			fmt.Fprintf(o.Out, "\n   does:  %s\n   watch: %s\n", ph.does, ph.watch)
			if ph.before != nil {
				ph.before()
			}
			if o.Progress {
				label := fmt.Sprintf("[%s] ", ph.name)
				ph.cfg.OnProgress = func(p Progress) { fmt.Fprintf(o.Out, "%s%s\n", label, FormatProgress(p)) }
			}
			res, err := Run(ctx, t, ph.cfg)
			if err != nil {
				return out, err
			}
			out = append(out, PhaseResult{Phase: ph.name, Result: res})
			rep := BuildReport(res)
			fmt.Fprintf(o.Out, "   end of %s: %s ops/s, p99 %s", ph.name, FormatCount(rep.OpsPerSec), ns(rep.Latency.P99))
			if s := rep.Stats; s != nil {
				fmt.Fprintf(o.Out, ", entries %d, dirty %d, promotions %d, iterator cancellations %d, rejections %d",
					s.Entries, s.DirtyEntries, s.Promotions, s.IteratorCancellations, s.BackpressureRejections)
			}
			fmt.Fprintln(o.Out)
			if o.AfterPhase != nil {
				o.AfterPhase(ph.name)
			}
		}
		if !o.Forever {
			return out, nil
		}
	}
}
