package instrumented

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mapx-dev/mapx"
)

// liveMap is all that the debug page, its recorder and the advisor read of a
// wrapped map; liveMaps is their only way to the wrappers' telemetry.
type liveMap struct {
	id    uint64 // order of wrapping, unique in the process
	name  string
	sync  bool // a sync.Map: Stats has Entries only
	t     *telemetry
	stats statsFunc // nil for a sync.Map
}

// tracked are the live wrappers, whether exported or not (a duplicate name
// is still a map to look at).
var tracked = struct {
	sync.Mutex
	next uint64
	m    map[*telemetry]*liveMap
}{m: map[*telemetry]*liveMap{}}

// trackMap makes a new wrapper's map visible to the debug page.
func trackMap(t *telemetry, name string, stats statsFunc, sync bool) {
	tracked.Lock()
	defer tracked.Unlock()
	tracked.next++
	tracked.m[t] = &liveMap{id: tracked.next, name: name, sync: sync, t: t, stats: stats}
}

// untrackMap removes a closed or collected wrapper's map.
func untrackMap(t *telemetry) {
	tracked.Lock()
	defer tracked.Unlock()
	delete(tracked.m, t)
}

// liveMaps lists the live wrapped maps by name, then by order of wrapping.
func liveMaps() []*liveMap {
	tracked.Lock()
	out := make([]*liveMap, 0, len(tracked.m))
	for _, l := range tracked.m {
		out = append(out, l)
	}
	tracked.Unlock()
	slices.SortFunc(out, func(a, b *liveMap) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
	})
	return out
}

// reading is one look at a map: its Stats and its wrapper's operation counts.
type reading struct {
	stats mapx.Stats
	ops   [numCounters]int64
}

// read takes a reading. It turns on the wrapper's operation counts, as a
// collection does: the recorder is a reader of them.
func (l *liveMap) read() reading {
	l.t.startCounting()
	r := reading{ops: l.t.totals()}
	if l.stats != nil {
		r.stats = l.stats()
	} else {
		r.stats.Entries = r.ops[cEntryDelta]
	}
	return r
}

// durations returns the map's ring of sampled operation durations, making it
// on first use: wrappers nobody watches carry none.
func (l *liveMap) durations() *durationRing {
	if r := l.t.recent.Load(); r != nil {
		return r
	}
	l.t.recent.CompareAndSwap(nil, new(durationRing))
	return l.t.recent.Load()
}

// durationRingSize is how many sampled durations a map keeps between two
// samples of the recorder.
const durationRingSize = 256

// durationRing holds the latest sampled operation durations of one map, in
// nanoseconds, written by the operations that were timed.
type durationRing struct {
	next atomic.Uint64
	d    [durationRingSize]atomic.Int64
}

func (r *durationRing) add(ns int64) {
	i := r.next.Add(1) - 1
	r.d[i%durationRingSize].Store(ns)
}

// since appends to dst the durations added after the count from and returns
// dst and the new count; it loses the oldest when more than the ring holds
// came in.
func (r *durationRing) since(from uint64, dst []int64) ([]int64, uint64) {
	to := r.next.Load()
	if to-from > durationRingSize {
		from = to - durationRingSize
	}
	for i := from; i < to; i++ {
		dst = append(dst, r.d[i%durationRingSize].Load())
	}
	return dst, to
}
