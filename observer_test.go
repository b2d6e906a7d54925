package mapx_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
)

type recordingObserver struct {
	mu         sync.Mutex
	iterations []string
	ended      []mapx.Iteration
	waits      int
	waitErrs   []error
}

func (o *recordingObserver) IterationStarted(ctx context.Context, snapshot bool) func(mapx.Iteration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	kind := "map"
	if snapshot {
		kind = "snapshot"
	}
	o.iterations = append(o.iterations, kind)
	return func(it mapx.Iteration) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.ended = append(o.ended, it)
	}
}

func (o *recordingObserver) WaitStarted(ctx context.Context) func(error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waits++
	return func(err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.waitErrs = append(o.waitErrs, err)
	}
}

func TestObserverSeesIterations(t *testing.T) {
	m := mapx.New[int, int]()
	for i := range 1000 {
		m.Store(i, i)
	}
	obs := &recordingObserver{}
	m.SetObserver(obs)
	m.Range(func(int, int) bool { return true })
	n := 0
	m.Range(func(int, int) bool { n++; return n < 10 })
	s := m.Snapshot()
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.RangeContext(ctx, func(int, int) bool { return true })
	_ = s.Len() // counting is not an iteration the user asked for
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	want := []mapx.Iteration{
		{Visited: 1000, Outcome: mapx.Complete},
		{Visited: 10, Outcome: mapx.Stopped},
		{Visited: 0, Outcome: mapx.Cancelled, Err: context.Canceled},
	}
	if len(obs.ended) != len(want) || obs.iterations[2] != "snapshot" || obs.iterations[0] != "map" {
		t.Fatalf("observed %v %+v", obs.iterations, obs.ended)
	}
	for i := range want {
		if obs.ended[i] != want[i] {
			t.Errorf("iteration %d: %+v, want %+v", i, obs.ended[i], want[i])
		}
	}
	m.SetObserver(nil)
	m.Range(func(int, int) bool { return true })
	if len(obs.ended) != 3 {
		t.Fatal("observer called after removal")
	}
}

func TestObserverSeesOnlyRealWaits(t *testing.T) {
	m := mapx.New[int, int](mapx.WithInsertRate(200, 1))
	obs := &recordingObserver{}
	m.SetObserver(obs)
	if err := m.StoreWait(context.Background(), 1, 1); err != nil { // a token is there
		t.Fatal(err)
	}
	if obs.waits != 0 {
		t.Fatal("a StoreWait that did not wait was observed as waiting")
	}
	if err := m.StoreWait(context.Background(), 2, 2); err != nil { // waits ~5ms
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
	defer cancel()
	err := m.StoreWait(ctx, 3, 3)
	if obs.waits != 2 || len(obs.waitErrs) != 2 || obs.waitErrs[0] != nil || !errors.Is(obs.waitErrs[1], mapx.ErrBackpressure) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waits %d, errors %v, StoreWait %v", obs.waits, obs.waitErrs, err)
	}
}
