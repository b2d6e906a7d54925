package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/examples/internal/smoke"
)

func TestMain(m *testing.M) { smoke.Main(m, main) }

const nWriters, per = 2, 2000

// startWriters runs writers until the test ends.
func startWriters(t *testing.T) (*mapx.Map[string, record], *writers) {
	m := mapx.New[string, record]()
	w := newWriters(m, nWriters, per)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for id := range nWriters {
		wg.Go(func() { w.run(id, stop) })
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
	return m, w
}

// pauseHalfway returns an each-func that, halfway through an export, waits
// until every writer has finished three more sweeps: the writers certainly
// rewrite every key while the export runs.
func pauseHalfway(t *testing.T, w *writers) func(int) {
	return func(i int) {
		if i != nWriters*per/2 {
			return
		}
		var start [nWriters]uint64
		for id := range start {
			start[id] = w.sweeps[id].Load()
		}
		deadline := time.Now().Add(time.Minute)
		for id := range start {
			for w.sweeps[id].Load() < start[id]+3 {
				if time.Now().After(deadline) {
					t.Fatal("the writers made no progress")
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

func TestSnapshotExportIsACutWhileWritersRun(t *testing.T) {
	m, w := startWriters(t)
	for range 3 {
		var buf bytes.Buffer
		if err := exportSnapshot(context.Background(), &buf, m, pauseHalfway(t, w)); err != nil {
			t.Fatal(err)
		}
		s, err := check(&buf, nWriters, per)
		if err != nil {
			t.Fatalf("snapshot export: %v", err)
		}
		if s.entries != nWriters*per {
			t.Errorf("%d entries", s.entries)
		}
	}
}

// The check is not vacuous: the same export from the live map, with the
// writers rewriting every key three times halfway through, fails it.
func TestLiveRangeExportFailsTheCheck(t *testing.T) {
	m, w := startWriters(t)
	var buf bytes.Buffer
	if err := exportLive(context.Background(), &buf, m, pauseHalfway(t, w)); err != nil {
		t.Fatal(err)
	}
	if _, err := check(&buf, nWriters, per); err == nil {
		t.Error("a live Range export torn by three sweeps passed the check")
	}
}

func TestCheckRejectsTornAndIncompleteExports(t *testing.T) {
	good := `{"entries":4,"items":[{"key":"w0/0","writer":0,"index":0,"version":5},{"key":"w0/1","writer":0,"index":1,"version":4},
	{"key":"w1/1","writer":1,"index":1,"version":7},{"key":"w1/0","writer":1,"index":0,"version":7}]}`
	if _, err := check(strings.NewReader(good), 2, 2); err != nil {
		t.Fatalf("good export: %v", err)
	}
	for name, bad := range map[string]string{
		"rising":    strings.Replace(good, `"index":1,"version":4`, `"index":1,"version":6`, 1),
		"spread":    strings.Replace(good, `"index":1,"version":4`, `"index":1,"version":3`, 1),
		"duplicate": strings.Replace(good, `"key":"w1/1","writer":1,"index":1`, `"key":"w1/0","writer":1,"index":0`, 1),
		"short":     strings.Replace(good, `"entries":4`, `"entries":5`, 1),
		"foreign":   strings.Replace(good, `"key":"w0/0"`, `"key":"x"`, 1),
		"not json":  `{"items":[`,
	} {
		if _, err := check(strings.NewReader(bad), 2, 2); err == nil {
			t.Errorf("%s: passed the check", name)
		}
	}
}

func TestProgramEndsByItself(t *testing.T) {
	dir := t.TempDir()
	stdout := smoke.RunOK(t, time.Minute, "-duration", "600ms", "-keys", "2000", "-writers", "2", "-exports", "2", "-out", dir)
	for _, want := range []string{"export 1: 2000 entries", "export 2: 2000 entries", "consistent", "for contrast"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if r := smoke.Run(t, time.Minute, "-writers", "0"); r.Code != 2 || !strings.Contains(r.Stderr, "-writers") {
		t.Errorf("-writers 0: exit status %d, stderr %q", r.Code, r.Stderr)
	}
}
