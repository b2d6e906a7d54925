package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// Every implementation runs every kind of operation, stops at exactly
// MaxOps, and its snapshots see every key (the balanced mix only updates).
func TestEveryImplementation(t *testing.T) {
	const keys = 2000
	for _, im := range Impls {
		t.Run(im.Name, func(t *testing.T) {
			// A ycsb-e scan takes a snapshot: fewer of them.
			for wl, ops := range map[string]int64{"balanced": 20_000, "ycsb-e": 2000, "ycsb-f": 20_000} {
				tg := newTarget(t, im.Name, keys)
				res, err := Run(context.Background(), tg, RunConfig{Workload: wl, Goroutines: 3, MaxOps: ops, LeakRate: 1})
				if err != nil {
					t.Fatal(err)
				}
				_ = tg.Close() // frees the instrumented map's name for the next workload
				rep := BuildReport(res)
				if rep.Ops != ops {
					t.Errorf("%s: %d ops, want exactly %d", wl, rep.Ops, ops)
				}
				if rep.Latency.Samples == 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
					t.Errorf("%s: latency %+v", wl, rep.Latency)
				}
				if (rep.Stats != nil) != im.Stats {
					t.Errorf("%s: stats %v, want present = %v", wl, rep.Stats, im.Stats)
				}
				if wl == "balanced" && rep.Entries != keys {
					t.Errorf("balanced: %d entries after updates only, want %d", rep.Entries, keys)
				}
			}
		})
	}
}

func TestSnapshotsAndCancelledIterations(t *testing.T) {
	const keys = 3000
	for _, impl := range []string{"mapx-instrumented", "sync.Map", "rwmutex"} {
		t.Run(impl, func(t *testing.T) {
			tg := newTarget(t, impl, keys)
			res, err := Run(context.Background(), tg, RunConfig{Workload: "balanced", Goroutines: 2, Duration: time.Second,
				Rate: 50_000, LeakRate: 1, SnapshotEvery: 20 * time.Millisecond, CancelEvery: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Snapshots == 0 || res.SnapshotEntries != res.Snapshots*keys {
				t.Errorf("%d snapshots with %d entries, want some, each with all %d keys", res.Snapshots, res.SnapshotEntries, keys)
			}
			if res.Cancelled == 0 {
				t.Errorf("no iteration was cancelled by its deadline")
			}
			if res.Stats != nil && res.Stats.IteratorCancellations != res.Cancelled {
				t.Errorf("map counted %d cancellations, the engine %d", res.Stats.IteratorCancellations, res.Cancelled)
			}
		})
	}
}

// -rate and the leak's inserter are paced by the clock: however fast the
// machine, a run never gets ahead of rate × elapsed (plus one batch per
// goroutine).
func TestRatesArePaced(t *testing.T) {
	tg := newTarget(t, "mapx", 1000)
	const rate, leakRate = 20_000, 3000
	res, err := Run(context.Background(), tg, RunConfig{Workload: "leak", Goroutines: 2, Duration: 500 * time.Millisecond, Rate: rate, LeakRate: leakRate})
	if err != nil {
		t.Fatal(err)
	}
	secs := res.Elapsed.Seconds()
	inserts := res.Counts[KindInsert]
	if max := int64(leakRate*secs) + int64(batchFor(leakRate, 1024)); inserts == 0 || inserts > max {
		t.Errorf("leak inserted %d keys in %.3fs, want between 1 and %d", inserts, secs, max)
	}
	if got := tg.Inserted(); got != uint64(inserts) {
		t.Errorf("the key space grew by %d, the report counts %d inserts", got, inserts)
	}
	mix := res.Counts[KindLoad] + res.Counts[KindUpdate]
	if max := int64(rate*secs) + 2*int64(batchFor(rate/2, 256)); mix == 0 || mix > max {
		t.Errorf("%d operations in %.3fs at -rate %d, want between 1 and %d", mix, secs, rate, max)
	}
	if res.Stats.Entries != int64(1000+inserts) || res.Stats.DirtyEntries != res.Stats.Entries {
		t.Errorf("after a leak: stats %+v, want %d entries, all in the dirty map", *res.Stats, 1000+inserts)
	}
}

// Churn inserts and deletes in turn on every goroutine: the size stays
// within one key per goroutine of where it started.
func TestChurnKeepsTheSizeSteady(t *testing.T) {
	const keys, g = 5000, 3
	tg := newTarget(t, "mapx", keys)
	res, err := Run(context.Background(), tg, RunConfig{Workload: "churn", Goroutines: g, MaxOps: 200_000, LeakRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[KindInsert] < 40_000 {
		t.Fatalf("only %d inserts", res.Counts[KindInsert])
	}
	if res.Entries < keys-g || res.Entries > keys+g {
		t.Errorf("%d entries after churn, want %d ± %d", res.Entries, keys, g)
	}
}

func TestAdmissionRefusalsAreCounted(t *testing.T) {
	tg, err := NewTarget("mapx", MapOptions{MaxEntries: 1100}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	res, err := Run(context.Background(), tg, RunConfig{Workload: "ycsb-d", Goroutines: 2, MaxOps: 50_000, LeakRate: 1, Admission: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 1100 || res.Rejections == 0 || res.Stats.RejectedCapacity != res.Rejections {
		t.Errorf("entries %d, rejections %d, map's %d; want 1100 and equal counts above 0", res.Entries, res.Rejections, res.Stats.RejectedCapacity)
	}
	if _, err := Run(context.Background(), newTarget(t, "xsync", 10), RunConfig{Workload: "balanced", Goroutines: 1, MaxOps: 1, LeakRate: 1, Admission: true}); err == nil {
		t.Error("admission on xsync: no error")
	}
}

func TestRunStopsWhenContextIsDone(t *testing.T) {
	tg := newTarget(t, "mapx", 100)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res, err := Run(ctx, tg, RunConfig{Workload: "read-mostly", Goroutines: 2, LeakRate: 1}) // no duration, no limit
	if err != nil || res.Counts[KindLoad] == 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

func TestDemoShowsEveryPhase(t *testing.T) {
	const keys = 2000
	var out bytes.Buffer
	o := DemoOptions{Phase: 400 * time.Millisecond, Keys: keys, Goroutines: 2, Rate: 50_000, LeakRate: 20_000, Map: MapOptions{Name: "demo-test"}, Out: &out, Progress: true}
	phases, err := RunDemo(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 4 {
		t.Fatalf("%d phases, want 4", len(phases))
	}
	st := func(i int) string { return phases[i].Phase }
	healthy, leak, pressure, recovery := phases[0].Result.Stats, phases[1].Result.Stats, phases[2].Result.Stats, phases[3].Result.Stats
	if st(0) != "healthy" || healthy.Entries != keys || healthy.BackpressureRejections != 0 || phases[0].Result.Snapshots == 0 {
		t.Errorf("%s: %+v, %d snapshots", st(0), *healthy, phases[0].Result.Snapshots)
	}
	if st(1) != "leak" || leak.Entries <= keys || leak.DirtyEntries != leak.Entries {
		t.Errorf("%s: %+v; want more entries than %d, all in the dirty map", st(1), *leak, keys)
	}
	if cap := int64(DemoMaxEntries(o)); st(2) != "pressure" || pressure.Entries != cap || pressure.RejectedCapacity == 0 ||
		pressure.IteratorCancellations == 0 || phases[2].Result.Snapshots == 0 {
		t.Errorf("%s: %+v; want %d entries (the cap), refusals, cancellations and snapshots", st(2), *pressure, cap)
	}
	if st(3) != "recovery" || recovery.Entries != keys || recovery.BackpressureRejections != pressure.BackpressureRejections {
		t.Errorf("%s: %+v; want %d entries and no new refusals", st(3), *recovery, keys)
	}
	for _, s := range []string{"phase 1/4: healthy", "phase 4/4: recovery", "[leak]", "watch:"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
}
