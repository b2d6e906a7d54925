package instrumented

import (
	"context"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys.
const (
	keyName      = attribute.Key("mapx.name")
	keyOperation = attribute.Key("mapx.operation")
	keyResult    = attribute.Key("mapx.result")
	keyReason    = attribute.Key("mapx.reason")
	keyOutcome   = attribute.Key("mapx.outcome")
	keyVisited   = attribute.Key("mapx.visited")
	keyErrorType = attribute.Key("error.type") // OpenTelemetry semantic conventions
)

// statsFunc reads the wrapped map's internal counters; nil for a sync.Map.
type statsFunc func() mapx.Stats

// telemetry is one wrapper's part: its counters, the state word every
// operation reads, and its spans and profile labels. What it exports is its
// group's, shared with the live wrappers of the same identity.
type telemetry struct {
	counts *counters

	// state is read by every operation, in one load, and written rarely.
	state      atomic.Uint32 // stCounting | stSampleNext
	sampleMask int64         // sample when a counter reaches a multiple of sampleMask+1; -1: never
	_          [cacheLine - 12]byte

	g           *group
	stats       statsFunc
	countingBit uint32 // stCounting, or 0 with WithOperationCounts(false)
	tracer      trace.Tracer
	spanAttrs   []attribute.KeyValue
	labels      pprof.LabelSet // mapx.name, for long operations
	rootSpans   bool

	recent atomic.Pointer[durationRing] // for the debug page; nil until it looks

	// loads is where a mapx.Map counts its own loads, which the wrapper's
	// Load leaves to it: nil for a sync.Map, and without counts.
	loads *mapx.LoadCounter
}

func newTelemetry(cfg config, stats statsFunc, sync bool) *telemetry {
	t := &telemetry{counts: newCounters(), sampleMask: -1, stats: stats}
	if cfg.countOperations {
		t.countingBit = stCounting
		if cfg.sampleEvery > 0 {
			t.sampleMask = int64(cfg.sampleEvery - 1)
		}
		if !sync {
			t.loads = mapx.NewLoadCounter(cfg.sampleEvery, t.loadTimed)
		}
	}
	// With the global MeterProvider, nothing may ever collect: operations
	// are counted from the first collection on, as the global provider drops
	// measurements made before an SDK is installed.
	if cfg.explicitMeterProvider {
		t.startCounting()
	}
	t.spanAttrs = append([]attribute.KeyValue{keyName.String(cfg.name)}, cfg.attrs...)
	t.labels = pprof.Labels("mapx.name", cfg.name)
	t.rootSpans = cfg.rootSpans
	t.tracer = cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
	trackMap(t, cfg.name, stats, sync)
	t.g = join(t, cfg)
	return t
}

// close stops exporting this wrapper. It is safe to call more than once.
func (t *telemetry) close() error {
	untrackMap(t)
	err := t.g.leave(t)
	if t.loads != nil {
		// After leave, so that no collection turns it on again: a wrapper
		// dropped without Close leaves its observer on the map, whose loads
		// then stop at the flag test.
		t.loads.SetCounting(false)
	}
	return err
}

// startCounting turns on the operation counts, if the wrapper counts.
func (t *telemetry) startCounting() {
	t.state.Or(t.countingBit)
	if t.loads != nil {
		t.loads.SetCounting(true)
	}
}

// timeNext makes the next operation timed, and the next load.
func (t *telemetry) timeNext() {
	t.state.Or(stSampleNext)
	if t.loads != nil {
		t.loads.TimeNext()
	}
}

// totals returns every counter's total, the map's own count of loads
// included.
func (t *telemetry) totals() [numCounters]int64 {
	total := t.counts.sum()
	if t.loads != nil {
		hits, misses := t.loads.Counts()
		total[cLoadHit] += hits
		total[cLoadMiss] += misses
	}
	return total
}

// loadTimed records the duration of a load that the map timed.
func (t *telemetry) loadTimed(d time.Duration, _ bool) { t.recordDuration(d, cLoadHit) }

// Bits of telemetry.state.
const (
	stCounting   = 1 << iota // operations are counted: something collects them
	stSampleNext             // the next operation is timed
)

// count records one operation. It is the only telemetry work on the hot
// path of an operation other than a mapx.Map's Load (which the map counts
// itself, in loads): an increment of a counter on the current P's cache
// line, and a flag for the duration sampler every sampleMask+1 operations of
// a kind.
func (t *telemetry) count(i counter) {
	if t.state.Load()&stCounting != 0 {
		t.tally(opCounted, i, 0)
	}
}

// tally counts one operation, begun as o, on the current P's stripe, and
// records its duration under the operation of timed if it was timed. It
// writes out counters.add rather than call it: the fewer instructions a
// wrapped operation adds, the more of the map's cache misses the processor
// overlaps (bench/README.md).
func (t *telemetry) tally(o op, i, timed counter) {
	c := t.counts
	var n int64
	if p := procPin(); p < len(c.stripes) {
		n = increment(&c.stripes[p].n[i], 1)
		procUnpin()
	} else {
		procUnpin()
		n = c.addOverflow(i, 1)
	}
	t.sampleEvery(n)
	if o > 0 {
		t.record(o, timed)
	}
}

// sampleEvery flags the next operation for timing when a counter reaches a
// multiple of sampleMask+1.
func (t *telemetry) sampleEvery(n int64) {
	if n&t.sampleMask == 0 && t.sampleMask >= 0 {
		t.state.Or(stSampleNext)
	}
}

// clockBase makes monotonic nanosecond timestamps that fit in an int64.
var clockBase = time.Now()

// op is how an operation began: 0 if it is not counted, opCounted if it is
// counted, and its start time (positive) if it is also the one being timed.
type op int64

const opCounted op = -1

// start begins an operation: one load of the state word, and the clock only
// if this operation is to be timed. It and done inline into the operations;
// an operation that is counted but not timed adds one call (tally), and one
// that is not counted adds a load and two tests.
func (t *telemetry) start() op {
	if st := t.state.Load(); st <= stCounting {
		return -op(st) // 0, or opCounted: stCounting is 1
	}
	return t.startSlow()
}

//go:noinline
func (t *telemetry) startSlow() op {
	st := t.state.And(^uint32(stSampleNext))
	if st&stSampleNext != 0 && st&stCounting != 0 {
		return op(time.Since(clockBase)) + 1 // this operation cleared the flag: it is the sample
	}
	if st&stCounting != 0 {
		return opCounted
	}
	return 0
}

// done counts an operation that began as o, and records its duration under
// the operation of timed if it was timed.
func (t *telemetry) done(o op, i, timed counter) {
	if o != 0 {
		t.tally(o, i, timed)
	}
}

//go:noinline
func (t *telemetry) record(o op, timed counter) {
	t.recordDuration(time.Duration(op(time.Since(clockBase))+1-o), timed)
}

// recordDuration records d as the duration of an operation of kind timed.
func (t *telemetry) recordDuration(d time.Duration, timed counter) {
	if r := t.recent.Load(); r != nil {
		r.add(int64(d))
	}
	t.g.recordDuration(context.Background(), mOperationDuration, d.Seconds(), t.g.durSets[timed])
}
