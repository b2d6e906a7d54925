package mapx_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/mapx-dev/mapx"
)

// Linearizability checks with porcupine: histories recorded from concurrent
// goroutines, with a logical clock for call and return times, checked
// against sequential models.

type keyOp struct {
	kind string // load, store, swap, loadOrStore, loadAndDelete, cas, compute
	key  int
	val  int
	old  int // cas
}

type valueOK struct {
	v  int
	ok bool
}

// registerModel is one key of the map: present with a value, or absent.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(keyOp).key
			byKey[k] = append(byKey[k], op)
		}
		parts := make([][]porcupine.Operation, 0, len(byKey))
		for _, p := range byKey {
			parts = append(parts, p)
		}
		return parts
	},
	Init: func() any { return valueOK{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(valueOK), input.(keyOp), output.(valueOK)
		switch in.kind {
		case "load":
			return out == st || (!st.ok && !out.ok), st
		case "store":
			return true, valueOK{in.val, true}
		case "swap":
			return out == st || (!st.ok && !out.ok), valueOK{in.val, true}
		case "loadOrStore":
			if st.ok {
				return out == valueOK{st.v, true}, st
			}
			return out == valueOK{in.val, false}, valueOK{in.val, true}
		case "loadAndDelete":
			return out == st || (!st.ok && !out.ok), valueOK{}
		case "cas":
			swapped := st.ok && st.v == in.old
			if swapped {
				return out.ok, valueOK{in.val, true}
			}
			return !out.ok, st
		case "compute": // increment, or insert 1
			if st.ok {
				return out == valueOK{st.v + 1, true}, valueOK{st.v + 1, true}
			}
			return out == valueOK{1, true}, valueOK{1, true}
		}
		panic(in.kind)
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%+v -> %+v", input, output)
	},
}

func applyKeyOp(m *mapx.Map[int, int], in keyOp) valueOK {
	switch in.kind {
	case "load":
		v, ok := m.Load(in.key)
		return valueOK{v, ok}
	case "store":
		m.Store(in.key, in.val)
		return valueOK{}
	case "swap":
		v, ok := m.Swap(in.key, in.val)
		return valueOK{v, ok}
	case "loadOrStore":
		v, ok := m.LoadOrStore(in.key, in.val)
		return valueOK{v, ok}
	case "loadAndDelete":
		v, ok := m.LoadAndDelete(in.key)
		return valueOK{v, ok}
	case "cas":
		return valueOK{ok: mapx.CompareAndSwap(m, in.key, in.old, in.val)}
	case "compute":
		v, ok := m.Compute(in.key, func(old int, loaded bool) (int, mapx.ComputeOp) {
			if !loaded {
				return 1, mapx.UpdateOp
			}
			return old + 1, mapx.UpdateOp
		})
		return valueOK{v, ok}
	}
	panic(in.kind)
}

func TestLinearizablePerKey(t *testing.T) {
	const keys, clients, opsPerClient = 1000, 4, 6000
	kinds := []string{"load", "load", "store", "swap", "loadOrStore", "loadAndDelete", "cas", "compute"}
	m := mapx.New[int, int](mapx.WithShards(8))
	var clock atomic.Int64
	histories := make([][]porcupine.Operation, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for i := range opsPerClient {
				in := keyOp{kind: kinds[rng.IntN(len(kinds))], key: rng.IntN(keys), val: c*opsPerClient + i + 100, old: rng.IntN(3)}
				call := clock.Add(1)
				out := applyKeyOp(m, in)
				histories[c] = append(histories[c], porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: clock.Add(1)})
			}
		})
	}
	wg.Wait()
	var all []porcupine.Operation
	for _, h := range histories {
		all = append(all, h...)
	}
	keysSeen := len(registerModel.Partition(all))
	if keysSeen < 1000 {
		t.Fatalf("only %d per-key histories", keysSeen)
	}
	if res := porcupine.CheckOperationsTimeout(registerModel, all, time.Minute); res != porcupine.Ok {
		t.Fatalf("per-key histories: %s", res)
	}
	t.Logf("%d operations in %d per-key histories are linearizable", len(all), keysSeen)
}

// snapOp is an operation of the whole-map model over wholeKeys keys.
type snapOp struct {
	kind string // store, delete, load, snapshot
	key  int
	val  int
}

const wholeKeys = 3

// wholeState is the map's contents; 0 means absent (stored values are > 0).
type wholeState [wholeKeys]int

var wholeMapModel = porcupine.Model{
	Init: func() any { return wholeState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in := state.(wholeState), input.(snapOp)
		switch in.kind {
		case "store":
			st[in.key] = in.val
			return true, st
		case "delete":
			st[in.key] = 0
			return true, st
		case "load":
			return output.(int) == st[in.key], st
		case "snapshot":
			return output.(wholeState) == st, st
		}
		panic(in.kind)
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%+v -> %v", input, output)
	},
}

func TestLinearizableWithSnapshots(t *testing.T) {
	const histories, clients, opsPerClient = 300, 3, 6
	kinds := []string{"store", "store", "delete", "load", "snapshot"}
	for h := range histories {
		m := mapx.New[int, int](mapx.WithShards(4))
		var clock atomic.Int64
		ops := make([][]porcupine.Operation, clients)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(h), uint64(c)))
				for i := range opsPerClient {
					in := snapOp{kind: kinds[rng.IntN(len(kinds))], key: rng.IntN(wholeKeys), val: c*100 + i + 1}
					call := clock.Add(1)
					var out any
					switch in.kind {
					case "store":
						m.Store(in.key, in.val)
					case "delete":
						m.Delete(in.key)
					case "load":
						v, _ := m.Load(in.key)
						out = v
					case "snapshot":
						s := m.Snapshot()
						var st wholeState
						for k, v := range s.All() {
							st[k] = v
						}
						s.Close()
						out = st
					}
					ops[c] = append(ops[c], porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: clock.Add(1)})
				}
			})
		}
		wg.Wait()
		var all []porcupine.Operation
		for _, o := range ops {
			all = append(all, o...)
		}
		if res := porcupine.CheckOperationsTimeout(wholeMapModel, all, 10*time.Second); res != porcupine.Ok {
			t.Fatalf("history %d: %s: %v", h, res, all)
		}
	}
}

// TestLinearizabilityCheckerCatchesStaleReads makes sure the models can fail:
// a load that returns a value overwritten before it was called is refused.
func TestLinearizabilityCheckerCatchesStaleReads(t *testing.T) {
	stale := []porcupine.Operation{
		{ClientId: 0, Input: keyOp{kind: "store", key: 1, val: 1}, Call: 1, Output: valueOK{}, Return: 2},
		{ClientId: 0, Input: keyOp{kind: "store", key: 1, val: 2}, Call: 3, Output: valueOK{}, Return: 4},
		{ClientId: 1, Input: keyOp{kind: "load", key: 1}, Call: 5, Output: valueOK{1, true}, Return: 6},
	}
	if porcupine.CheckOperations(registerModel, stale) {
		t.Fatal("per-key model accepted a stale read")
	}
	torn := []porcupine.Operation{
		{ClientId: 0, Input: snapOp{kind: "store", key: 0, val: 1}, Call: 1, Return: 2},
		{ClientId: 0, Input: snapOp{kind: "store", key: 1, val: 2}, Call: 3, Return: 4},
		{ClientId: 1, Input: snapOp{kind: "snapshot"}, Call: 5, Output: wholeState{0, 2, 0}, Return: 6},
	}
	if porcupine.CheckOperations(wholeMapModel, torn) {
		t.Fatal("whole-map model accepted a torn snapshot")
	}
}
