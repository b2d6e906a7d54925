package mapx_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/mapx-dev/mapx"
)

// modelRun drives a Map and a reference Go map with the same operations and
// fails on the first difference.
type modelRun struct {
	t     testing.TB
	m     *mapx.Map[int, int]
	ref   map[int]int
	cap   int // WithMaxEntries, 0 if none
	snaps []modelSnap
	next  int
}

type modelSnap struct {
	s   *mapx.Snapshot[int, int]
	ref map[int]int
}

const modelKeys = 24

func newModelRun(t testing.TB, capEntries int, opts ...mapx.Option) *modelRun {
	if capEntries > 0 {
		opts = append(opts, mapx.WithMaxEntries(capEntries))
	}
	return &modelRun{t: t, m: mapx.New[int, int](opts...), ref: map[int]int{}, cap: capEntries}
}

func (r *modelRun) close() {
	for _, s := range r.snaps {
		s.s.Close()
	}
}

func (r *modelRun) check(what string, gotV int, gotOK bool, wantV int, wantOK bool) {
	r.t.Helper()
	if gotOK != wantOK || (wantOK && gotV != wantV) {
		r.t.Fatalf("%s: got (%d, %v), want (%d, %v)", what, gotV, gotOK, wantV, wantOK)
	}
}

func (r *modelRun) checkContents(what string, got map[int]int, want map[int]int) {
	r.t.Helper()
	if !maps.Equal(got, want) {
		r.t.Fatalf("%s: contents %v, want %v", what, got, want)
	}
}

// step applies one operation chosen by op to key, with arg as a parameter.
func (r *modelRun) step(op, key, arg byte) {
	r.t.Helper()
	k := int(key) % modelKeys
	r.next++
	v := r.next
	refV, refOK := r.ref[k]
	switch op % 20 {
	case 0:
		got, ok := r.m.Load(k)
		r.check("Load", got, ok, refV, refOK)
	case 1:
		r.m.Store(k, v)
		r.ref[k] = v
	case 2:
		got, loaded := r.m.LoadOrStore(k, v)
		if refOK {
			r.check("LoadOrStore", got, loaded, refV, true)
		} else {
			r.check("LoadOrStore", got, loaded, v, false)
			r.ref[k] = v
		}
	case 3:
		got, ok := r.m.LoadAndDelete(k)
		r.check("LoadAndDelete", got, ok, refV, refOK)
		delete(r.ref, k)
	case 4:
		r.m.Delete(k)
		delete(r.ref, k)
	case 5:
		got, ok := r.m.Swap(k, v)
		r.check("Swap", got, ok, refV, refOK)
		r.ref[k] = v
	case 6, 7, 8:
		want := mapx.ComputeOp(op%20 - 6)
		got, ok := r.m.Compute(k, func(old int, loaded bool) (int, mapx.ComputeOp) {
			r.check("Compute old", old, loaded, refV, refOK)
			return v, want
		})
		switch want {
		case mapx.UpdateOp:
			r.ref[k] = v
		case mapx.DeleteOp:
			delete(r.ref, k)
		}
		nv, nok := r.ref[k]
		r.check("Compute", got, ok, nv, nok)
	case 9:
		old := refV
		if arg%2 == 0 {
			old = -1 // a value never stored
		}
		swapped := mapx.CompareAndSwap(r.m, k, old, v)
		if want := refOK && refV == old; swapped != want {
			r.t.Fatalf("CompareAndSwap(%d, %d): %v, want %v", k, old, swapped, want)
		}
		if swapped {
			r.ref[k] = v
		}
	case 10:
		old := refV
		if arg%2 == 0 {
			old = -1
		}
		deleted := mapx.CompareAndDelete(r.m, k, old)
		if want := refOK && refV == old; deleted != want {
			r.t.Fatalf("CompareAndDelete(%d, %d): %v, want %v", k, old, deleted, want)
		}
		if deleted {
			delete(r.ref, k)
		}
	case 11:
		if arg%8 == 0 {
			r.m.Clear()
			clear(r.ref)
		}
	case 12:
		r.checkContents("All", maps.Collect(r.m.All()), r.ref)
	case 13, 14:
		if len(r.snaps) < 4 {
			r.snaps = append(r.snaps, modelSnap{s: r.m.Snapshot(), ref: maps.Clone(r.ref)})
		}
	case 15:
		if len(r.snaps) > 0 {
			s := r.snaps[int(arg)%len(r.snaps)]
			got, ok := s.s.Load(k)
			sv, sok := s.ref[k]
			r.check("Snapshot.Load", got, ok, sv, sok)
			if arg%4 == 0 {
				r.checkContents("Snapshot.All", maps.Collect(s.s.All()), s.ref)
				if s.s.Len() != len(s.ref) {
					r.t.Fatalf("Snapshot.Len = %d, want %d", s.s.Len(), len(s.ref))
				}
			}
		}
	case 16:
		if len(r.snaps) > 0 {
			i := int(arg) % len(r.snaps)
			r.checkContents("Snapshot.All before Close", maps.Collect(r.snaps[i].s.All()), r.snaps[i].ref)
			r.snaps[i].s.Close()
			r.snaps = append(r.snaps[:i], r.snaps[i+1:]...)
		}
	case 17:
		err := r.m.TryStore(k, v)
		refused := !refOK && r.cap > 0 && len(r.ref) >= r.cap
		if refused != (err != nil) {
			r.t.Fatalf("TryStore(%d) with %d of %d entries: err %v, want refused=%v", k, len(r.ref), r.cap, err, refused)
		}
		if err == nil {
			r.ref[k] = v
		}
	case 18:
		n := 0
		for key := range r.m.Keys() {
			if _, ok := r.ref[key]; !ok {
				r.t.Fatalf("Keys yielded %d, not in the map", key)
			}
			n++
		}
		if n != len(r.ref) {
			r.t.Fatalf("Keys yielded %d keys, want %d", n, len(r.ref))
		}
	case 19:
		stopAfter := int(arg)%3 + 1
		seen := 0
		err := r.m.RangeContext(context.Background(), func(int, int) bool {
			seen++
			return seen < stopAfter
		})
		if err != nil || seen != min(stopAfter, len(r.ref)) {
			r.t.Fatalf("RangeContext stopping after %d: visited %d of %d, err %v", stopAfter, seen, len(r.ref), err)
		}
	}
	if got := r.m.Len(); got != len(r.ref) {
		r.t.Fatalf("after op %d on key %d: Len = %d, want %d", op%20, k, got, len(r.ref))
	}
}

func TestModelRandomized(t *testing.T) {
	for _, cfg := range []struct {
		name   string
		cap    int
		shards int
	}{{"one-shard", 0, 1}, {"four-shards", 0, 4}, {"default", 0, 0}, {"capped", 12, 2}} {
		t.Run(cfg.name, func(t *testing.T) {
			for seed := range uint64(8) {
				var opts []mapx.Option
				if cfg.shards > 0 {
					opts = append(opts, mapx.WithShards(cfg.shards))
				}
				r := newModelRun(t, cfg.cap, opts...)
				rng := rand.New(rand.NewPCG(seed, 42))
				for range 4000 {
					r.step(byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)))
				}
				if st := r.m.Stats(); st.Entries != int64(len(r.ref)) || st.ActiveSnapshots != int64(len(r.snaps)) {
					t.Fatalf("Stats %+v, want %d entries and %d snapshots", st, len(r.ref), len(r.snaps))
				}
				r.close()
				if st := r.m.Stats(); st.ActiveSnapshots != 0 {
					t.Fatalf("ActiveSnapshots = %d after closing all", st.ActiveSnapshots)
				}
			}
		})
	}
}

// FuzzMapOps interprets its input as (operation, key, argument) triples run
// against the reference map. Its seed corpus runs with every go test.
func FuzzMapOps(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0, 1, 0, 13, 0, 0, 4, 1, 0, 15, 1, 0, 16, 0, 0})
	f.Add([]byte{1, 2, 0, 1, 3, 0, 0, 3, 0, 13, 0, 0, 3, 2, 0, 1, 2, 0, 15, 2, 4, 11, 0, 0, 15, 3, 0})
	f.Add([]byte{17, 1, 0, 17, 2, 0, 17, 3, 0, 6, 4, 0, 7, 1, 0, 9, 2, 1, 10, 3, 1, 12, 0, 0, 18, 0, 0, 19, 0, 2})
	f.Add([]byte{14, 0, 0, 1, 5, 0, 4, 5, 0, 1, 5, 0, 14, 0, 0, 5, 5, 0, 15, 5, 0, 15, 5, 1, 16, 5, 0, 16, 5, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newModelRun(t, int(len(data)%5)*3, mapx.WithShards(1+len(data)%3))
		defer r.close()
		for i := 0; i+2 < len(data); i += 3 {
			r.step(data[i], data[i+1], data[i+2])
		}
	})
}
