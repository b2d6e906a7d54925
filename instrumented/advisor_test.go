package instrumented_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/instrumented"
)

// The histories in testdata/advisor were recorded from real loadgen runs by
// testdata/advisor/record.sh; each must give its verdict and no other
// warning.
func TestAdviseRecordedWorkloads(t *testing.T) {
	for _, c := range []struct {
		file   string
		limits instrumented.Limits
		want   []string // kinds, most urgent first
	}{
		{"read-mostly.json", instrumented.Limits{}, []string{instrumented.FindingReadMostly}},
		{"churn.json", instrumented.Limits{}, []string{instrumented.FindingChurn}},
		{"leak.json", instrumented.Limits{}, []string{instrumented.FindingGrowth}},
		{"pressure.json", instrumented.Limits{MaxEntries: 101000}, []string{instrumented.FindingBackpressure}},
		{"small-map.json", instrumented.Limits{}, []string{instrumented.FindingTooManyShards, instrumented.FindingReadMostly}},
	} {
		t.Run(c.file, func(t *testing.T) {
			h := readHistory(t, c.file)
			fs := instrumented.Advise(h, c.limits)
			var kinds []string
			for _, f := range fs {
				kinds = append(kinds, f.Kind)
				if f.Verdict == "" || len(f.Numbers) == 0 || f.Runbook != instrumented.RunbookURL+"#"+f.Kind {
					t.Errorf("finding %+v: want a verdict, numbers and its runbook section", f)
				}
			}
			if !slices.Equal(kinds, c.want) {
				for _, f := range fs {
					t.Logf("%s %s: %s %v", f.Severity, f.Kind, f.Verdict, f.Numbers)
				}
				t.Errorf("findings %v, want %v", kinds, c.want)
			}
		})
	}
}

func readHistory(t *testing.T, file string) instrumented.History {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "advisor", file))
	if err != nil {
		t.Fatal(err)
	}
	var h instrumented.History
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Findings no loadgen run of a minute can record: a snapshot open for
// minutes, and growth toward a limit.
func TestAdviseSnapshotLeftOpenAndTimeToLimit(t *testing.T) {
	h := readHistory(t, "read-mostly.json")
	last := h.Samples[len(h.Samples)-1].Time
	h.SnapshotsOpenSince = last.Add(-6 * time.Minute)
	h.Samples[len(h.Samples)-1].ActiveSnapshots = 1
	fs := instrumented.Advise(h, instrumented.Limits{})
	if len(fs) == 0 || fs[0].Kind != instrumented.FindingSnapshotOpen || fs[0].Severity != instrumented.SeverityWarning {
		t.Errorf("a snapshot open for 6m: findings %+v", fs)
	}
	h.SnapshotsOpenSince = last.Add(-time.Minute)
	if fs := instrumented.Advise(h, instrumented.Limits{}); fs[0].Kind == instrumented.FindingSnapshotOpen {
		t.Errorf("a snapshot open for 1m is reported")
	}

	leak := readHistory(t, "leak.json")
	last = leak.Samples[len(leak.Samples)-1].Time
	entries := leak.Samples[len(leak.Samples)-1].Entries
	for _, c := range []struct {
		limit int64
		want  instrumented.Severity
	}{
		{entries + 2000*3600, instrumented.SeverityCritical}, // about an hour at 2,000/s
		{entries + 2000*3600*24, instrumented.SeverityWarning},
	} {
		fs := instrumented.Advise(leak, instrumented.Limits{MaxEntries: c.limit})
		if fs[0].Kind != instrumented.FindingGrowth || fs[0].Severity != c.want {
			t.Errorf("limit %d: %+v, want growth, %s", c.limit, fs[0], c.want)
		}
		var ttl float64
		for _, n := range fs[0].Numbers {
			if n.Name == "time to entry limit" {
				ttl = n.Value
			}
		}
		if want := float64(c.limit-entries) / 2000; ttl < 0.8*want || ttl > 1.2*want {
			t.Errorf("limit %d: time to limit %.0fs, want about %.0fs", c.limit, ttl, want)
		}
	}
	// With a memory limit instead, the time to it at the heap's growth.
	heap := leak.Samples[len(leak.Samples)-1].HeapBytes
	fs = instrumented.Advise(leak, instrumented.Limits{MemoryLimit: heap + 1<<40})
	var ttl float64
	for _, n := range fs[0].Numbers {
		if n.Name == "time to memory limit" {
			ttl = n.Value
		}
	}
	if fs[0].Kind != instrumented.FindingGrowth || ttl <= 0 {
		t.Errorf("with a memory limit: %+v, want growth with the time to the limit", fs[0])
	}
	_ = last
}

// Dirty bloat: no loadgen workload keeps three dirty entries per live one
// for long, so the read-mostly recording is given them.
func TestAdviseDirtyBloat(t *testing.T) {
	h := readHistory(t, "read-mostly.json")
	for i := range h.Samples {
		h.Samples[i].DirtyEntries = 3 * h.Samples[i].Entries
	}
	fs := instrumented.Advise(h, instrumented.Limits{})
	if len(fs) != 1 || fs[0].Kind != instrumented.FindingDirtyBloat {
		t.Errorf("findings %+v, want dirty-bloat alone", fs)
	}
	h.Samples[len(h.Samples)-1].DirtyEntries = 0 // the median ignores one sample
	if fs := instrumented.Advise(h, instrumented.Limits{}); len(fs) != 1 || fs[0].Kind != instrumented.FindingDirtyBloat {
		t.Errorf("one sample without bloat: %+v", fs)
	}
}
