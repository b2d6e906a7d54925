package mapx_test

import (
	"runtime"
	"testing"

	"github.com/mapx-dev/mapx"
)

// heapNow returns the live heap after a full collection.
func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestDeletingMostEntriesFreesTheirMemory: a map that loses 99 % of its
// entries holds at most twice the heap of a new map holding the survivors,
// whether its keys were promoted to the read tables (loaded) or not.
func TestDeletingMostEntriesFreesTheirMemory(t *testing.T) {
	const n = 200_000
	for _, promoted := range []bool{true, false} {
		base := heapNow()
		m := mapx.New[int, int]()
		for i := range n {
			m.Store(i, i)
		}
		if promoted {
			for i := range n {
				m.Load(i)
			}
		}
		for i := range n {
			if i%100 != 0 {
				m.Delete(i)
			}
		}
		shrunk := heapNow() - base
		runtime.KeepAlive(m)
		m = nil

		base = heapNow()
		fresh := mapx.New[int, int]()
		for i := 0; i < n; i += 100 {
			fresh.Store(i, i)
		}
		want := heapNow() - base
		runtime.KeepAlive(fresh)
		t.Logf("promoted=%v: after deleting 99%%: %d bytes; a new map of the survivors: %d bytes", promoted, shrunk, want)
		if shrunk > 2*want {
			t.Errorf("promoted=%v: after deleting 99%% of %d entries the map holds %d bytes, over twice the %d of a new map with the survivors", promoted, n, shrunk, want)
		}
	}
}
