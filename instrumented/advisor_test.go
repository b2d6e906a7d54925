package instrumented_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	h.Samples[len(h.Samples)-1].ActiveSnapshots = 1
	h.Samples[len(h.Samples)-1].OldestSnapshotAge = 6 * time.Minute
	fs := instrumented.Advise(h, instrumented.Limits{})
	if len(fs) == 0 || fs[0].Kind != instrumented.FindingSnapshotOpen || fs[0].Severity != instrumented.SeverityWarning {
		t.Errorf("a snapshot open for 6m: findings %+v", fs)
	}
	h.Samples[len(h.Samples)-1].OldestSnapshotAge = time.Minute
	if fs := instrumented.Advise(h, instrumented.Limits{}); fs[0].Kind == instrumented.FindingSnapshotOpen {
		t.Errorf("a snapshot open for 1m is reported")
	}

	leak := readHistory(t, "leak.json")
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

// Two snapshots that overlap keep a snapshot open at every sample for 10
// minutes, but the older one is closed: the finding goes by the age of the
// oldest one still open, as Stats records it, not by how long some
// snapshot has been open.
func TestAdviseSnapshotAgeOfOverlappingSnapshots(t *testing.T) {
	// a is open from 0 to 6 minutes, b from openB to the end, at 10 minutes.
	history := func(openB time.Duration) instrumented.History {
		h := instrumented.History{Kind: "mapx", Name: "overlap"}
		t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
		for at := time.Duration(0); at <= 10*time.Minute; at += 10 * time.Second {
			s := instrumented.Sample{Time: t0.Add(at), Entries: 100}
			if at <= 6*time.Minute {
				s.ActiveSnapshots, s.OldestSnapshotAge = 1, at
			}
			if at >= openB {
				s.ActiveSnapshots++
				if s.OldestSnapshotAge == 0 {
					s.OldestSnapshotAge = at - openB
				}
			}
			h.Samples = append(h.Samples, s)
		}
		return h
	}
	fs := instrumented.Advise(history(4*time.Minute), instrumented.Limits{})
	if len(fs) == 0 || fs[0].Kind != instrumented.FindingSnapshotOpen {
		t.Fatalf("b open for 6m: findings %+v, want snapshot-left-open", fs)
	}
	var age float64
	for _, n := range fs[0].Numbers {
		if n.Name == "oldest open for" {
			age = n.Value
		}
	}
	if age != 360 || !strings.Contains(fs[0].Verdict, "6m0s") {
		t.Errorf("finding %+v: want the age of b, 6m (360s), not the 10m some snapshot was open", fs[0])
	}
	// b open for 3 minutes: under the 5 minutes, though a snapshot was
	// open at every sample for 10.
	for _, f := range instrumented.Advise(history(7*time.Minute), instrumented.Limits{}) {
		if f.Kind == instrumented.FindingSnapshotOpen {
			t.Errorf("b open for 3m is reported: %+v", f)
		}
	}
}

// The entry limit recorded in the history gives the time to it when Limits
// has none; an explicit Limits.MaxEntries wins.
func TestAdviseRecordedEntryLimit(t *testing.T) {
	leak := readHistory(t, "leak.json")
	entries := leak.Samples[len(leak.Samples)-1].Entries
	ttl := func(fs []instrumented.Finding) float64 {
		for _, f := range fs {
			for _, n := range f.Numbers {
				if f.Kind == instrumented.FindingGrowth && n.Name == "time to entry limit" {
					return n.Value
				}
			}
		}
		return 0
	}
	if got := ttl(instrumented.Advise(leak, instrumented.Limits{})); got != 0 {
		t.Fatalf("the old recording has no entry limit, yet a time to it: %vs", got)
	}
	recorded := entries + 2000*3600
	for i := range leak.Samples {
		leak.Samples[i].EntryLimit = recorded
	}
	fs := instrumented.Advise(leak, instrumented.Limits{})
	if want, got := float64(recorded-entries)/2000, ttl(fs); got < 0.8*want || got > 1.2*want {
		t.Errorf("recorded limit %d: time to it %.0fs, want about %.0fs", recorded, got, want)
	}
	if fs[0].Kind != instrumented.FindingGrowth || fs[0].Severity != instrumented.SeverityCritical {
		t.Errorf("an hour from the recorded limit: %+v, want critical growth", fs[0])
	}
	explicit := entries + 2000*3600*24
	if want, got := float64(explicit-entries)/2000, ttl(instrumented.Advise(leak, instrumented.Limits{MaxEntries: explicit})); got < 0.8*want || got > 1.2*want {
		t.Errorf("explicit limit %d over the recorded one: time to it %.0fs, want about %.0fs", explicit, got, want)
	}
}
