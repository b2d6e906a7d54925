package mapx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mapx-dev/mapx"
)

func ExampleNew() {
	m := mapx.New[string, int](mapx.WithShards(16))
	m.Store("apples", 3)
	m.Store("pears", 5)
	if v, ok := m.Load("apples"); ok {
		fmt.Println("apples:", v)
	}
	actual, loaded := m.LoadOrStore("pears", 9)
	fmt.Println("pears:", actual, loaded)
	m.Compute("apples", func(old int, loaded bool) (int, mapx.ComputeOp) {
		return old + 1, mapx.UpdateOp
	})
	fmt.Println("len:", m.Len())
	fmt.Println("keys:", slices.Sorted(m.Keys()))
	// Output:
	// apples: 3
	// pears: 5 true
	// len: 2
	// keys: [apples pears]
}

func ExampleMap_Snapshot() {
	m := mapx.New[string, int]()
	m.Store("a", 1)
	m.Store("b", 2)

	s := m.Snapshot()
	defer s.Close()

	m.Store("a", 100) // later writes do not change the snapshot
	m.Delete("b")
	m.Store("c", 3)

	for _, k := range []string{"a", "b", "c"} {
		v, ok := s.Load(k)
		fmt.Println(k, v, ok)
	}
	fmt.Println("snapshot len:", s.Len(), "map len:", m.Len())
	// Output:
	// a 1 true
	// b 2 true
	// c 0 false
	// snapshot len: 2 map len: 2
}

func ExampleMap_RangeContext() {
	m := mapx.New[int, int]()
	for i := range 10_000 {
		m.Store(i, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	visited := 0
	err := m.RangeContext(ctx, func(k, v int) bool {
		if visited++; visited == 100 {
			cancel() // for example, the client went away
		}
		return true
	})
	fmt.Println(errors.Is(err, context.Canceled), visited < 100+256)
	fmt.Println("cancellations:", m.Stats().IteratorCancellations)
	// Output:
	// true true
	// cancellations: 1
}

func ExampleMap_TryStore() {
	m := mapx.New[string, string](mapx.WithMaxEntries(2))
	fmt.Println(m.TryStore("a", "1"))
	fmt.Println(m.TryStore("b", "2"))
	err := m.TryStore("c", "3")
	var be *mapx.BackpressureError
	fmt.Println(errors.Is(err, mapx.ErrBackpressure), errors.As(err, &be) && be.Reason == mapx.ReasonCapacity)
	fmt.Println(m.TryStore("a", "updated")) // updates are never refused
	fmt.Println("len:", m.Len(), "rejections:", m.Stats().BackpressureRejections)
	// Output:
	// <nil>
	// <nil>
	// true true
	// <nil>
	// len: 2 rejections: 1
}

func ExampleCompareAndSwap() {
	m := mapx.New[string, int]()
	m.Store("version", 1)
	fmt.Println(mapx.CompareAndSwap(m, "version", 1, 2))
	fmt.Println(mapx.CompareAndSwap(m, "version", 1, 3))
	v, _ := m.Load("version")
	fmt.Println(v)
	// Output:
	// true
	// false
	// 2
}

func ExampleSnapshot_WriteTo() {
	m := mapx.New[string, int]()
	m.Store("a", 1)
	m.Store("b", 2)
	s := m.Snapshot()
	defer s.Close()

	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		panic(err)
	}

	restored := mapx.New[string, int]()
	if _, err := restored.ReadFrom(&buf); err != nil {
		panic(err)
	}
	fmt.Println(slices.Sorted(restored.Keys()), restored.Len())

	damaged := mapx.New[string, int]()
	_, err := damaged.ReadFrom(bytes.NewReader([]byte("MAPXSNAP garbage")))
	fmt.Println(errors.Is(err, mapx.ErrCorrupt), damaged.Len())
	// Output:
	// [a b] 2
	// true 0
}
