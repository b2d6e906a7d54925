package mapx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

func TestCapacityUnderConcurrentWriters(t *testing.T) {
	const limit, writers, perWriter = 500, 8, 1000
	m := mapx.New[string, int](mapx.WithMaxEntries(limit), mapx.WithShards(8))
	var accepted, refused atomic.Int64
	var mu sync.Mutex
	var acceptedKeys []string
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := fmt.Sprintf("w%d-%d", w, i)
				err := m.TryStore(k, i)
				switch {
				case err == nil:
					accepted.Add(1)
					mu.Lock()
					acceptedKeys = append(acceptedKeys, k)
					mu.Unlock()
				case errors.Is(err, mapx.ErrBackpressure):
					var be *mapx.BackpressureError
					if !errors.As(err, &be) || be.Reason != mapx.ReasonCapacity {
						t.Errorf("refusal %v has no capacity reason", err)
					}
					refused.Add(1)
				default:
					t.Errorf("TryStore: unexpected error %v", err)
				}
			}
		})
	}
	wg.Wait()
	if accepted.Load() != limit || m.Len() != limit {
		t.Fatalf("accepted %d, Len %d; want exactly %d", accepted.Load(), m.Len(), limit)
	}
	for _, k := range acceptedKeys {
		if _, ok := m.Load(k); !ok {
			t.Fatalf("accepted key %q is not readable", k)
		}
	}
	st := m.Stats()
	if want := int64(writers*perWriter - limit); refused.Load() != want || st.BackpressureRejections != want || st.RejectedCapacity != want || st.RejectedRate != 0 {
		t.Fatalf("refused %d, stats %+v; want %d capacity refusals", refused.Load(), st, want)
	}
	// At the cap, updates and deletes are never refused; a delete frees a slot.
	if err := m.TryStore(acceptedKeys[0], -1); err != nil {
		t.Fatalf("update at the cap refused: %v", err)
	}
	if err := m.TryStore("one-more", 1); !errors.Is(err, mapx.ErrBackpressure) {
		t.Fatalf("insert at the cap: %v", err)
	}
	if _, ok := m.Load("one-more"); ok {
		t.Fatal("a refused write changed the map")
	}
	m.Delete(acceptedKeys[1])
	if err := m.TryStore("one-more", 1); err != nil {
		t.Fatalf("insert after a delete: %v", err)
	}
}

func TestInsertRate(t *testing.T) {
	m := mapx.New[int, int](mapx.WithInsertRate(10, 3))
	now := time.Unix(1000, 0)
	mapx.SetClock(m, func() time.Time { return now })
	for i := range 3 {
		if err := m.TryStore(i, i); err != nil {
			t.Fatalf("insert %d within the burst refused: %v", i, err)
		}
	}
	err := m.TryStore(3, 3)
	var be *mapx.BackpressureError
	if !errors.As(err, &be) || be.Reason != mapx.ReasonRate || !errors.Is(err, mapx.ErrBackpressure) {
		t.Fatalf("insert past the burst: %v", err)
	}
	if _, ok := m.Load(3); ok || m.Len() != 3 {
		t.Fatal("a refused write changed the map")
	}
	if err := m.TryStore(0, 100); err != nil {
		t.Fatalf("update refused by the rate: %v", err)
	}
	now = now.Add(100 * time.Millisecond) // one token at 10/s
	if err := m.TryStore(3, 3); err != nil {
		t.Fatalf("insert after a refill: %v", err)
	}
	if err := m.TryStore(4, 4); err == nil {
		t.Fatal("second insert after a one-token refill accepted")
	}
	if st := m.Stats(); st.RejectedRate != 2 || st.BackpressureRejections != 2 {
		t.Fatalf("stats %+v, want 2 rate refusals", st)
	}
}

func TestStoreWait(t *testing.T) {
	m := mapx.New[int, int](mapx.WithInsertRate(1000, 1))
	ctx := context.Background()
	for i := range 5 { // the bucket refills every millisecond: each waits
		if err := m.StoreWait(ctx, i, i); err != nil {
			t.Fatalf("StoreWait(%d): %v", i, err)
		}
	}
	if m.Len() != 5 || m.Stats().BackpressureRejections != 0 {
		t.Fatalf("Len %d, stats %+v", m.Len(), m.Stats())
	}

	slow := mapx.New[int, int](mapx.WithInsertRate(0.001, 1))
	if err := slow.StoreWait(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := slow.StoreWait(ctx, 2, 2)
	if !errors.Is(err, mapx.ErrBackpressure) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("StoreWait past its deadline: %v", err)
	}
	if _, ok := slow.Load(2); ok || slow.Stats().RejectedRate != 1 {
		t.Fatalf("refused StoreWait: map changed or not counted (%+v)", slow.Stats())
	}

	full := mapx.New[int, int](mapx.WithMaxEntries(1))
	full.Store(1, 1)
	start := time.Now()
	err = full.StoreWait(context.Background(), 2, 2)
	var be *mapx.BackpressureError
	if !errors.As(err, &be) || be.Reason != mapx.ReasonCapacity {
		t.Fatalf("StoreWait at the cap: %v", err)
	}
	_ = start
}

func TestInvalidOptionsPanicNamingTheOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"WithShards", func() { mapx.WithShards(0) }},
		{"WithShards", func() { mapx.WithShards(-4) }},
		{"WithMaxEntries", func() { mapx.WithMaxEntries(-1) }},
		{"WithInsertRate", func() { mapx.WithInsertRate(-1, 1) }},
		{"WithInsertRate", func() { mapx.WithInsertRate(10, 0) }},
		{"WithHasher", func() { mapx.New[string, int](mapx.WithHasher(func(int) uint64 { return 0 })) }},
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !contains(msg, tc.name) {
					t.Errorf("%s: recovered %v, want a panic naming the option", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
