package instrumented

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// identity is what tells series apart: the MeterProvider, mapx.name and the
// attributes of WithAttributes. Live wrappers of one identity share a group.
type identity struct {
	mp    metric.MeterProvider
	name  string
	attrs attribute.Distinct
}

// live holds the groups of comparable MeterProviders by identity. A
// MeterProvider that is not comparable gets a group per wrapper.
var live = struct {
	sync.Mutex
	m map[identity]*group
}{m: map[identity]*group{}}

// group exports the wrappers of one identity as one set of series: the
// counters are the sums over its members, plus what closed members had
// counted, so that a counter never goes down while one of them is live; the
// UpDownCounters are sums over the live members; the snapshot age is the
// oldest. The last member's Close unregisters the callback: the group's
// asynchronous series stop, and its durations are left to each Producer's
// last collection.
type group struct {
	id    identity
	keyed bool // in live.m

	obs         [numMetrics]metric.Observable
	histograms  [numMetrics]metric.Float64Histogram
	nameSet     attribute.Set
	opSets      [numCounters]attribute.Set // mapx.operations series
	durSets     [numCounters]attribute.Set // mapx.operation.duration series
	outcomeSets [3]attribute.Set           // by mapx.Outcome
	reasonSets  [2]attribute.Set           // capacity, rate
	series      *durationSeries            // the durations, when a Producer is open

	mu          sync.Mutex
	members     map[*telemetry]struct{}
	retiredOps  [numCounters]int64
	retiredStat [numMetrics][2]int64 // counters of closed members; [1] is the rate reason
	reg         metric.Registration
	floor       *time.Timer
}

// floorInterval is how often each map is made to time its next operation,
// so that a map with little traffic still gets duration samples.
var floorInterval atomic.Int64 // a time.Duration

func init() { floorInterval.Store(int64(time.Second)) }

// join adds t to the group of its identity, making the group if needed.
func join(t *telemetry, cfg config) *group {
	attrs := attribute.NewSet(cfg.attrs...)
	id := identity{mp: cfg.meterProvider, name: cfg.name, attrs: attrs.Equivalent()}
	keyed := reflect.TypeOf(cfg.meterProvider).Comparable()
	live.Lock()
	defer live.Unlock()
	if keyed {
		if g := live.m[id]; g != nil {
			g.mu.Lock()
			g.members[t] = struct{}{}
			g.mu.Unlock()
			return g
		}
	}
	g := newGroup(id, cfg)
	g.keyed = keyed
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members = map[*telemetry]struct{}{t: {}}
	if g.reg != nil && keyed {
		live.m[id] = g
	}
	if g.reg != nil {
		g.floor = time.AfterFunc(time.Duration(floorInterval.Load()), g.sampleFloor)
	}
	return g
}

// leave removes t; the last member to leave stops the group's series.
func (g *group) leave(t *telemetry) error {
	live.Lock()
	defer live.Unlock()
	g.mu.Lock()
	if _, ok := g.members[t]; !ok {
		g.mu.Unlock()
		return nil
	}
	delete(g.members, t)
	total := t.totals()
	for i := range cEntryDelta {
		g.retiredOps[i] += total[i]
	}
	if t.stats != nil {
		st := t.stats()
		for i, m := range metricTable {
			if m.retire && m.intStat != nil {
				g.retiredStat[i][0] += m.intStat(&st)
			}
		}
		g.retiredStat[mRejections][0] += st.RejectedCapacity
		g.retiredStat[mRejections][1] += st.RejectedRate
	}
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty {
		g.series.release()
	}
	if !empty || g.reg == nil {
		return nil
	}
	// Not under g.mu: the SDK holds its own lock while it runs callbacks,
	// which take g.mu.
	g.mu.Lock()
	if g.floor != nil {
		g.floor.Stop()
	}
	g.mu.Unlock()
	if g.keyed && live.m[g.id] == g {
		delete(live.m, g.id)
	}
	err := g.reg.Unregister()
	g.reg = nil
	return err
}

func newGroup(id identity, cfg config) *group {
	g := &group{id: id, series: acquireSeries(seriesKey{name: id.name, attrs: id.attrs})}
	base := append([]attribute.KeyValue{keyName.String(cfg.name)}, cfg.attrs...)
	with := func(kv attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), kv)...)
	}
	g.nameSet = attribute.NewSet(base...)
	for i, spec := range counterSpec {
		attrs := append(append([]attribute.KeyValue(nil), base...), keyOperation.String(spec.op))
		g.durSets[i] = attribute.NewSet(attrs...)
		if spec.result != "" {
			attrs = append(attrs, keyResult.String(spec.result))
		}
		g.opSets[i] = attribute.NewSet(attrs...)
	}
	for _, o := range []mapx.Outcome{mapx.Complete, mapx.Stopped, mapx.Cancelled} {
		g.outcomeSets[o] = with(keyOutcome.String(o.String()))
	}
	g.reasonSets = [2]attribute.Set{with(keyReason.String("capacity")), with(keyReason.String("rate"))}

	meter := cfg.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	var errs []error
	var observables []metric.Observable
	for i, m := range metricTable {
		var inst metric.Observable
		var err error
		switch {
		case m.Kind == Histogram:
			g.histograms[i], err = meter.Float64Histogram(m.Name, metric.WithUnit(m.Unit), metric.WithDescription(m.Description),
				metric.WithExplicitBucketBoundaries(histogramBuckets[i]...))
		case m.floatStat != nil: // a Gauge
			inst, err = meter.Float64ObservableGauge(m.Name, metric.WithUnit(m.Unit), metric.WithDescription(m.Description))
		case m.Kind == Counter:
			inst, err = meter.Int64ObservableCounter(m.Name, metric.WithUnit(m.Unit), metric.WithDescription(m.Description))
		case m.Kind == UpDownCounter:
			inst, err = meter.Int64ObservableUpDownCounter(m.Name, metric.WithUnit(m.Unit), metric.WithDescription(m.Description))
		default:
			err = fmt.Errorf("%s: no instrument for kind %v", m.Name, m.Kind)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if inst != nil {
			g.obs[i] = inst
			observables = append(observables, inst)
		}
	}
	for _, err := range errs {
		otel.Handle(fmt.Errorf("mapx/instrumented: map %q: %w", cfg.name, err))
	}
	reg, err := meter.RegisterCallback(g.observe, observables...)
	if err != nil {
		otel.Handle(fmt.Errorf("mapx/instrumented: map %q: %w", cfg.name, err))
		return g
	}
	g.reg = reg
	return g
}

// observe is the group's one callback: everything asynchronous is read at
// collection time, and no total is re-added on a timer, so nothing is
// counted twice.
func (g *group) observe(_ context.Context, o metric.Observer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	ops := g.retiredOps
	stat := g.retiredStat
	var age float64
	var syncEntries int64
	haveStats := false
	for t := range g.members {
		t.startCounting()
		total := t.totals()
		for i := range cEntryDelta {
			ops[i] += total[i]
		}
		if t.stats == nil {
			syncEntries += total[cEntryDelta]
			continue
		}
		haveStats = true
		st := t.stats()
		for i, m := range metricTable {
			if m.intStat != nil {
				stat[i][0] += m.intStat(&st)
			}
		}
		stat[mRejections][0] += st.RejectedCapacity
		stat[mRejections][1] += st.RejectedRate
		age = max(age, metricTable[mSnapshotOldestAge].floatStat(&st))
	}
	ints := func(i int) metric.Int64Observable { return g.obs[i].(metric.Int64Observable) }
	for i := range cEntryDelta {
		if ops[i] != 0 {
			o.ObserveInt64(ints(mOperations), ops[i], metric.WithAttributeSet(g.opSets[i]))
		}
	}
	set := metric.WithAttributeSet(g.nameSet)
	o.ObserveInt64(ints(mEntries), stat[mEntries][0]+syncEntries, set)
	if !haveStats {
		return nil
	}
	for _, i := range []int{mDirtyEntries, mReadMisses, mPromotions, mCancellations, mSnapshotsActive} {
		o.ObserveInt64(ints(i), stat[i][0], set)
	}
	if stat[mEntryLimit][0] > 0 {
		o.ObserveInt64(ints(mEntryLimit), stat[mEntryLimit][0], set)
	}
	o.ObserveInt64(ints(mRejections), stat[mRejections][0], metric.WithAttributeSet(g.reasonSets[0]))
	o.ObserveInt64(ints(mRejections), stat[mRejections][1], metric.WithAttributeSet(g.reasonSets[1]))
	o.ObserveFloat64(g.obs[mSnapshotOldestAge].(metric.Float64Observable), age, set)
	return nil
}

// sampleFloor makes every member that samples durations time its next
// operation, then runs again in floorInterval.
func (g *group) sampleFloor() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) == 0 {
		return
	}
	for t := range g.members {
		if t.sampleMask >= 0 && t.state.Load()&stCounting != 0 {
			t.timeNext()
		}
	}
	g.floor.Reset(time.Duration(floorInterval.Load()))
}
