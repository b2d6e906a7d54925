package instrumented

import (
	"context"
	"fmt"
	"reflect"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
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
)

// Bucket boundaries, in seconds.
var (
	operationBuckets = []float64{10e-9, 25e-9, 50e-9, 100e-9, 250e-9, 500e-9, 1e-6, 2.5e-6, 10e-6, 100e-6, 1e-3, 10e-3}
	snapshotBuckets  = []float64{1e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 10e-3, 50e-3, 100e-3}
	iterationBuckets = []float64{10e-6, 100e-6, 1e-3, 5e-3, 10e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}
)

// statsFunc reads the wrapped map's internal counters; nil for a sync.Map.
type statsFunc func() mapx.Stats

// telemetry is what a wrapper exports: its counters, its instruments with
// their attribute sets (all built once, in Wrap), and its registration.
type telemetry struct {
	name   string
	counts *counters

	// state is read by every operation, in one load, and written rarely.
	state      atomic.Uint32 // stCounting | stSampleNext
	sampleMask int64         // sample when a counter reaches a multiple of sampleMask+1; -1: never
	_          [cacheLine - 12]byte

	tracer     trace.Tracer
	spanAttrs  []attribute.KeyValue
	labels     pprof.LabelSet // mapx.name, for long operations
	opDuration metric.Float64Histogram
	opSets     [numCounters]attribute.Set // mapx.operations series
	durSets    [numCounters]attribute.Set // mapx.operation.duration series

	snapDuration metric.Float64Histogram
	iterDuration metric.Float64Histogram
	nameSet      attribute.Set
	outcomeSets  [3]attribute.Set // by mapx.Outcome

	recent atomic.Pointer[durationRing] // for the debug page; nil until it looks

	mu         sync.Mutex
	reg        metric.Registration
	regKey     *registryKey
	exportable bool // not a duplicate of a live wrapper
}

type registryKey struct {
	mp   metric.MeterProvider
	name string
}

// live is the set of exported wrappers by MeterProvider and name.
var live = struct {
	sync.Mutex
	m map[registryKey]bool
}{m: map[registryKey]bool{}}

func newTelemetry(cfg config, stats statsFunc, sync bool) *telemetry {
	t := &telemetry{name: cfg.name, counts: newCounters(), sampleMask: -1}
	// With the global MeterProvider, nothing may ever collect: operations
	// are counted from the first collection on, as the global provider drops
	// measurements made before an SDK is installed.
	if cfg.explicitMeterProvider {
		t.state.Store(stCounting)
	}
	if cfg.sampleEvery > 0 {
		t.sampleMask = int64(cfg.sampleEvery - 1)
	}
	base := append([]attribute.KeyValue{keyName.String(cfg.name)}, cfg.attrs...)
	t.nameSet = attribute.NewSet(base...)
	t.spanAttrs = base
	t.labels = pprof.Labels("mapx.name", cfg.name)
	for i, spec := range counterSpec {
		attrs := append(append([]attribute.KeyValue(nil), base...), keyOperation.String(spec.op))
		t.durSets[i] = attribute.NewSet(attrs...)
		if spec.result != "" {
			attrs = append(attrs, keyResult.String(spec.result))
		}
		t.opSets[i] = attribute.NewSet(attrs...)
	}
	for _, o := range []mapx.Outcome{mapx.Complete, mapx.Stopped, mapx.Cancelled} {
		t.outcomeSets[o] = attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), keyOutcome.String(o.String()))...)
	}
	t.tracer = cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
	trackMap(t, stats, sync)

	meter := cfg.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	var err error
	handle := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	hist := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, e := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(buckets...))
		handle(e)
		return h
	}
	t.opDuration = hist("mapx.operation.duration", "Duration of sampled map operations.", operationBuckets)
	t.snapDuration = hist("mapx.snapshot.duration", "Duration of taking a snapshot.", snapshotBuckets)
	t.iterDuration = hist("mapx.iteration.duration", "Duration of iterations over the map or its snapshots.", iterationBuckets)

	ops, e := meter.Int64ObservableCounter("mapx.operations", metric.WithUnit("{operation}"), metric.WithDescription("Operations on the map."))
	handle(e)
	entries, e := meter.Int64ObservableGauge("mapx.entries", metric.WithUnit("{entry}"), metric.WithDescription("Entries in the map."))
	handle(e)
	observables := []metric.Observable{ops, entries}
	var dirty, snaps metric.Int64ObservableGauge
	var misses, promotions, cancels, rejections metric.Int64ObservableCounter
	if !sync {
		dirty, e = meter.Int64ObservableGauge("mapx.dirty.entries", metric.WithUnit("{entry}"), metric.WithDescription("Entries in the shards' dirty maps, deleted ones included."))
		handle(e)
		misses, e = meter.Int64ObservableCounter("mapx.read.misses", metric.WithUnit("{miss}"), metric.WithDescription("Reads that missed the read-only map and locked a shard."))
		handle(e)
		promotions, e = meter.Int64ObservableCounter("mapx.dirty.promotions", metric.WithUnit("{promotion}"), metric.WithDescription("Dirty maps promoted to read-only maps."))
		handle(e)
		cancels, e = meter.Int64ObservableCounter("mapx.iterator.cancellations", metric.WithUnit("{cancellation}"), metric.WithDescription("Iterations stopped because their context was done."))
		handle(e)
		rejections, e = meter.Int64ObservableCounter("mapx.backpressure.rejections", metric.WithUnit("{rejection}"), metric.WithDescription("Writes refused by admission control."))
		handle(e)
		snaps, e = meter.Int64ObservableGauge("mapx.snapshots.active", metric.WithUnit("{snapshot}"), metric.WithDescription("Snapshots not yet closed."))
		handle(e)
		observables = append(observables, dirty, misses, promotions, cancels, rejections, snaps)
	}
	if err != nil {
		otel.Handle(fmt.Errorf("mapx/instrumented: map %q: %w", cfg.name, err))
	}
	capacitySet := attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), keyReason.String("capacity"))...)
	rateSet := attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), keyReason.String("rate"))...)

	// One callback reads everything at collection time; no totals are
	// re-added on a timer, so nothing is counted twice.
	callback := func(_ context.Context, o metric.Observer) error {
		t.state.Or(stCounting)
		total := t.counts.sum()
		for i := range cEntryDelta {
			if total[i] != 0 {
				o.ObserveInt64(ops, total[i], metric.WithAttributeSet(t.opSets[i]))
			}
		}
		if stats == nil {
			o.ObserveInt64(entries, total[cEntryDelta], metric.WithAttributeSet(t.nameSet))
			return nil
		}
		st := stats()
		set := metric.WithAttributeSet(t.nameSet)
		o.ObserveInt64(entries, st.Entries, set)
		o.ObserveInt64(dirty, st.DirtyEntries, set)
		o.ObserveInt64(misses, st.ReadMisses, set)
		o.ObserveInt64(promotions, st.Promotions, set)
		o.ObserveInt64(cancels, st.IteratorCancellations, set)
		o.ObserveInt64(snaps, st.ActiveSnapshots, set)
		o.ObserveInt64(rejections, st.RejectedCapacity, metric.WithAttributeSet(capacitySet))
		o.ObserveInt64(rejections, st.RejectedRate, metric.WithAttributeSet(rateSet))
		return nil
	}

	key := registryKey{cfg.meterProvider, cfg.name}
	comparable := reflect.TypeOf(cfg.meterProvider).Comparable()
	live.Lock()
	defer live.Unlock()
	if comparable && live.m[key] {
		otel.Handle(fmt.Errorf("mapx/instrumented: a live map named %q already reports to this MeterProvider: this one's metrics are not exported (give it another name with WithName, or Close the other)", cfg.name))
		return t
	}
	reg, e := meter.RegisterCallback(callback, observables...)
	if e != nil {
		otel.Handle(fmt.Errorf("mapx/instrumented: map %q: %w", cfg.name, e))
		return t
	}
	t.reg, t.exportable = reg, true
	if comparable {
		live.m[key] = true
		t.regKey = &key
	}
	return t
}

// close stops exporting. It is safe to call more than once.
func (t *telemetry) close() error {
	untrackMap(t)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reg == nil {
		return nil
	}
	err := t.reg.Unregister()
	t.reg = nil
	if t.regKey != nil {
		live.Lock()
		delete(live.m, *t.regKey)
		live.Unlock()
	}
	return err
}

// Bits of telemetry.state.
const (
	stCounting   = 1 << iota // operations are counted: something collects them
	stSampleNext             // the next operation is timed
)

// count records one operation. It is the only telemetry work on the hot
// path: an increment of a counter on the current P's cache line, and a flag
// for the duration sampler every sampleMask+1 operations of a kind.
func (t *telemetry) count(i counter) {
	if t.state.Load()&stCounting != 0 {
		t.tally(opCounted, i, 0)
	}
}

// tally counts one operation, begun as o, on the current P's stripe, and
// records its duration under the operation of timed if it was timed. It is
// the one call a counted operation adds: the fewer instructions a wrapped
// operation adds, the more of the map's cache misses the processor overlaps.
// It writes out counters.add rather than call it: with the call, the
// decorator's Load cost 31 % over the bare one against 21 % without
// (12 interleaved rounds, p=0.06).
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
	if st&stSampleNext != 0 {
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
	d := time.Duration(op(time.Since(clockBase)) + 1 - o)
	if r := t.recent.Load(); r != nil {
		r.add(int64(d))
	}
	t.opDuration.Record(context.Background(), d.Seconds(), metric.WithAttributeSet(t.durSets[timed]))
}

// longOp starts the span and the profiler labels of a long operation; the
// returned function ends them.
func (t *telemetry) longOp(ctx context.Context, op string) (context.Context, trace.Span, func()) {
	ctx, span := t.tracer.Start(ctx, "mapx."+op, trace.WithAttributes(t.spanAttrs...))
	labelled := pprof.WithLabels(ctx, t.labels)
	labelled = pprof.WithLabels(labelled, pprof.Labels("mapx.operation", op))
	pprof.SetGoroutineLabels(labelled)
	return ctx, span, func() {
		pprof.SetGoroutineLabels(ctx)
		span.End()
	}
}

// observer is the core's Observer for a wrapped map: it traces and times
// iterations and waits.
type observer struct{ t *telemetry }

func (o observer) IterationStarted(ctx context.Context, snapshot bool) func(mapx.Iteration) {
	return o.t.iterationStarted(ctx, snapshot)
}

func (t *telemetry) iterationStarted(ctx context.Context, snapshot bool) func(mapx.Iteration) {
	op := "range"
	if snapshot {
		op = "snapshot.range"
	}
	start := time.Now()
	_, span, end := t.longOp(ctx, op)
	return func(it mapx.Iteration) {
		span.SetAttributes(keyVisited.Int(it.Visited), keyOutcome.String(it.Outcome.String()))
		if it.Outcome == mapx.Cancelled {
			span.AddEvent("mapx.iteration.cancelled", trace.WithAttributes(keyVisited.Int(it.Visited)))
			span.SetStatus(codes.Error, it.Err.Error())
		}
		end()
		t.iterDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(t.outcomeSets[it.Outcome]))
	}
}

func (o observer) WaitStarted(ctx context.Context) func(error) {
	_, span, end := o.t.longOp(ctx, "store_wait")
	return func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		end()
	}
}
