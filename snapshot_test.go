package mapx_test

import (
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

// TestSnapshotAtomicCut: each writer stores x then y with the same round
// number, on keys that fall in different shards. A snapshot that sees y = n
// must see x >= n, or it is not a cut.
func TestSnapshotAtomicCut(t *testing.T) {
	m := mapx.New[string, int]()
	const writers = 4
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			x, y := fmt.Sprintf("x%d", w), fmt.Sprintf("y%d", w)
			for round := 1; !stop.Load(); round++ {
				m.Store(x, round)
				m.Store(y, round)
				if round%7 == 0 {
					m.Delete(fmt.Sprintf("tmp%d-%d", w, round-7))
					m.Store(fmt.Sprintf("tmp%d-%d", w, round), round)
				}
			}
		})
	}
	// A second kind of causality: a goroutine copies x0 to z after reading it.
	wg.Go(func() {
		for !stop.Load() {
			if v, ok := m.Load("x0"); ok {
				m.Store("z", v)
			}
		}
	})
	checked := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline) || checked < 200; checked++ {
		s := m.Snapshot()
		contents := maps.Collect(s.All())
		for w := range writers {
			x, _ := s.Load(fmt.Sprintf("x%d", w))
			y, _ := s.Load(fmt.Sprintf("y%d", w))
			if y > x {
				t.Fatalf("snapshot %d: y%d = %d but x%d = %d", checked, w, y, w, x)
			}
		}
		if z, x0 := contents["z"], contents["x0"]; z > x0 {
			t.Fatalf("snapshot %d: z = %d copied from x0 but x0 = %d", checked, z, x0)
		}
		if again := maps.Collect(s.All()); !maps.Equal(again, contents) {
			t.Fatalf("snapshot %d changed between two iterations", checked)
		}
		if s.Len() != len(contents) {
			t.Fatalf("snapshot Len = %d, iteration saw %d", s.Len(), len(contents))
		}
		s.Close()
	}
	stop.Store(true)
	wg.Wait()
}

func TestSnapshotIsolation(t *testing.T) {
	m := mapx.New[int, string](mapx.WithShards(4))
	for i := range 100 {
		m.Store(i, "before")
	}
	s := m.Snapshot()
	defer s.Close()
	for i := range 50 {
		m.Delete(i) // deleted after the snapshot: still in it
	}
	for i := 50; i < 100; i++ {
		m.Store(i, "after") // updated after: old value in it
	}
	for i := 100; i < 200; i++ {
		m.Store(i, "new") // inserted after: not in it
	}
	m.Clear()
	m.Store(7, "revived")
	for i := range 200 {
		v, ok := s.Load(i)
		if i < 100 && (!ok || v != "before") {
			t.Fatalf("snapshot Load(%d) = %q, %v; want \"before\", true", i, v, ok)
		}
		if i >= 100 && ok {
			t.Fatalf("snapshot Load(%d) = %q: inserted after the snapshot", i, v)
		}
	}
	if s.Len() != 100 {
		t.Fatalf("snapshot Len = %d, want 100", s.Len())
	}
	n := 0
	for _, v := range s.All() {
		if v != "before" {
			t.Fatalf("snapshot yielded %q", v)
		}
		n++
	}
	if n != 100 || m.Len() != 1 {
		t.Fatalf("snapshot yielded %d entries (want 100), map has %d (want 1)", n, m.Len())
	}
}

func TestSnapshotHistoryIsBounded(t *testing.T) {
	m := mapx.New[int, int]()
	m.Store(1, 0)
	s := m.Snapshot()
	for i := range 1000 {
		m.Store(1, i)
	}
	if n := mapx.HistoryLen(m, 1); n > 2 {
		t.Fatalf("one open snapshot keeps %d versions of a key, want at most 2", n)
	}
	// Snapshots that come and go while s stays open.
	for i := range 100 {
		s2 := m.Snapshot()
		m.Store(1, i)
		s2.Close()
	}
	m.Store(1, -1)
	if n := mapx.HistoryLen(m, 1); n > 3 {
		t.Fatalf("%d versions kept with one snapshot open", n)
	}
	if v, _ := s.Load(1); v != 0 {
		t.Fatalf("snapshot lost its version: %d", v)
	}
	s.Close()
	m.Store(1, 5)
	if n := mapx.HistoryLen(m, 1); n != 1 {
		t.Fatalf("%d versions kept with no snapshot open, want 1", n)
	}
}

func TestSnapshotUseAfterClosePanics(t *testing.T) {
	m := mapx.New[int, int]()
	s := m.Snapshot()
	s.Close()
	s.Close() // idempotent
	defer func() {
		if r := recover(); r != "mapx: Snapshot used after Close" {
			t.Fatalf("recovered %v", r)
		}
	}()
	s.Load(1)
}

func TestForgottenSnapshotIsReleased(t *testing.T) {
	m := mapx.New[int, int]()
	m.Store(1, 1)
	func() {
		s := m.Snapshot()
		_, _ = s.Load(1)
	}()
	if got := m.Stats().ActiveSnapshots; got != 1 {
		t.Fatalf("ActiveSnapshots = %d, want 1", got)
	}
	for i := 0; i < 100 && m.Stats().ActiveSnapshots != 0; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // cleanups run on their own goroutine
	}
	if got := m.Stats().ActiveSnapshots; got != 0 {
		t.Fatalf("a dropped snapshot is still active after 100 collections")
	}
	m.Store(1, 2)
	if n := mapx.HistoryLen(m, 1); n != 1 {
		t.Fatalf("%d versions kept after the snapshot was collected", n)
	}
}

func TestSnapshotOfZeroMap(t *testing.T) {
	var m mapx.Map[string, int]
	s := m.Snapshot()
	defer s.Close()
	if s.Len() != 0 {
		t.Fatal("snapshot of an empty map is not empty")
	}
	m.Store("a", 1)
	if _, ok := s.Load("a"); ok {
		t.Fatal("snapshot sees a later insert")
	}
}

// TestSnapshotsSurviveWritersAndGC keeps several snapshots open while
// writers replace and delete values (strings, so the collector traces them
// through the chains of old versions) and the collector runs: each snapshot
// must keep yielding, and loading, exactly what it yielded first.
func TestSnapshotsSurviveWritersAndGC(t *testing.T) {
	m := mapx.New[int, string](mapx.WithShards(4))
	for k := range 64 {
		m.Store(k, "init")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + w*13) % 64
				if i%5 == 0 {
					m.Delete(k)
				} else {
					m.Store(k, fmt.Sprint(w, "/", i))
				}
			}
		})
	}
	type open struct {
		s    *mapx.Snapshot[int, string]
		seen map[int]string
	}
	var snaps []open
	check := func(o open) {
		if got := maps.Collect(o.s.All()); !maps.Equal(got, o.seen) {
			t.Fatalf("a snapshot yielded %d entries, then %d different ones", len(o.seen), len(got))
		}
		for k := range 64 {
			v, ok := o.s.Load(k)
			if want, wok := o.seen[k]; ok != wok || v != want {
				t.Fatalf("snapshot Load(%d) = %q, %v; it yielded %q, %v", k, v, ok, want, wok)
			}
		}
	}
	for round := range 200 {
		s := m.Snapshot()
		snaps = append(snaps, open{s, maps.Collect(s.All())})
		if round%10 == 0 {
			runtime.GC()
		}
		for _, o := range snaps {
			check(o)
		}
		if len(snaps) == 8 {
			snaps[0].s.Close()
			snaps = snaps[1:]
		}
	}
	stop.Store(true)
	wg.Wait()
	runtime.GC()
	for _, o := range snaps {
		check(o)
		o.s.Close()
	}
}
