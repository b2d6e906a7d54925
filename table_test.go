package mapx

import (
	"math/rand/v2"
	"testing"
)

// TestTableModel drives a table with random inserts and removes against a Go
// map. The hashes come from a small set of values chosen so that keys share
// groups, tags, and tags one apart (the case where the group-wide byte
// comparison reports a false match above a true one), and every removal mode
// (back to empty, or a deleted marker) and rehash (growing, or rebuilding at
// the same size) happens many times.
func TestTableModel(t *testing.T) {
	for seed := range uint64(16) {
		r := rand.New(rand.NewPCG(seed, 7))
		const shardBits = 6
		tab := newTable[int, int](0)
		model := map[int]*entry[int, int]{}
		// hashOfKey gives few distinct group indexes and tags, so that
		// probes run long and tags collide.
		hashOfKey := func(k int) uint64 {
			group := uint64(k%5) << (64 - shardBits - 3)
			tag := uint64(2+k%3) << 16
			return group | tag | uint64(k)<<24&(1<<(64-shardBits-3)-1)&^(0xff<<16)
		}
		for op := range 20000 {
			k := r.IntN(300)
			h := hashOfKey(k)
			if e, ok := model[k]; ok && r.IntN(2) == 0 {
				tab.remove(h, shardBits, k)
				delete(model, k)
				if got := tab.lookup(h, shardBits, k); got != nil {
					t.Fatalf("seed %d op %d: key %d found after remove", seed, op, k)
				}
				_ = e
			} else if !ok {
				e := newEntry(k, h, 0, k)
				tab.insert(e, shardBits)
				model[k] = e
			}
			if tab.len() != len(model) {
				t.Fatalf("seed %d op %d: len %d, want %d", seed, op, tab.len(), len(model))
			}
			if op%500 == 0 {
				checkTable(t, tab, model, hashOfKey)
			}
		}
		checkTable(t, tab, model, hashOfKey)
		c := tab.clone()
		checkTable(t, c, model, hashOfKey)
	}
}

func checkTable(t *testing.T, tab *table[int, int], model map[int]*entry[int, int], hashOfKey func(int) uint64) {
	t.Helper()
	for k, e := range model {
		if got := tab.lookup(hashOfKey(k), 6, k); got != e {
			t.Fatalf("lookup(%d) = %p, want %p", k, got, e)
		}
	}
	for k := 300; k < 320; k++ {
		if got := tab.lookup(hashOfKey(k), 6, k); got != nil {
			t.Fatalf("lookup(%d) of an absent key = %p", k, got)
		}
	}
	seen := map[int]bool{}
	for e := range tab.all {
		if seen[e.key] || model[e.key] != e {
			t.Fatalf("all yielded key %d twice or not in the model", e.key)
		}
		seen[e.key] = true
	}
	if len(seen) != len(model) {
		t.Fatalf("all yielded %d entries, want %d", len(seen), len(model))
	}
	free := 0
	for i := range tab.groups {
		for j := range groupSlots {
			if tab.groups[i].ctrl>>(8*j)&0xff < 2 {
				free++
			}
		}
	}
	if live := len(tab.groups)*groupSlots - free; live != tab.live {
		t.Fatalf("control bytes say %d live slots, the table %d", live, tab.live)
	}
	if tab.used*4 > len(tab.groups)*groupSlots*3 {
		t.Fatalf("table over 3/4 full: %d used of %d slots", tab.used, len(tab.groups)*groupSlots)
	}
}

// TestGroupMatches checks the group-wide byte comparison against a byte by
// byte one on random control words: every true match is reported, and a false
// one only directly above another match.
func TestGroupMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var g group[int, int]
		small := r.IntN(2) == 0 // small values: neighbours collide often
		for j := range groupSlots {
			v := uint64(r.IntN(256))
			if small {
				v %= 6
			}
			g.ctrl |= v << (8 * j)
		}
		for _, b := range []uint8{0, 1, 2, 3, 4, 5, uint8(r.IntN(256))} {
			m := g.matches(b)
			for j := range groupSlots {
				is := g.ctrl>>(8*j)&0xff == uint64(b)
				got := m>>(8*j+7)&1 == 1
				if is && !got {
					t.Fatalf("ctrl %016x: byte %d is %d but not reported", g.ctrl, j, b)
				}
				if got && !is && (j == 0 || m>>(8*(j-1)+7)&1 == 0) {
					t.Fatalf("ctrl %016x: byte %d reported as %d with no match below it", g.ctrl, j, b)
				}
			}
			if lowest := slotOf(m); m != 0 && g.ctrl>>(8*lowest)&0xff != uint64(b) {
				t.Fatalf("ctrl %016x: the lowest match for %d is wrong", g.ctrl, b)
			}
		}
		f := g.free()
		if lowest := slotOf(f); f != 0 && g.ctrl>>(8*lowest)&0xff >= 2 {
			t.Fatalf("ctrl %016x: the lowest free slot is not free", g.ctrl)
		}
		if anyFree := g.matches(ctrlEmpty) != 0 || g.matches(ctrlDel) != 0; anyFree != (f != 0) {
			t.Fatalf("ctrl %016x: free() disagrees", g.ctrl)
		}
	}
}
