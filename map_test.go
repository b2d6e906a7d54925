package mapx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mapx-dev/mapx"
)

func TestZeroMapIsReady(t *testing.T) {
	var m mapx.Map[string, int]
	if _, ok := m.Load("a"); ok || m.Len() != 0 {
		t.Fatal("zero map is not empty")
	}
	var wg sync.WaitGroup
	for i := range 8 { // the first uses race to initialise it
		wg.Go(func() { m.Store(fmt.Sprint(i), i) })
	}
	wg.Wait()
	if m.Len() != 8 {
		t.Fatalf("Len = %d, want 8", m.Len())
	}
}

func TestMissesAndPromotionsAreExact(t *testing.T) {
	m := mapx.New[int, int](mapx.WithShards(1))
	m.Store(1, 1) // in the dirty map only
	if st := m.Stats(); st.DirtyEntries != 1 || st.ReadMisses != 0 || st.Promotions != 0 {
		t.Fatalf("after one insert: %+v", st)
	}
	loads := func(key, n int) {
		for range n {
			m.Load(key)
		}
	}
	loads(1, 15) // misses below the floor of 16 promote nothing
	if st := m.Stats(); st.ReadMisses != 15 || st.Promotions != 0 || st.DirtyEntries != 1 {
		t.Fatalf("after 15 misses: %+v", st)
	}
	m.Load(1) // the 16th miss reaches the floor and the dirty map's size: promotion
	if st := m.Stats(); st.ReadMisses != 16 || st.Promotions != 1 || st.DirtyEntries != 0 {
		t.Fatalf("after 16 misses: %+v", st)
	}
	m.Load(1)   // now in the read map
	m.Load(999) // absent, and the read map is complete: no lock, no miss
	if st := m.Stats(); st.ReadMisses != 16 || st.Promotions != 1 {
		t.Fatalf("after read-map hits: %+v", st)
	}
	for k := 2; k <= 20; k++ { // copies the read map into a new dirty map
		m.Store(k, k)
	}
	if st := m.Stats(); st.DirtyEntries != 20 {
		t.Fatalf("dirty map holds %d entries, want 20", st.DirtyEntries)
	}
	// 19 new keys: fewer than twice the misses once they reach the floor, so
	// the dirty map is promoted when misses reach its size.
	loads(2, 19)
	if st := m.Stats(); st.ReadMisses != 35 || st.Promotions != 1 {
		t.Fatalf("19 misses below the dirty size: %+v", st)
	}
	m.Load(2)
	if st := m.Stats(); st.ReadMisses != 36 || st.Promotions != 2 || st.Entries != 20 {
		t.Fatalf("20th miss: %+v", st)
	}
	// 80 new keys, at least twice the misses: the keys are being replaced,
	// and 16 misses (a sixteenth of the live keys or more) promote.
	for k := 21; k <= 100; k++ {
		m.Store(k, k)
	}
	loads(50, 15)
	if st := m.Stats(); st.ReadMisses != 51 || st.Promotions != 2 || st.DirtyEntries != 100 {
		t.Fatalf("15 misses among new keys: %+v", st)
	}
	m.Load(50)
	if st := m.Stats(); st.ReadMisses != 52 || st.Promotions != 3 || st.DirtyEntries != 0 {
		t.Fatalf("16 misses among new keys: %+v", st)
	}
	// A read that deletes a key only the dirty map holds is a miss, but
	// promoting would not bring its key into the read map.
	for k := 200; k < 240; k++ {
		m.Store(k, k)
		m.LoadAndDelete(k)
	}
	if st := m.Stats(); st.ReadMisses != 92 || st.Promotions != 3 || st.Entries != 100 {
		t.Fatalf("40 deletes of new keys: %+v", st)
	}
}

func TestRangeContextCancellation(t *testing.T) {
	m := mapx.New[int, int]()
	for i := range 10000 {
		m.Store(i, i)
	}
	s := m.Snapshot()
	defer s.Close()
	for _, tc := range []struct {
		name string
		rng  func(context.Context, func(int, int) bool) error
	}{{"Map", m.RangeContext}, {"Snapshot", s.RangeContext}} {
		before := m.Stats().IteratorCancellations
		ctx, cancel := context.WithCancel(context.Background())
		visited, afterCancel := 0, 0
		err := tc.rng(ctx, func(int, int) bool {
			visited++
			if visited == 1000 {
				cancel()
			}
			if visited > 1000 {
				afterCancel++
			}
			return true
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: err = %v, want context.Canceled", tc.name, err)
		}
		if afterCancel >= 256 {
			t.Fatalf("%s: visited %d entries after cancel", tc.name, afterCancel)
		}
		if got := m.Stats().IteratorCancellations - before; got != 1 {
			t.Fatalf("%s: counted %d cancellations, want 1", tc.name, got)
		}
		// A stop asked for by the callback is not a cancellation.
		if err := tc.rng(context.Background(), func(int, int) bool { return false }); err != nil {
			t.Fatal(err)
		}
		// An already cancelled context visits nothing.
		n := 0
		if err := tc.rng(ctx, func(int, int) bool { n++; return true }); !errors.Is(err, context.Canceled) || n != 0 {
			t.Fatalf("%s: cancelled context: err %v after %d entries", tc.name, err, n)
		}
		if got := m.Stats().IteratorCancellations - before; got != 2 {
			t.Fatalf("%s: counted %d cancellations, want 2", tc.name, got)
		}
	}
}

func TestComputeOps(t *testing.T) {
	m := mapx.New[string, int]()
	inc := func(old int, loaded bool) (int, mapx.ComputeOp) { return old + 1, mapx.UpdateOp }
	for range 3 {
		m.Compute("n", inc)
	}
	if v, ok := m.Load("n"); !ok || v != 3 {
		t.Fatalf("after 3 increments: %d, %v", v, ok)
	}
	v, ok := m.Compute("n", func(old int, loaded bool) (int, mapx.ComputeOp) { return 0, mapx.CancelOp })
	if !ok || v != 3 {
		t.Fatalf("CancelOp returned %d, %v", v, ok)
	}
	if v, ok := m.Compute("n", func(int, bool) (int, mapx.ComputeOp) { return 0, mapx.DeleteOp }); ok || v != 0 {
		t.Fatalf("DeleteOp returned %d, %v", v, ok)
	}
	if _, ok := m.Compute("absent", func(int, bool) (int, mapx.ComputeOp) { return 1, mapx.CancelOp }); ok || m.Len() != 0 {
		t.Fatal("CancelOp on an absent key inserted it")
	}
	// Concurrent increments are not lost.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				m.Compute("c", inc)
			}
		})
	}
	wg.Wait()
	if v, _ := m.Load("c"); v != 4000 {
		t.Fatalf("4000 concurrent increments gave %d", v)
	}
}

func TestLoadAndStoreDoNotAllocate(t *testing.T) {
	m := mapx.New[string, int]()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("user:%08d", i)
		m.Store(keys[i], i)
	}
	for _, k := range keys {
		m.Load(k) // promote every shard's dirty map
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() { m.Load(keys[i%len(keys)]); i++ }); a != 0 {
		t.Errorf("Load: %v allocs/op, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { m.Store(keys[i%len(keys)], i); i++ }); a > 1 {
		t.Errorf("Store of an existing key: %v allocs/op, want at most 1", a)
	}
	if a := testing.AllocsPerRun(1000, func() { m.Delete(keys[i%len(keys)]); i++ }); a != 0 {
		t.Errorf("Delete with no snapshot open: %v allocs/op, want 0", a)
	}
	s := m.Snapshot()
	defer s.Close()
	if a := testing.AllocsPerRun(1000, func() { s.Load(keys[i%len(keys)]); i++ }); a != 0 {
		t.Errorf("Snapshot.Load: %v allocs/op, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = m.Stats(); _ = m.Len() }); a != 0 {
		t.Errorf("Stats and Len: %v allocs/op, want 0", a)
	}
}

func TestWithHasher(t *testing.T) {
	// A constant hash puts every key in one shard: still correct.
	m := mapx.New[int, int](mapx.WithHasher(func(int) uint64 { return 7 }), mapx.WithShards(16))
	for i := range 100 {
		m.Store(i, i)
	}
	for i := range 100 {
		if v, ok := m.Load(i); !ok || v != i {
			t.Fatalf("Load(%d) = %d, %v", i, v, ok)
		}
	}
	if m.Len() != 100 || m.Stats().Shards != 16 {
		t.Fatalf("Len %d, stats %+v", m.Len(), m.Stats())
	}
}

func TestShardLayout(t *testing.T) {
	if size := mapx.ShardSize(); size%64 != 0 {
		t.Fatalf("a shard is %d bytes, not a whole number of 64-byte cache lines", size)
	}
	if off := mapx.ReadLineOffset(); off != 64 {
		t.Fatalf("the shard's writer fields start at byte %d, want 64: they would share the read pointer's cache line", off)
	}
}

// TestEntryLayout keeps the version inside an entry to the value and one
// word: with string keys and int values an entry fits the 48-byte size class
// and an update allocates 16 bytes.
func TestEntryLayout(t *testing.T) {
	if size := mapx.EntrySize(); size != 48 {
		t.Errorf("an entry[string, int] is %d bytes, want 48", size)
	}
	if size := mapx.NodeSize(); size != 16 {
		t.Errorf("a node[int] is %d bytes, want 16", size)
	}
}

// TestDirtyViewFollowsTheDirtyTable: the groups that lookups start loading
// early are the dirty table's, through its creation, its rehashes as it
// grows, promotion and Clear; a stale view would only waste the prefetch,
// so this is what shows that it is not wasted.
func TestDirtyViewFollowsTheDirtyTable(t *testing.T) {
	m := mapx.New[int, int](mapx.WithShards(4))
	check := func(when string, wantDirty bool) {
		t.Helper()
		withDirty, stale := mapx.DirtyViews(m)
		if stale != 0 {
			t.Fatalf("%s: %d shards' views do not match their dirty tables", when, stale)
		}
		if wantDirty && withDirty == 0 {
			t.Fatalf("%s: no shard has a dirty table; the test checks nothing", when)
		}
	}
	check("empty", false)
	for i := range 5000 { // many rehashes of each shard's dirty table
		m.Store(i, i)
		if i%97 == 0 {
			check(fmt.Sprintf("after %d inserts", i+1), true)
		}
	}
	for i := range 5000 { // misses promote the dirty tables
		m.Load(-1 - i)
		m.Load(i)
	}
	check("after loads", false)
	m.Store(-1, -1) // a new dirty table, cloned from the read table
	check("after an insert following promotion", true)
	m.Clear()
	check("after Clear", false)
}

// Load hands out a version's value whether or not the version is live (a
// branch on it costs loads of deleted keys a misprediction), so every
// deleted version must hold the zero value: tombstones, expunged markers,
// and the deleted versions kept for open snapshots, in every shard.
func TestDeletedVersionsHoldTheZeroValue(t *testing.T) {
	m := mapx.New[int, int](mapx.WithShards(4))
	for k := 1; k <= 200; k++ {
		m.Store(k, k)
	}
	var snaps []*mapx.Snapshot[int, int]
	for round := range 6 {
		if round%2 == 0 {
			snaps = append(snaps, m.Snapshot()) // deleted versions get history
		}
		for k := 1; k <= 200; k++ {
			switch (k + round) % 5 {
			case 0:
				m.Delete(k)
			case 1:
				m.LoadAndDelete(k)
			case 2:
				m.Compute(k, func(int, bool) (int, mapx.ComputeOp) { return 0, mapx.DeleteOp })
			case 3:
				m.Store(k, k*10+round) // revive
			}
		}
		for k := 1000 * (round + 1); k < 1000*(round+1)+50; k++ {
			m.Store(k, k) // new keys: dirty tables, which expunge deleted entries
			m.Load(k)
		}
		if round == 3 {
			for _, s := range snaps[:len(snaps)-1] {
				s.Close()
			}
			snaps = snaps[len(snaps)-1:]
		}
	}
	if n := mapx.DeadVersionsWithValues(m); n != 0 {
		t.Fatalf("%d deleted versions hold a value", n)
	}
	for k := 1; k <= 200; k++ {
		if v, ok := m.Load(k); !ok && v != 0 {
			t.Fatalf("Load(%d) = %d, false", k, v)
		}
	}
	for _, s := range snaps {
		s.Close()
	}
}

// TestSwapsReturnEachValueOnce: goroutines swap distinct values into one key;
// every value written, and the one it started with, is then either returned
// by exactly one Swap as the value it replaced or left in the map. Updated
// values move back into their entry, so a Swap that read the entry's own
// version while another writer rewrote it would return a value twice and
// lose one (see moveBack); Compute, LoadAndDelete and CompareAndSwap run
// alongside.
func TestSwapsReturnEachValueOnce(t *testing.T) {
	const goroutines, swaps = 4, 20000
	m := mapx.New[int, int]()
	m.Store(1, 0)
	returned := make([][]int, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= swaps; i++ {
				v := g<<20 | i
				record := func(old int, loaded bool) {
					if loaded {
						returned[g] = append(returned[g], old)
					}
				}
				switch i % 8 {
				case 0: // Compute, reporting the value it replaced
					var old int
					var loaded bool
					m.Compute(1, func(o int, l bool) (int, mapx.ComputeOp) {
						old, loaded = o, l
						return v, mapx.UpdateOp
					})
					record(old, loaded)
				case 2: // LoadAndDelete, then a Swap into the missing key
					record(m.LoadAndDelete(1))
					record(m.Swap(1, v))
				case 4: // CompareAndSwap from the value it loaded
					for {
						old, ok := m.Load(1)
						if !ok {
							record(m.Swap(1, v))
							break
						}
						if mapx.CompareAndSwap(m, 1, old, v) {
							record(old, true)
							break
						}
					}
				default:
					record(m.Swap(1, v))
				}
			}
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for _, r := range returned {
		for _, v := range r {
			seen[v]++
		}
	}
	if last, ok := m.Load(1); ok {
		seen[last]++
	}
	want := []int{0}
	for g := range goroutines {
		for i := 1; i <= swaps; i++ {
			want = append(want, g<<20|i)
		}
	}
	for _, v := range want {
		if seen[v] != 1 {
			t.Fatalf("value %#x: replaced or left %d times, want once", v, seen[v])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d distinct values seen, %d written", len(seen), len(want))
	}
}

// TestUpdatedValuesMoveBackIntoTheirEntries: after an update, a value of one
// machine word is moved back into its entry, so that loads take one cache
// miss less, in the race detector's build too — except while a snapshot is
// open, which may read the entry's old version. Wider values stay in their
// own versions, since a load racing their rewrite could see one torn.
func TestUpdatedValuesMoveBackIntoTheirEntries(t *testing.T) {
	const moves = true
	ints := mapx.New[string, int]()
	ints.Store("k", 1)
	for i, update := range []func(){
		func() { ints.Store("k", 2) },
		func() { ints.Swap("k", 3) },
		func() { mapx.CompareAndSwap(ints, "k", 3, 4) },
		func() {
			ints.Compute("k", func(old int, _ bool) (int, mapx.ComputeOp) { return old + 1, mapx.UpdateOp })
		},
	} {
		update()
		if got := mapx.ValueInEntry(ints, "k"); got != moves {
			t.Errorf("update %d: value in its entry: %v, want %v", i, got, moves)
		}
	}
	if v, _ := ints.Load("k"); v != 5 {
		t.Fatalf("Load = %d, want 5", v)
	}

	snap := ints.Snapshot()
	ints.Store("k", 6)
	if mapx.ValueInEntry(ints, "k") {
		t.Error("a value moved back into its entry while a snapshot was open")
	}
	if v, _ := snap.Load("k"); v != 5 {
		t.Errorf("snapshot Load = %d, want 5", v)
	}
	snap.Close()
	ints.Store("k", 7)
	if got := mapx.ValueInEntry(ints, "k"); got != moves {
		t.Errorf("after the snapshot closed: value in its entry: %v, want %v", got, moves)
	}

	strs := mapx.New[string, string]()
	strs.Store("k", "a")
	strs.Store("k", "b")
	if mapx.ValueInEntry(strs, "k") {
		t.Error("a string value moved back into its entry")
	}
	if v, _ := strs.Load("k"); v != "b" {
		t.Errorf("Load = %q, want b", v)
	}
}
