package instrumented_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
)

// The recorder keeps the map's own figures: the age of the oldest open
// snapshot, opened before recording began and outliving a newer one, and
// the WithMaxEntries cap.
func TestRecorderRecordsSnapshotAgeAndEntryLimit(t *testing.T) {
	h := newHarness(t)
	inner := mapx.New[int, int](mapx.WithMaxEntries(500))
	m := instrumented.Wrap(inner, h.opts("recorder-ages")...)
	defer m.Close()
	m.Store(1, 1)

	opened1 := time.Now()
	s1 := inner.Snapshot()
	time.Sleep(200 * time.Millisecond)
	opened2 := time.Now()
	s2 := inner.Snapshot()
	r := &instrumented.Recorder{}
	t0 := time.Now()
	r.Sample(t0) // the first sample: both snapshots were opened before it
	last := lastSample(t, r, "recorder-ages")
	if last.ActiveSnapshots != 2 || last.OldestSnapshotAge < 200*time.Millisecond || last.EntryLimit != 500 {
		t.Errorf("first sample %+v: want 2 snapshots, the oldest open >= 200ms, entry limit 500", last)
	}
	s1.Close()
	r.Sample(t0.Add(time.Second))
	since2, since1 := time.Since(opened2), time.Since(opened1)
	last = lastSample(t, r, "recorder-ages")
	if last.ActiveSnapshots != 1 || last.OldestSnapshotAge <= 0 || last.OldestSnapshotAge > since2 {
		t.Errorf("after closing the older: %+v, want 1 snapshot of age in (0, %v], not the older's %v", last, since2, since1)
	}
	s2.Close()
	r.Sample(t0.Add(2 * time.Second))
	if last = lastSample(t, r, "recorder-ages"); last.ActiveSnapshots != 0 || last.OldestSnapshotAge != 0 {
		t.Errorf("all closed: %+v, want no snapshot and age 0", last)
	}
}

func lastSample(t *testing.T, r *instrumented.Recorder, name string) instrumented.Sample {
	t.Helper()
	s := historyOf(t, r, name).Samples
	return s[len(s)-1]
}

// A leaking map with WithMaxEntries gets the time to its limit on the page,
// which is given no Limits: the page reads the cap from the map's Stats.
func TestDebugPageTimeToRecordedEntryLimit(t *testing.T) {
	h := newHarness(t)
	const limit = 1_000_000
	inner := mapx.New[int, int](mapx.WithMaxEntries(limit))
	m := instrumented.Wrap(inner, h.opts("page-leak")...)
	defer m.Close()
	snap := inner.Snapshot()
	defer snap.Close()
	time.Sleep(100 * time.Millisecond)
	page := instrumented.NewDebugPage()
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()
	r, err := instrumented.StartDebugPageRecorder(page, time.Hour) // the test's samples only
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 21 { // 1,000 entries a second for 20 s
		for k := i * 1000; k < (i+1)*1000; k++ {
			m.Store(k, k)
		}
		r.Sample(t0.Add(time.Duration(i+1) * time.Second))
	}

	rep := getPage(t, srv.URL)
	var mp *pageMap
	for i := range rep.Maps {
		if rep.Maps[i].Name == "page-leak" {
			mp = &rep.Maps[i]
		}
	}
	if mp == nil {
		t.Fatal("page-leak not on the page")
	}
	if mp.Now.EntryLimit != limit || mp.Now.OldestSnapshotAgeSeconds < 0.1 {
		t.Errorf("now %+v: want entry_limit %d and the snapshot's age, >= 0.1s", mp.Now, limit)
	}
	var ttl float64
	for _, f := range mp.Findings {
		for _, n := range f.Numbers {
			if f.Kind == instrumented.FindingGrowth && n.Name == "time to entry limit" {
				ttl = n.Value
			}
		}
	}
	if want := float64(limit-21000) / 1000; ttl < 0.9*want || ttl > 1.1*want {
		t.Errorf("findings %+v: want growth with the time to the entry limit, about %.0fs", mp.Findings, want)
	}
	if mp.Findings[0].Severity != instrumented.SeverityCritical {
		t.Errorf("a limit 16 minutes away: %+v, want critical", mp.Findings[0])
	}
	_, body := get(t, srv.URL)
	if !strings.Contains(body, `<td data-field="entry_limit">1000000</td>`) || !strings.Contains(body, `<td data-field="active_snapshots">1 (oldest `) {
		t.Errorf("the page's table does not show the entry limit and the snapshot's age")
	}
}

type pageMap struct {
	Name string `json:"name"`
	Now  struct {
		EntryLimit               int64   `json:"entry_limit"`
		OldestSnapshotAgeSeconds float64 `json:"oldest_snapshot_age_seconds"`
	} `json:"now"`
	Findings []instrumented.Finding `json:"findings"`
}

func getPage(t *testing.T, url string) struct{ Maps []pageMap } {
	t.Helper()
	_, body := get(t, url+"?format=json")
	var rep struct{ Maps []pageMap }
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
