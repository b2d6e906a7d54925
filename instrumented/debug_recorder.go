package instrumented

import (
	"cmp"
	"fmt"
	"math"
	"runtime/metrics"
	"slices"
	"sync"
	"time"
)

// The recorder's defaults: a sample a second, 15 minutes of them.
const (
	DefaultSampleInterval = time.Second
	DefaultHistorySamples = 900
)

// latencyWindow is how many samples' worth of sampled durations the latency
// percentiles are taken over: at the default sampling of one operation in
// 1,024, a map doing 100K operations/s gets about 1,000 durations in it.
const latencyWindow = 10

// Recorder keeps a bounded history of the Stats of every live wrapped map
// ([Wrap], [WrapSyncMap]), one sample per Interval, the newest Samples of
// each. It is what the debug page ([NewDebugPage]) shows and what the
// advisor ([Advise]) reads. A Recorder reads each map's operation counts, so
// maps it watches count their operations as when a collector reads them (see
// [WithMeterProvider]).
//
// Set the fields before Start. Its methods are safe for concurrent use.
type Recorder struct {
	// Interval between samples; 0 means DefaultSampleInterval.
	Interval time.Duration
	// Samples kept per map; 0 means DefaultHistorySamples.
	Samples int

	mu    sync.Mutex
	maps  map[*telemetry]*history
	heap  []metrics.Sample
	stop  chan struct{} // nil when not running
	done  chan struct{}
	ticks uint64
}

// Start starts sampling, with a first sample at once; it does nothing if the
// recorder is running. A bad Interval or Samples is an error naming it.
func (r *Recorder) Start() error {
	if r.Interval < 0 {
		return fmt.Errorf("instrumented: Recorder.Interval %v: must not be negative", r.Interval)
	}
	if r.Samples < 0 {
		return fmt.Errorf("instrumented: Recorder.Samples %d: must not be negative", r.Samples)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return nil
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	r.sampleLocked(time.Now())
	go r.run(r.interval(), r.stop, r.done)
	return nil
}

// Close stops sampling and waits for the sampling goroutine to end. The
// history is kept; Start resumes it.
func (r *Recorder) Close() error {
	r.mu.Lock()
	stop, done := r.stop, r.done
	r.stop, r.done = nil, nil
	r.mu.Unlock()
	if stop == nil {
		return nil
	}
	close(stop)
	<-done
	return nil
}

// Running reports whether the recorder samples.
func (r *Recorder) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stop != nil
}

func (r *Recorder) interval() time.Duration { return cmp.Or(r.Interval, DefaultSampleInterval) }

func (r *Recorder) capacity() int { return cmp.Or(r.Samples, DefaultHistorySamples) }

func (r *Recorder) run(every time.Duration, stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			r.Sample(now)
		}
	}
}

// Sample takes one sample of every live map now, as the sampling goroutine
// does every Interval; it is for recorders that are not started (tests,
// recordings driven by their own clock).
func (r *Recorder) Sample(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sampleLocked(now)
}

func (r *Recorder) sampleLocked(now time.Time) {
	if r.maps == nil {
		r.maps = map[*telemetry]*history{}
		r.heap = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	}
	r.ticks++
	metrics.Read(r.heap)
	var heap int64
	if r.heap[0].Value.Kind() == metrics.KindUint64 {
		heap = int64(r.heap[0].Value.Uint64())
	}
	live := liveMaps()
	seen := make(map[*telemetry]bool, len(live))
	for _, l := range live {
		seen[l.t] = true
		h := r.maps[l.t]
		if h == nil {
			h = &history{m: l}
			r.maps[l.t] = h
		}
		h.sample(now, heap, r.capacity())
	}
	for t := range r.maps {
		if !seen[t] {
			delete(r.maps, t) // closed or collected: its history goes with it
		}
	}
}

// history is one map's samples: a ring of points, and what the next sample
// needs of the last one.
type history struct {
	m      *liveMap
	ring   []point
	head   int // index of the oldest point once the ring is full
	shards int64
	// entryLimit is the WithMaxEntries cap, fixed when the map is made:
	// kept once, not in every point.
	entryLimit int64

	lastOps, prevOps [numCounters]int64
	lastT, prevT     int64
	durSeen          uint64
	lat              []timedDuration // sampled durations of the last latencyWindow samples
	samples          int64
}

type timedDuration struct{ t, ns int64 }

// point is one sample of one map, as kept: the counters are totals since the
// map was made, so that any two points give a rate.
type point struct {
	t                           int64 // unix ns
	entries, dirty, snapshots   int64
	misses, promotions, cancels int64
	rejCapacity, rejRate        int64
	oldestSnapshot              int64 // the oldest open snapshot's age, ns
	loads, admissionWrites, ops int64
	heap                        int64 // the process's heap objects, bytes
	p50, p99                    float32
}

func (h *history) sample(now time.Time, heap int64, capacity int) {
	rd := h.m.read()
	ring := h.m.durations()
	t := now.UnixNano()
	var fresh []int64
	fresh, h.durSeen = ring.since(h.durSeen, fresh)
	for _, d := range fresh {
		h.lat = append(h.lat, timedDuration{t, d})
	}
	h.samples++
	if h.samples == 1 {
		h.lat = h.lat[:0] // durations from before the first sample have no time
	}
	cut := t - int64(latencyWindow)*int64(time.Second)
	h.lat = slices.DeleteFunc(h.lat, func(d timedDuration) bool { return d.t <= cut })

	st := rd.stats
	p := point{
		t: t, entries: st.Entries, dirty: st.DirtyEntries, snapshots: st.ActiveSnapshots,
		misses: st.ReadMisses, promotions: st.Promotions, cancels: st.IteratorCancellations,
		rejCapacity: st.RejectedCapacity, rejRate: st.RejectedRate,
		oldestSnapshot:  int64(st.OldestSnapshotAge),
		loads:           rd.ops[cLoadHit] + rd.ops[cLoadMiss],
		admissionWrites: rd.ops[cTryStoreOK] + rd.ops[cTryStoreRejected] + rd.ops[cStoreWaitOK] + rd.ops[cStoreWaitRejected],
		heap:            heap,
	}
	for i := range cEntryDelta {
		p.ops += rd.ops[i]
	}
	p.p50, p.p99 = percentiles(h.lat)
	h.shards, h.entryLimit = st.Shards, st.EntryLimit
	h.prevOps, h.prevT = h.lastOps, h.lastT
	h.lastOps, h.lastT = rd.ops, t
	if len(h.ring) < capacity {
		if len(h.ring) == cap(h.ring) { // grow to the bound exactly, not past it
			grown := make([]point, len(h.ring), min(max(2*len(h.ring), 16), capacity))
			copy(grown, h.ring)
			h.ring = grown
		}
		h.ring = append(h.ring, p)
		return
	}
	h.ring[h.head] = p
	h.head = (h.head + 1) % len(h.ring)
}

// percentiles returns the median and the 99th percentile of ds, in
// nanoseconds, or NaN for none.
func percentiles(ds []timedDuration) (p50, p99 float32) {
	if len(ds) == 0 {
		return float32(math.NaN()), float32(math.NaN())
	}
	ns := make([]int64, len(ds))
	for i, d := range ds {
		ns[i] = d.ns
	}
	slices.Sort(ns)
	at := func(q float64) float32 { return float32(ns[int(math.Ceil(q*float64(len(ns))))-1]) }
	return at(0.5), at(0.99)
}

// points returns the ring's points, oldest first.
func (h *history) points() []point {
	out := make([]point, 0, len(h.ring))
	out = append(out, h.ring[h.head:]...)
	return append(out, h.ring[:h.head]...)
}

// Histories returns the history of every map sampled by the last sample, by
// name, then by order of wrapping.
func (r *Recorder) Histories() []History {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]History, 0, len(r.maps))
	for _, h := range r.maps {
		out = append(out, h.export())
	}
	slices.SortFunc(out, func(a, b History) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// History is one map's recorded samples, oldest first.
type History struct {
	ID     uint64 `json:"id"`   // unique in the process, in order of wrapping
	Name   string `json:"name"` // the map's mapx.name
	Kind   string `json:"kind"` // "mapx" or "sync.Map"
	Shards int64  `json:"shards,omitempty"`
	// OperationsPerSecond are the operations of the last interval by
	// operation, as mapx.operations names them; nil before two samples.
	OperationsPerSecond map[string]float64 `json:"operations_per_second,omitempty"`
	Samples             []Sample           `json:"samples"`
}

// Sample is one sample of a map. Counters are totals since the map was made
// (operation counts since its wrapper started counting); the rates between
// two samples are their differences over the time between them.
type Sample struct {
	Time                  time.Time `json:"time"`
	Entries               int64     `json:"entries"`
	DirtyEntries          int64     `json:"dirty_entries"`
	ActiveSnapshots       int64     `json:"active_snapshots"`
	ReadMisses            int64     `json:"read_misses"`
	Promotions            int64     `json:"promotions"`
	IteratorCancellations int64     `json:"iterator_cancellations"`
	RejectedCapacity      int64     `json:"rejected_capacity"`
	RejectedRate          int64     `json:"rejected_rate"`
	// EntryLimit is the map's WithMaxEntries cap, 0 if none;
	// OldestSnapshotAge how long its oldest open snapshot had been open, 0
	// if none was. Histories recorded before Stats had them lack both.
	EntryLimit        int64         `json:"entry_limit,omitempty"`
	OldestSnapshotAge time.Duration `json:"oldest_snapshot_age_ns,omitempty"`
	// Loads are Load calls; AdmissionWrites TryStore and StoreWait calls;
	// Operations all counted operations.
	Loads           int64 `json:"loads"`
	AdmissionWrites int64 `json:"admission_writes"`
	Operations      int64 `json:"operations"`
	// HeapBytes is the process's heap, in bytes of objects.
	HeapBytes int64 `json:"heap_bytes"`
	// LatencyP50 and LatencyP99 are taken over the operation durations
	// sampled in the last ten samples' time; zero when none was.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

func (h *history) export() History {
	x := History{ID: h.m.id, Name: h.m.name, Kind: "mapx", Shards: h.shards}
	if h.m.sync {
		x.Kind, x.Shards = "sync.Map", 0
	}
	if h.prevT != 0 && h.lastT > h.prevT {
		secs := float64(h.lastT-h.prevT) / 1e9
		x.OperationsPerSecond = map[string]float64{}
		for i := range cEntryDelta {
			if d := h.lastOps[i] - h.prevOps[i]; d != 0 || h.lastOps[i] != 0 {
				x.OperationsPerSecond[counterSpec[i].op] += float64(d) / secs
			}
		}
	}
	pts := h.points()
	x.Samples = make([]Sample, len(pts))
	for i, p := range pts {
		x.Samples[i] = Sample{
			Time: time.Unix(0, p.t), Entries: p.entries, DirtyEntries: p.dirty, ActiveSnapshots: p.snapshots,
			ReadMisses: p.misses, Promotions: p.promotions, IteratorCancellations: p.cancels,
			RejectedCapacity: p.rejCapacity, RejectedRate: p.rejRate,
			EntryLimit: h.entryLimit, OldestSnapshotAge: time.Duration(p.oldestSnapshot),
			Loads: p.loads, AdmissionWrites: p.admissionWrites, Operations: p.ops, HeapBytes: p.heap,
			LatencyP50: nsOrZero(p.p50), LatencyP99: nsOrZero(p.p99),
		}
	}
	return x
}

func nsOrZero(f float32) time.Duration {
	if math.IsNaN(float64(f)) {
		return 0
	}
	return time.Duration(f)
}
