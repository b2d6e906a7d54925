package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/mapx-dev/mapx"
)

// A Target is a map under load and its key space: keys [0, Keys) are stored
// when it is made, and inserts add keys from Keys upward, never reusing one.
// Runs one after another on one Target share the map and the key space (the
// demo does so).
type Target struct {
	Impl Impl
	Map  Map
	Keys int

	head    atomic.Uint64 // the next new key
	tail    atomic.Uint64 // the oldest key not yet deleted by churn
	cleaned atomic.Uint64 // inserted keys below this were deleted by DeleteInserted
}

// NewTarget makes a map of the named implementation and stores keys [0,
// keys) in it, with Store (never refused).
func NewTarget(impl string, o MapOptions, keys int) (*Target, error) {
	if keys < 1 {
		return nil, fmt.Errorf("-keys: must be at least 1, got %d", keys)
	}
	im, err := LookupImpl(impl)
	if err != nil {
		return nil, err
	}
	m, err := NewMap(impl, o)
	if err != nil {
		return nil, err
	}
	t := &Target{Impl: im, Map: m, Keys: keys}
	for k := range uint64(keys) {
		m.Store(k, k)
	}
	t.head.Store(uint64(keys))
	t.cleaned.Store(uint64(keys))
	return t, nil
}

// Close releases the map's instruments.
func (t *Target) Close() error { return t.Map.Close() }

// Inserted returns how many keys were inserted after the preload.
func (t *Target) Inserted() uint64 { return t.head.Load() - uint64(t.Keys) }

// DeleteInserted deletes the keys inserted since the preload (or since its
// previous call) and returns how many keys it deleted.
func (t *Target) DeleteInserted() int {
	from, to := t.cleaned.Load(), t.head.Load()
	for k := from; k < to; k++ {
		t.Map.Delete(k)
	}
	t.cleaned.Store(to)
	return int(to - from)
}

// RunConfig configures one [Run].
type RunConfig struct {
	Workload   string
	Dist       string // DistAuto, DistUniform or DistZipf; "" is DistAuto
	Goroutines int
	// The run stops at the first of: Duration elapsed (if not 0), MaxOps
	// operations made by the workers (if not 0), ctx done.
	Duration time.Duration
	MaxOps   int64
	// Rate caps the workers' operations per second (0: unbounded); the
	// workers are paced by the clock, so the rate holds on any machine fast
	// enough to reach it.
	Rate float64
	// LeakRate is the pace of the leak workload's inserter, in keys per
	// second.
	LeakRate float64
	// SnapshotEvery takes a snapshot and iterates it that often (0: never);
	// implementations without snapshots iterate the live map.
	SnapshotEvery time.Duration
	// CancelEvery starts an iteration that a deadline cancels that often
	// (0: never): its consumer stalls on the first entry until the deadline
	// (CancelDeadline) passes.
	CancelEvery time.Duration
	// Admission makes every write go through TryStore; refusals are counted
	// and the write is dropped.
	Admission bool
	// Seed seeds the workers' random sources (0: from the clock).
	Seed uint64
	// OnProgress, if set, is called about every ProgressEvery (default 1s)
	// from a goroutine of the run.
	OnProgress    func(Progress)
	ProgressEvery time.Duration
}

// CancelDeadline is the deadline of the iterations that -cancel-every
// starts.
const CancelDeadline = 10 * time.Millisecond

// LatencySampleEvery: one operation in this many is timed for the latency
// histogram. Timing costs two clock reads, which would otherwise dominate
// operations of tens of nanoseconds.
const LatencySampleEvery = 16

// Latencies are recorded from 1 ns to maxLatency with 3 significant digits.
const maxLatency = int64(100 * time.Second)

// Progress is what a run reports while it runs.
type Progress struct {
	Elapsed      time.Duration
	Ops          int64   // operations so far
	OpsPerSec    float64 // over the last interval
	Entries      int64
	Stats        *mapx.Stats // nil for implementations without Stats
	MissesPerSec float64     // read misses per second over the last interval
}

// Result is the raw outcome of one or more runs; [BuildReport] derives the
// report from it.
type Result struct {
	Impl       string
	Workload   string
	Dist       string
	Goroutines int
	Keys       int
	Rounds     int

	Elapsed         time.Duration
	Counts          [numKinds]int64
	Rejections      int64 // writes refused by admission control
	Latency         *hdrhistogram.Histogram
	Mallocs         uint64 // heap objects allocated by the process during the run
	GCPauseNs       uint64
	GCCycles        uint32
	PeakHeap        uint64 // bytes of heap objects, sampled every 100ms
	Entries         int
	Stats           *mapx.Stats
	Snapshots       int64 // snapshots taken and iterated (-snapshot-every)
	SnapshotEntries int64
	Cancelled       int64 // iterations cancelled by their deadline (-cancel-every)
}

func newLatency() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatency, 3) }

// Validate checks c and returns an error naming the offending flag.
func (c *RunConfig) Validate() error {
	var errs []error
	if _, err := LookupWorkload(c.Workload); err != nil {
		errs = append(errs, err)
	}
	if c.Dist != "" && c.Dist != DistAuto {
		if _, err := newChooser(c.Dist, 1); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Goroutines < 1 {
		errs = append(errs, fmt.Errorf("-goroutines: must be at least 1, got %d", c.Goroutines))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("-duration: must not be negative, got %v", c.Duration))
	}
	if c.MaxOps < 0 {
		errs = append(errs, fmt.Errorf("-ops: must not be negative, got %d", c.MaxOps))
	}
	if !(c.Rate >= 0) || c.Rate > 1e12 {
		errs = append(errs, fmt.Errorf("-rate: must be between 0 (unbounded) and 1e12 ops/s, got %v", c.Rate))
	}
	if !(c.LeakRate > 0) || c.LeakRate > 1e9 {
		errs = append(errs, fmt.Errorf("-leak-rate: must be above 0 and at most 1e9 keys/s, got %v", c.LeakRate))
	}
	if c.SnapshotEvery < 0 {
		errs = append(errs, fmt.Errorf("-snapshot-every: must not be negative, got %v", c.SnapshotEvery))
	}
	if c.CancelEvery < 0 {
		errs = append(errs, fmt.Errorf("-cancel-every: must not be negative, got %v", c.CancelEvery))
	}
	return errors.Join(errs...)
}

// run is the shared state of one Run.
type run struct {
	cfg     RunConfig
	t       *Target
	wl      *Workload
	ch      chooser
	dist    string
	stopped atomic.Bool
	stop    chan struct{}
	once    sync.Once
	budget  atomic.Int64 // operations left to hand out, if MaxOps

	live          []paddedCount // per worker, for progress
	leakInserts   atomic.Int64
	leakRejected  atomic.Int64
	peakHeap      atomic.Uint64
	snapshots     atomic.Int64
	snapEntries   atomic.Int64
	cancellations atomic.Int64
}

type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

func (r *run) halt() {
	r.once.Do(func() {
		r.stopped.Store(true)
		close(r.stop)
	})
}

// Run runs one workload on t and returns its result. It stops at the first
// of cfg.Duration, cfg.MaxOps and ctx; a run stopped by ctx still returns its
// result, with a nil error.
func Run(ctx context.Context, t *Target, cfg RunConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Admission && !t.Impl.Admission {
		return nil, fmt.Errorf("-max-entries and -insert-rate need admission control, which %s lacks", t.Impl.Name)
	}
	wl, _ := LookupWorkload(cfg.Workload)
	dist := cfg.Dist
	if dist == "" || dist == DistAuto {
		dist = wl.DefaultDist
	}
	ch, err := newChooser(dist, uint64(t.Keys))
	if err != nil {
		return nil, err
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	r := &run{cfg: cfg, t: t, wl: wl, ch: ch, dist: dist, stop: make(chan struct{}), live: make([]paddedCount, cfg.Goroutines)}
	if cfg.MaxOps > 0 {
		r.budget.Store(cfg.MaxOps)
	}
	workers := make([]*worker, cfg.Goroutines)
	for i := range workers {
		workers[i] = &worker{r: r, id: i, rng: newRNG(seed, uint64(i)), hist: newLatency(), balance: i % 2}
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r.peakHeap.Store(before.HeapAlloc)

	var bg sync.WaitGroup
	start := time.Now()
	bg.Go(func() { r.sample(start) })
	if cfg.SnapshotEvery > 0 {
		bg.Go(func() { r.every(cfg.SnapshotEvery, r.snapshot) })
	}
	if cfg.CancelEvery > 0 {
		bg.Go(func() { r.every(cfg.CancelEvery, r.cancelled) })
	}
	if wl.Leak {
		bg.Go(r.leak)
	}
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, r.halt)
		defer timer.Stop()
	}
	defer context.AfterFunc(ctx, r.halt)()

	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(w.run)
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.halt()
	bg.Wait()
	runtime.ReadMemStats(&after)

	res := &Result{
		Impl: t.Impl.Name, Workload: wl.Name, Dist: dist, Goroutines: cfg.Goroutines, Keys: t.Keys, Rounds: 1,
		Elapsed:         elapsed,
		Latency:         newLatency(),
		Mallocs:         after.Mallocs - before.Mallocs,
		GCPauseNs:       after.PauseTotalNs - before.PauseTotalNs,
		GCCycles:        after.NumGC - before.NumGC,
		PeakHeap:        max(r.peakHeap.Load(), after.HeapAlloc),
		Entries:         t.Map.Len(),
		Snapshots:       r.snapshots.Load(),
		SnapshotEntries: r.snapEntries.Load(),
		Cancelled:       r.cancellations.Load(),
		Rejections:      r.leakRejected.Load(),
	}
	res.Counts[KindInsert] = r.leakInserts.Load()
	for _, w := range workers {
		for k, n := range w.counts {
			res.Counts[k] += n
		}
		res.Rejections += w.rejections
		res.Latency.Merge(w.hist)
	}
	if st, ok := t.Map.Stats(); ok {
		res.Stats = &st
	}
	return res, nil
}

// every calls f every d until the run stops.
func (r *run) every(d time.Duration, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			f()
		}
	}
}

func (r *run) snapshot() {
	n, _ := r.t.Map.Iterate(context.Background(), func(uint64, uint64) bool { return true })
	r.snapshots.Add(1)
	r.snapEntries.Add(int64(n))
}

// cancelled starts an iteration whose consumer stalls on the first entry
// until the deadline passes, as a client that stopped reading would.
func (r *run) cancelled() {
	ctx, cancel := context.WithTimeout(context.Background(), CancelDeadline)
	defer cancel()
	stall := true
	_, err := r.t.Map.Iterate(ctx, func(uint64, uint64) bool {
		if stall {
			stall = false
			select {
			case <-ctx.Done():
			case <-r.stop:
			}
		}
		return true
	})
	if errors.Is(err, context.DeadlineExceeded) {
		r.cancellations.Add(1)
	}
}

// leak inserts new keys at cfg.LeakRate, paced by the clock, until the run
// stops.
func (r *run) leak() {
	p := newPacer(r.cfg.LeakRate, time.Now, realSleep(r.stop))
	batch := batchFor(r.cfg.LeakRate, 1024)
	for !r.stopped.Load() {
		for range batch {
			k := r.t.head.Add(1) - 1
			if r.cfg.Admission {
				if err := r.t.Map.TryStore(k, k); err != nil {
					r.leakRejected.Add(1)
				}
			} else {
				r.t.Map.Store(k, k)
			}
		}
		r.leakInserts.Add(int64(batch))
		p.wait(batch)
	}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// sample follows the heap's peak every 100ms and reports progress.
func (r *run) sample(start time.Time) {
	const every = 100 * time.Millisecond
	tick := time.NewTicker(every)
	defer tick.Stop()
	samples := append([]metrics.Sample(nil), heapSample...)
	lastAt, lastOps, lastMisses := start, int64(0), int64(0)
	if st, ok := r.t.Map.Stats(); ok {
		lastMisses = st.ReadMisses
	}
	for {
		select {
		case <-r.stop:
			return
		case now := <-tick.C:
			metrics.Read(samples)
			if v := samples[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() > r.peakHeap.Load() {
				r.peakHeap.Store(v.Uint64())
			}
			if r.cfg.OnProgress == nil || now.Sub(lastAt) < r.cfg.ProgressEvery-every/2 {
				continue
			}
			p := Progress{Elapsed: now.Sub(start), Ops: r.ops()}
			secs := now.Sub(lastAt).Seconds()
			p.OpsPerSec = float64(p.Ops-lastOps) / secs
			if st, ok := r.t.Map.Stats(); ok {
				p.Stats, p.Entries = &st, st.Entries
				p.MissesPerSec = float64(st.ReadMisses-lastMisses) / secs
				lastMisses = st.ReadMisses
			} else {
				p.Entries = int64(r.t.Map.Len())
			}
			lastAt, lastOps = now, p.Ops
			r.cfg.OnProgress(p)
		}
	}
}

// ops returns the operations made so far.
func (r *run) ops() int64 {
	n := r.leakInserts.Load()
	for i := range r.live {
		n += r.live[i].n.Load()
	}
	return n
}

// worker runs the workload's mix in batches; between batches it looks at
// the stop flag, claims budget and waits for its pacer.
type worker struct {
	r          *run
	id         int
	rng        *rng
	hist       *hdrhistogram.Histogram
	counts     [numKinds]int64
	rejections int64
	balance    int // churn: 0 inserts next, 1 deletes next
	value      uint64
}

func (w *worker) run() {
	r := w.r
	batch := 256
	var p *pacer
	if r.cfg.Rate > 0 {
		perWorker := r.cfg.Rate / float64(r.cfg.Goroutines)
		batch = batchFor(perWorker, batch)
		p = newPacer(perWorker, time.Now, realSleep(r.stop))
	}
	live := &r.live[w.id].n
	tick := 0
	for !r.stopped.Load() {
		n := batch
		if r.cfg.MaxOps > 0 {
			left := r.budget.Add(-int64(batch))
			if left < 0 {
				n += int(left)
			}
			if n <= 0 {
				return
			}
		}
		for range n {
			op := r.wl.pick(w.rng)
			if tick++; tick%LatencySampleEvery == 0 {
				t0 := time.Now()
				w.do(op)
				_ = w.hist.RecordValue(max(1, int64(time.Since(t0))))
			} else {
				w.do(op)
			}
		}
		live.Add(int64(n))
		if p != nil {
			p.wait(n)
		}
	}
}

// key returns a key to read or update.
func (w *worker) key() uint64 {
	rank := w.r.ch.draw(w.rng)
	if w.r.wl.keys == keysWindow {
		return w.r.t.head.Load() - 1 - rank
	}
	return rank
}

func (w *worker) write(k uint64) {
	w.value++
	if !w.r.cfg.Admission {
		w.r.t.Map.Store(k, w.value)
		return
	}
	if err := w.r.t.Map.TryStore(k, w.value); err != nil {
		w.rejections++
	}
}

// maxDeleteWait bounds how often a churn delete under admission control
// yields while waiting for its key's insert.
const maxDeleteWait = 1 << 12

func (w *worker) do(op Kind) {
	m := w.r.t.Map
	if op == opChurn {
		op = KindInsert + Kind(w.balance) // KindDelete follows KindInsert
		w.balance ^= 1
	}
	w.counts[op]++
	switch op {
	case KindLoad:
		m.Load(w.key())
	case KindUpdate:
		w.write(w.key())
	case KindInsert:
		w.write(w.r.t.head.Add(1) - 1)
	case KindDelete:
		// The oldest key's insert may still be under way on another
		// goroutine (between reserving the index and storing it): wait for
		// it, so that every insert has its delete and the size stays
		// steady. A plain Store always comes; an insert that admission
		// control refused never does, hence the bound there.
		k := w.r.t.tail.Add(1) - 1
		for try := 0; !m.Delete(k); try++ {
			if w.r.cfg.Admission && try >= maxDeleteWait {
				break
			}
			runtime.Gosched()
		}
	case KindScan:
		m.Scan(w.key(), 1+int(w.rng.below(MaxScan)))
	case KindRMW:
		m.Increment(w.key())
	}
}
