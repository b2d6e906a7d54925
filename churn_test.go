package mapx_test

import (
	"sync"
	"testing"

	"github.com/mapx-dev/mapx"
)

// TestChurnLenStaysExact: goroutines insert ever-new keys and delete their
// own oldest, so the size is known exactly; Len, iteration and Stats must
// agree with it however the inserts, deletes, promotions and dirty copies
// interleave.
func TestChurnLenStaysExact(t *testing.T) {
	const g, window, per = 3, 1000, 30000
	for round := range 10 {
		m := mapx.New[uint64, uint64](mapx.WithShards(8))
		var wg sync.WaitGroup
		for w := range uint64(g) {
			wg.Go(func() {
				key := func(i int) uint64 { return w<<40 | uint64(i) }
				for i := range window {
					m.Store(key(i), 1)
				}
				for i := window; i < per; i++ {
					m.Store(key(i), 1)
					if _, ok := m.LoadAndDelete(key(i - window)); !ok {
						t.Errorf("key %d of goroutine %d was not there to delete", i-window, w)
						return
					}
					m.Load(key(i - window/2))
				}
			})
		}
		wg.Wait()
		n := 0
		for range m.All() {
			n++
		}
		if want := g * window; m.Len() != want || n != want || m.Stats().Entries != int64(want) {
			t.Fatalf("round %d: Len %d, iterated %d, Stats %d; want %d", round, m.Len(), n, m.Stats().Entries, want)
		}
	}
}
