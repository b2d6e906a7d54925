package mapx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBackpressure is matched (with [errors.Is]) by every refusal of an
// admission-controlled write. Use [errors.As] with a *[BackpressureError] to
// learn the reason.
var ErrBackpressure = errors.New("mapx: backpressure")

// Reason says why admission control refused a write.
type Reason int

const (
	// ReasonCapacity: the map holds the number of entries set by [WithMaxEntries].
	ReasonCapacity Reason = iota + 1
	// ReasonRate: the insert rate set by [WithInsertRate] is spent.
	ReasonRate
)

// String returns "capacity" or "rate".
func (r Reason) String() string {
	switch r {
	case ReasonCapacity:
		return "capacity"
	case ReasonRate:
		return "rate"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// BackpressureError is the error of a refused write. It matches
// [ErrBackpressure], and unwraps to the context's error when [Map.StoreWait]
// gave up waiting.
type BackpressureError struct {
	Reason Reason
	Err    error // the context's error, or nil
}

func (e *BackpressureError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("mapx: backpressure: %v: %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("mapx: backpressure: %v", e.Reason)
}

// Is reports whether target is [ErrBackpressure].
func (e *BackpressureError) Is(target error) bool { return target == ErrBackpressure }

// Unwrap returns the context's error, if any.
func (e *BackpressureError) Unwrap() error { return e.Err }

// rateWait is the internal answer of admission control to StoreWait: no rate
// token now, one in d.
type rateWait struct{ d time.Duration }

func (w *rateWait) Error() string { return "mapx: rate wait " + w.d.String() }

type paddedCount struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

type admission struct {
	maxEntries int64
	total      *paddedCount // exact number of entries; kept only with a cap
	bucket     *tokenBucket
	rejected   [ReasonRate + 1]atomic.Int64
}

func (a *admission) init(cfg *config) {
	if cfg.maxEntries > 0 {
		a.maxEntries = cfg.maxEntries
		a.total = new(paddedCount)
	}
	if cfg.rate > 0 {
		a.bucket = &tokenBucket{rate: cfg.rate, burst: float64(cfg.burst), tokens: float64(cfg.burst), now: time.Now}
		a.bucket.last = a.bucket.now()
	}
}

func (a *admission) reject(r Reason) error {
	a.rejected[r].Add(1)
	return &BackpressureError{Reason: r}
}

// admit decides whether one more key may be inserted and, if so, counts it.
func (a *admission) admit(noWait bool) error {
	if a.total != nil {
		for {
			n := a.total.n.Load()
			if n >= a.maxEntries {
				return a.reject(ReasonCapacity)
			}
			if a.total.n.CompareAndSwap(n, n+1) {
				break
			}
		}
	}
	if a.bucket != nil {
		if d, ok := a.bucket.take(); !ok {
			if a.total != nil {
				a.total.n.Add(-1)
			}
			if noWait {
				return a.reject(ReasonRate)
			}
			return &rateWait{d}
		}
	}
	return nil
}

// unadmit gives back what admit took, for an insert that did not happen.
func (a *admission) unadmit() {
	if a.total != nil {
		a.total.n.Add(-1)
	}
	if a.bucket != nil {
		a.bucket.mu.Lock()
		a.bucket.tokens = min(a.bucket.burst, a.bucket.tokens+1)
		a.bucket.mu.Unlock()
	}
}

type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// take takes a token, or says how long until one is due.
func (b *tokenBucket) take() (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), false
}

// TryStore stores value for key unless admission control refuses: a write
// that would add a key is refused at once with an error matching
// [ErrBackpressure] when the map is at its [WithMaxEntries] cap or the
// [WithInsertRate] bucket is empty. Updates of existing keys are never
// refused. A refused write leaves the map unchanged.
func (m *Map[K, V]) TryStore(key K, value V) error {
	return m.admitStore(key, value, true)
}

// StoreWait is [Map.TryStore] that waits for the insert rate to allow the
// write, until ctx is done; then it returns a [BackpressureError] that also
// matches ctx.Err(). A capacity refusal returns at once.
func (m *Map[K, V]) StoreWait(ctx context.Context, key K, value V) (err error) {
	var timer *time.Timer
	for {
		result := m.admitStore(key, value, false)
		w, ok := result.(*rateWait)
		if !ok {
			return result
		}
		if timer == nil {
			timer = time.NewTimer(w.d)
			defer timer.Stop()
			if obs := m.core().loadObserver(); obs != nil {
				if ended := obs.WaitStarted(ctx); ended != nil {
					defer func() { ended(err) }()
				}
			}
		} else {
			timer.Reset(w.d)
		}
		select {
		case <-ctx.Done():
			m.core().rejected[ReasonRate].Add(1)
			return &BackpressureError{Reason: ReasonRate, Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

func (m *Map[K, V]) admitStore(key K, value V, noWait bool) error {
	w := m.beginWrite(key)
	defer w.g.leave()
	if w.e != nil {
		if _, _, ok := w.c.trySwap(w.s, w.e, w.ep, value, false, false); ok {
			return nil
		}
	}
	return w.locked(key, mutation[V]{op: UpdateOp, value: value, admit: true, noWait: noWait}).err
}
