package impls

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"github.com/puzpuzpuz/xsync/v4"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Map is what every implementation offers, in the method names of sync.Map.
type Map[K comparable, V any] interface {
	Load(key K) (value V, ok bool)
	Store(key K, value V)
	LoadAndDelete(key K) (value V, loaded bool)
	Delete(key K)
	Range(f func(key K, value V) bool)
}

// An Impl is one implementation under comparison.
type Impl struct {
	Name string
	// Instrumented: it is another entry wrapped by package instrumented;
	// benchmarks of the bare maps leave it out.
	Instrumented bool
	// Stats: it has mapx.Stats (entries, dirty entries, misses, ...).
	Stats bool
	// Admission: it has admission control (TryStore, MaxEntries,
	// InsertRate).
	Admission bool
	// Snapshots: it reads consistent snapshots.
	Snapshots bool
}

// All are the implementations, ours first.
var All = []Impl{
	{Name: "mapx", Stats: true, Admission: true, Snapshots: true},
	{Name: "mapx-instrumented", Instrumented: true, Stats: true, Admission: true, Snapshots: true},
	{Name: "sync.Map"},
	{Name: "sync.Map-instrumented", Instrumented: true},
	{Name: "xsync"},
	{Name: "rwmutex"},
}

// Options configure [New].
type Options struct {
	// Name is the mapx.name of an instrumented map.
	Name string
	// MaxEntries and InsertRate turn admission control on (mapx only).
	// InsertRate's burst is a tenth of a second's worth, at least 1.
	MaxEntries int
	InsertRate float64
	// MeterProvider and TracerProvider of instrumented maps; nil means the
	// global ones.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Lookup returns the implementation of that name, or an error that lists
// the valid names.
func Lookup(name string) (Impl, error) {
	for _, im := range All {
		if im.Name == name {
			return im, nil
		}
	}
	return Impl{}, fmt.Errorf("unknown implementation %q; valid: %s", name, strings.Join(Names(), ", "))
}

// Names returns the names of [All], in order.
func Names() []string {
	names := make([]string, len(All))
	for i, im := range All {
		names[i] = im.Name
	}
	return names
}

// New makes an empty map of the named implementation. Its dynamic type is
// *mapx.Map[K, V] (mapx), *instrumented.Map[K, V] (mapx-instrumented),
// *SyncMap[K, V] (sync.Map), *InstrumentedSyncMap[K, V]
// (sync.Map-instrumented), *xsync.Map[K, V] (xsync) or *RWMap[K, V]
// (rwmutex). Instrumented maps hold instruments until their Close.
func New[K comparable, V any](name string, o Options) (Map[K, V], error) {
	im, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if !im.Admission && (o.MaxEntries > 0 || o.InsertRate > 0) {
		return nil, fmt.Errorf("-max-entries and -insert-rate need admission control, which %s lacks (use mapx or mapx-instrumented)", name)
	}
	switch name {
	case "mapx":
		return mapx.New[K, V](mapxOptions(o)...), nil
	case "mapx-instrumented":
		return instrumented.Wrap(mapx.New[K, V](mapxOptions(o)...), instrumentedOptions(o)...), nil
	case "sync.Map":
		return new(SyncMap[K, V]), nil
	case "sync.Map-instrumented":
		return &InstrumentedSyncMap[K, V]{w: instrumented.WrapSyncMap(new(sync.Map), instrumentedOptions(o)...)}, nil
	case "xsync":
		return xsync.NewMap[K, V](), nil
	case "rwmutex":
		return &RWMap[K, V]{m: map[K]V{}}, nil
	}
	panic("impls: " + name + " is in All but New cannot make it")
}

func mapxOptions(o Options) []mapx.Option {
	var opts []mapx.Option
	if o.MaxEntries > 0 {
		opts = append(opts, mapx.WithMaxEntries(o.MaxEntries))
	}
	if o.InsertRate > 0 {
		opts = append(opts, mapx.WithInsertRate(o.InsertRate, InsertBurst(o.InsertRate)))
	}
	return opts
}

// InsertBurst is the token bucket's burst for an insert rate: a tenth of a
// second's worth, at least 1.
func InsertBurst(rate float64) int {
	return int(max(1, math.Ceil(rate/10)))
}

func instrumentedOptions(o Options) []instrumented.Option {
	var opts []instrumented.Option
	if o.Name != "" {
		opts = append(opts, instrumented.WithName(o.Name))
	}
	if o.MeterProvider != nil {
		opts = append(opts, instrumented.WithMeterProvider(o.MeterProvider))
	}
	if o.TracerProvider != nil {
		// A load has no request spans to be children of: its snapshots
		// and iterations are traces of their own.
		opts = append(opts, instrumented.WithTracerProvider(o.TracerProvider), instrumented.WithRootSpans(true))
	}
	return opts
}
