package mapx

import "context"

// An Observer is told when a map's long operations begin and end: package
// instrumented uses it to time iterations and waits, and to trace them. The
// core calls it only around iterations and waits, never on point operations.
// Its methods must be safe for concurrent use and must not call methods of
// the map.
//
// An Observer that also has a method LoadCounter() *[LoadCounter] makes the
// map count its loads there: the only way to count loads without a call
// around each one.
type Observer interface {
	// IterationStarted is called when an iteration of the map (Range, All,
	// Keys, Values, RangeContext) or of one of its snapshots begins; ctx is
	// the iteration's context (context.Background() for Range). The returned
	// function, if not nil, is called when the iteration ends.
	IterationStarted(ctx context.Context, snapshot bool) (ended func(Iteration))
	// WaitStarted is called when [Map.StoreWait] starts to wait for the
	// insert rate. The returned function, if not nil, is called when it stops
	// waiting, with nil or the error StoreWait returns.
	WaitStarted(ctx context.Context) (ended func(err error))
}

// Iteration describes an iteration that ended.
type Iteration struct {
	Visited int // entries passed to the callback
	Outcome Outcome
	Err     error // the context's error if Outcome is Cancelled
}

// Outcome says how an iteration ended.
type Outcome int

const (
	// Complete: every entry was visited.
	Complete Outcome = iota
	// Stopped: the callback returned false.
	Stopped
	// Cancelled: the context was done.
	Cancelled
)

// String returns "complete", "stopped" or "cancelled".
func (o Outcome) String() string {
	switch o {
	case Complete:
		return "complete"
	case Stopped:
		return "stopped"
	case Cancelled:
		return "cancelled"
	}
	return "unknown"
}

// SetObserver makes o the map's observer, replacing any other; nil removes
// it. Snapshots keep the observer the map had when they were taken. If o has
// a method LoadCounter() *LoadCounter, SetObserver calls it once, and the
// map counts its loads in the LoadCounter it returns (none if nil) until the
// next SetObserver.
func (m *Map[K, V]) SetObserver(o Observer) {
	c := m.core()
	if o == nil {
		c.loads.Store(nil)
		c.observer.Store(nil)
		return
	}
	c.observer.Store(&o)
	var lc *LoadCounter
	if l, ok := o.(interface{ LoadCounter() *LoadCounter }); ok {
		lc = l.LoadCounter()
	}
	c.loads.Store(lc)
}

func (c *core[K, V]) loadObserver() Observer {
	if o := c.observer.Load(); o != nil {
		return *o
	}
	return nil
}
