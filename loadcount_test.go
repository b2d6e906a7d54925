package mapx_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

// countingObserver is an Observer with a LoadCounter.
type countingObserver struct{ lc *mapx.LoadCounter }

func (countingObserver) IterationStarted(context.Context, bool) func(mapx.Iteration) { return nil }
func (countingObserver) WaitStarted(context.Context) func(error)                     { return nil }
func (o countingObserver) LoadCounter() *mapx.LoadCounter                            { return o.lc }

// counting returns a LoadCounter that counts, set as m's observer.
func counting(m *mapx.Map[int, int]) *mapx.LoadCounter {
	lc := mapx.NewLoadCounter(0, nil)
	lc.SetCounting(true)
	m.SetObserver(countingObserver{lc})
	return lc
}

// TestLoadCounterModel: a random mix of writes and loads, on maps whose keys
// take every path of Load (the read table, the dirty table, probes past
// colliding tags and full groups, deleted entries), counts exactly the hits
// and misses that a reference map gives.
func TestLoadCounterModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []mapx.Option
	}{
		{"maphash", nil},
		{"colliding", []mapx.Option{mapx.WithHasher(func(k int) uint64 { return uint64(k % 5) })}},
		{"one shard", []mapx.Option{mapx.WithShards(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mapx.New[int, int](tc.opts...)
			lc := counting(m)
			ref := map[int]int{}
			r := rand.New(rand.NewPCG(1, 2))
			var hits, misses int64
			for i := range 200_000 {
				k := r.IntN(500)
				switch r.IntN(10) {
				case 0:
					m.Store(k, i)
					ref[k] = i
				case 1:
					m.Delete(k)
					delete(ref, k)
				default:
					v, ok := m.Load(k)
					want, wantOK := ref[k]
					if ok != wantOK || v != want {
						t.Fatalf("Load(%d) = %d, %v; want %d, %v", k, v, ok, want, wantOK)
					}
					if ok {
						hits++
					} else {
						misses++
					}
				}
			}
			if h, ms := lc.Counts(); h != hits || ms != misses {
				t.Fatalf("counted %d hits, %d misses; want %d, %d", h, ms, hits, misses)
			}
		})
	}
}

// TestLoadCounterConcurrent: loads from many goroutines, while others
// write, are each counted once.
func TestLoadCounterConcurrent(t *testing.T) {
	m := mapx.New[int, int]()
	for k := range 1000 {
		m.Store(k, k)
	}
	lc := counting(m)
	const goroutines, loads = 8, 20_000
	var stop atomic.Bool
	var wg, writers sync.WaitGroup
	writers.Go(func() { // stores and deletes keys no load asks for
		for i := 0; !stop.Load(); i++ {
			m.Store(2000+i%100, i)
			m.Delete(2000 + (i+50)%100)
		}
	})
	for g := range goroutines {
		wg.Go(func() {
			for i := range loads {
				k := (i + g) % 1000
				if i%4 == 0 {
					k += 5000 // never stored
				}
				m.Load(k)
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	writers.Wait()
	hits, misses := lc.Counts()
	if want := int64(goroutines * loads / 4); misses != want || hits != goroutines*loads-want {
		t.Fatalf("counted %d hits, %d misses; want %d, %d", hits, misses, goroutines*loads-want, want)
	}
}

// TestLoadCounterOff: nothing is counted before SetCounting(true), after
// SetCounting(false), after SetObserver(nil), or for an observer without a
// LoadCounter; snapshots' loads are not counted.
func TestLoadCounterOff(t *testing.T) {
	m := mapx.New[int, int]()
	m.Store(1, 1)
	lc := mapx.NewLoadCounter(0, nil)
	m.SetObserver(countingObserver{lc})
	m.Load(1)
	lc.SetCounting(true)
	m.Load(1)
	m.Load(2)
	s := m.Snapshot()
	s.Load(1)
	s.Close()
	lc.SetCounting(false)
	m.Load(1)
	lc.SetCounting(true)
	m.SetObserver(nil)
	m.Load(1)
	m.SetObserver(countingObserver{lc})
	m.SetObserver(plainObserver{})
	m.Load(1)
	if h, ms := lc.Counts(); h != 1 || ms != 1 {
		t.Fatalf("counted %d hits, %d misses; want 1, 1", h, ms)
	}
}

type plainObserver struct{}

func (plainObserver) IterationStarted(context.Context, bool) func(mapx.Iteration) { return nil }
func (plainObserver) WaitStarted(context.Context) func(error)                     { return nil }

// TestLoadCounterTimes: with timeEvery 1 every load is timed, the first one
// too, with its result; with a larger timeEvery about one in timeEvery; and
// TimeNext times the next load.
func TestLoadCounterTimes(t *testing.T) {
	type timing struct {
		d   time.Duration
		hit bool
	}
	var mu sync.Mutex
	var got []timing
	record := func(d time.Duration, hit bool) {
		mu.Lock()
		got = append(got, timing{d, hit})
		mu.Unlock()
	}
	taken := func() []timing {
		mu.Lock()
		defer mu.Unlock()
		g := got
		got = nil
		return g
	}

	m := mapx.New[int, int]()
	m.Store(1, 1)
	lc := mapx.NewLoadCounter(1, record)
	lc.SetCounting(true)
	m.SetObserver(countingObserver{lc})
	m.Load(1)
	m.Load(2)
	m.Load(1)
	g := taken()
	if len(g) != 3 || !g[0].hit || g[1].hit || !g[2].hit {
		t.Fatalf("timeEvery 1: timed %+v, want hit, miss, hit", g)
	}
	for _, x := range g {
		if x.d <= 0 {
			t.Fatalf("duration %v", x.d)
		}
	}
	if h, ms := lc.Counts(); h != 2 || ms != 1 {
		t.Fatalf("timed loads counted as %d hits, %d misses; want 2, 1", h, ms)
	}

	lc = mapx.NewLoadCounter(64, record)
	lc.SetCounting(true)
	m.SetObserver(countingObserver{lc})
	for range 64 * 100 {
		m.Load(1)
	}
	if n := len(taken()); n < 50 || n > 101 {
		t.Fatalf("timeEvery 64: %d of 6400 loads timed, want about 100", n)
	}

	lc = mapx.NewLoadCounter(1<<30, record)
	lc.SetCounting(true)
	m.SetObserver(countingObserver{lc})
	m.Load(1)
	lc.TimeNext()
	m.Load(1)
	m.Load(1)
	if n := len(taken()); n != 1 {
		t.Fatalf("TimeNext: %d loads timed, want 1", n)
	}

	lc = mapx.NewLoadCounter(1, nil) // nothing to time with
	lc.SetCounting(true)
	lc.TimeNext()
	m.SetObserver(countingObserver{lc})
	m.Load(1)
	if h, _ := lc.Counts(); h != 1 {
		t.Fatalf("without timed: %d hits, want 1", h)
	}
}

func TestNewLoadCounterRejectsTimeEvery(t *testing.T) {
	for _, n := range []int{-1, 3, 1000} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, "timeEvery") {
					t.Errorf("NewLoadCounter(%d) panicked with %q, want a message naming timeEvery", n, r)
				}
			}()
			mapx.NewLoadCounter(n, nil)
		}()
	}
}
