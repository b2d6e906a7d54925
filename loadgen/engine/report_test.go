package engine

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

func syntheticResult(impl string, elapsed time.Duration, loads, updates int64, latencies ...int64) *Result {
	r := &Result{Impl: impl, Workload: "balanced", Dist: "uniform", Goroutines: 2, Keys: 10, Rounds: 1,
		Elapsed: elapsed, Latency: newLatency(), Mallocs: uint64(2 * (loads + updates)), GCPauseNs: 1500, GCCycles: 3, PeakHeap: 4 << 20, Entries: 10}
	r.Counts[KindLoad], r.Counts[KindUpdate] = loads, updates
	for _, v := range latencies {
		_ = r.Latency.RecordValue(v)
	}
	return r
}

func TestReportArithmetic(t *testing.T) {
	lat := make([]int64, 1000)
	for i := range lat {
		lat[i] = int64(i + 1) // 1..1000 ns
	}
	r := syntheticResult("rwmutex", 2*time.Second, 3000, 1000, lat...)
	rep := BuildReport(r)
	if rep.Ops != 4000 || rep.OpsPerSec != 2000 || rep.AllocsPerOp != 2 || rep.DurationS != 2 {
		t.Errorf("ops %d, ops/s %v, allocs/op %v, duration %v; want 4000, 2000, 2, 2", rep.Ops, rep.OpsPerSec, rep.AllocsPerOp, rep.DurationS)
	}
	if rep.OpsByKind["load"] != 3000 || rep.OpsByKind["update"] != 1000 || len(rep.OpsByKind) != 2 {
		t.Errorf("ops by kind = %v", rep.OpsByKind)
	}
	// HDR with 3 significant digits: values up to 1000 are exact to 1 ns.
	want := Latency{P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000, Samples: 1000}
	if rep.Latency != want {
		t.Errorf("latency = %+v, want %+v", rep.Latency, want)
	}
	if rep.Stats != nil || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "no Stats") {
		t.Errorf("a result without Stats: stats %v, notes %q", rep.Stats, rep.Notes)
	}

	// A second round adds up; the peak is the larger.
	r2 := syntheticResult("rwmutex", time.Second, 1000, 1000, 2000)
	r2.PeakHeap = 8 << 20
	r.Merge(r2)
	rep = BuildReport(r)
	if rep.Rounds != 2 || rep.Ops != 6000 || rep.DurationS != 3 || rep.OpsPerSec != 2000 || rep.AllocsPerOp != 2 ||
		rep.GCPauseTotalNs != 3000 || rep.GCCycles != 6 || rep.PeakHeapBytes != 8<<20 || rep.Latency.Samples != 1001 || rep.Latency.Max != 2000 {
		t.Errorf("merged: %+v", rep)
	}
}

func TestRatiosAndTable(t *testing.T) {
	a := syntheticResult("mapx", time.Second, 1000, 0, 100)
	a.Stats = &mapx.Stats{Entries: 10, DirtyEntries: 3, Shards: 64}
	b := syntheticResult("sync.Map", time.Second, 500, 0, 300)
	reps := []Report{BuildReport(a), BuildReport(b)}
	SetRatios(reps)
	if *reps[0].Ratio != (Ratio{OpsPerSec: 1, P99: 1}) || *reps[1].Ratio != (Ratio{OpsPerSec: 0.5, P99: 3}) {
		t.Errorf("ratios %+v, %+v; want {1 1}, {0.5 3}", *reps[0].Ratio, *reps[1].Ratio)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, reps); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"mapx", "sync.Map", "1.00x", "0.500x", "3.00x", "1.00k", "500"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}

	buf.Reset()
	if err := WriteJSON(&buf, reps[0]); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"impl", "workload", "duration_s", "ops", "ops_per_sec", "latency_ns", "allocs_per_op", "gc_pause_total_ns", "peak_heap_bytes", "stats"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		if _, ok := m["latency_ns"].(map[string]any)[k]; !ok {
			t.Errorf("latency_ns lacks %q", k)
		}
	}
	if st := m["stats"].(map[string]any); st["dirty_entries"] != 3.0 || st["shards"] != 64.0 {
		t.Errorf("stats = %v", st)
	}
}
