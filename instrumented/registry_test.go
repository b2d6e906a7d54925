package instrumented_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
)

// recordErrors collects what goes to otel.Handle until the test ends.
func recordErrors(t *testing.T) func() []error {
	var mu sync.Mutex
	var errs []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })
	return func() []error { mu.Lock(); defer mu.Unlock(); return append([]error(nil), errs...) }
}

func TestSameIdentitySharesSeries(t *testing.T) {
	h := newHarness(t)
	errs := recordErrors(t)
	first := instrumented.Wrap(mapx.New[int, int](), h.opts("cache")...)
	second := instrumented.Wrap(mapx.New[int, int](), h.opts("cache")...)
	for i := range 10 {
		first.Store(i, i)
	}
	for i := range 1000 {
		second.Store(i, i)
	}
	c := h.collect(t)
	if got := c.value(t, "mapx.operations", "mapx.name=cache,mapx.operation=store"); got != 1010 {
		t.Fatalf("stores = %v, want 1010 (10 + 1000)", got)
	}
	if got := c.value(t, "mapx.entries", "mapx.name=cache"); got != 1010 {
		t.Fatalf("entries = %v, want 1010", got)
	}
	_ = second.Close()
	c = h.collect(t)
	if got := c.value(t, "mapx.operations", "mapx.name=cache,mapx.operation=store"); got != 1010 {
		t.Fatalf("stores after one Close = %v: a counter must not go down while the name is live", got)
	}
	if got := c.value(t, "mapx.entries", "mapx.name=cache"); got != 10 {
		t.Fatalf("entries after one Close = %v, want the live map's 10", got)
	}
	_ = first.Close()
	for name, pts := range h.collect(t).points {
		if kindOf(t, name) != instrumented.Histogram && len(pts) != 0 {
			t.Errorf("%s after the last Close: %v", name, pts)
		}
	}
	if e := errs(); len(e) != 0 {
		t.Fatalf("errors: %v", e)
	}
}

func TestAttributesAreIdentity(t *testing.T) {
	h := newHarness(t)
	errs := recordErrors(t)
	east := instrumented.Wrap(mapx.New[int, int](), append(h.opts("sessions"), instrumented.WithAttributes(attribute.String("region", "east")))...)
	defer east.Close()
	west := instrumented.Wrap(mapx.New[int, int](), append(h.opts("sessions"), instrumented.WithAttributes(attribute.String("region", "west")))...)
	defer west.Close()
	east.Store(1, 1)
	for i := range 3 {
		west.Store(i, i)
	}
	c := h.collect(t)
	if got := c.value(t, "mapx.entries", "mapx.name=sessions,region=east"); got != 1 {
		t.Errorf("east entries = %v, want 1", got)
	}
	if got := c.value(t, "mapx.entries", "mapx.name=sessions,region=west"); got != 3 {
		t.Errorf("west entries = %v, want 3", got)
	}
	if e := errs(); len(e) != 0 {
		t.Fatalf("errors: %v", e)
	}
}

// TestShortLivedMapsOfOneName: 500 maps of one name, each made, used and
// closed while others of the name are live, report no error and lose no
// count.
func TestShortLivedMapsOfOneName(t *testing.T) {
	h := newHarness(t)
	errs := recordErrors(t)
	keep := instrumented.Wrap(mapx.New[int, int](), h.opts("requests")...)
	defer keep.Close()
	var wg sync.WaitGroup
	for g := range 5 {
		wg.Go(func() {
			for i := range 100 {
				w := instrumented.Wrap(mapx.New[int, int](), h.opts("requests")...)
				w.Store(g*1000+i, i)
				w.Load(g*1000 + i)
				_ = w.Close()
			}
		})
	}
	wg.Wait()
	c := h.collect(t)
	if got := c.value(t, "mapx.operations", "mapx.name=requests,mapx.operation=store"); got != 500 {
		t.Errorf("stores = %v, want 500", got)
	}
	if got := c.value(t, "mapx.operations", "mapx.name=requests,mapx.operation=load,mapx.result=hit"); got != 500 {
		t.Errorf("load hits = %v, want 500", got)
	}
	if got := c.value(t, "mapx.entries", "mapx.name=requests"); got != 0 {
		t.Errorf("entries = %v, want 0: the closed maps' entries are gone", got)
	}
	if e := errs(); len(e) != 0 {
		t.Fatalf("%d errors, the first: %v", len(e), e[0])
	}
}

// TestClosedMapsSeriesStop: a closed map's asynchronous series stop; a
// second Close is harmless.
func TestClosedMapsSeriesStop(t *testing.T) {
	h := newHarness(t)
	m := mapx.New[int, int](mapx.WithMaxEntries(100))
	w := instrumented.Wrap(m, h.opts("closing")...)
	w.Store(1, 1)
	s := w.Snapshot()
	defer s.Close()
	c := h.collect(t)
	for _, name := range []string{"mapx.entries", "mapx.entry.limit", "mapx.snapshot.oldest.age", "mapx.operations"} {
		if len(c.points[name]) == 0 {
			t.Fatalf("%s missing before Close", name)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, pts := range h.collect(t).points {
		if kindOf(t, name) != instrumented.Histogram && len(pts) != 0 {
			t.Errorf("%s after Close: %v", name, pts)
		}
	}
}

func TestNewSeries(t *testing.T) {
	h := newHarness(t)
	capped := instrumented.Wrap(mapx.New[int, int](mapx.WithMaxEntries(250)), h.opts("capped")...)
	defer capped.Close()
	free := instrumented.Wrap(mapx.New[int, int](), h.opts("free")...)
	defer free.Close()
	c := h.collect(t)
	if got := c.value(t, "mapx.entry.limit", "mapx.name=capped"); got != 250 {
		t.Errorf("mapx.entry.limit = %v, want 250", got)
	}
	if _, ok := c.points["mapx.entry.limit"]["mapx.name=free"]; ok {
		t.Error("mapx.entry.limit present for a map without WithMaxEntries")
	}
	if got := c.value(t, "mapx.snapshot.oldest.age", "mapx.name=free"); got != 0 {
		t.Errorf("mapx.snapshot.oldest.age with no snapshot = %v, want 0", got)
	}
	s := free.Snapshot()
	defer s.Close()
	if got := h.collect(t).value(t, "mapx.snapshot.oldest.age", "mapx.name=free"); got <= 0 {
		t.Errorf("mapx.snapshot.oldest.age with a snapshot open = %v, want > 0", got)
	}
	if u := c.units["mapx.snapshot.oldest.age"]; u != "s" {
		t.Errorf("unit %q", u)
	}
}

func TestMetricTable(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[string, int](mapx.WithMaxEntries(10)), append(h.opts("table"), instrumented.WithDurationSampling(1))...)
	defer w.Close()
	w.Store("a", 1)
	w.Store("b", 1)
	w.Range(func(string, int) bool { return true })
	s := w.Snapshot()
	defer s.Close()
	c := h.collect(t)
	seen := map[string]bool{}
	for _, m := range instrumented.Metrics() {
		if seen[m.Name] {
			t.Errorf("%s twice in the table", m.Name)
		}
		seen[m.Name] = true
		if _, ok := c.points[m.Name]; !ok {
			t.Errorf("%s is in the table but not exported", m.Name)
		} else if c.units[m.Name] != m.Unit {
			t.Errorf("%s: unit %q, the table says %q", m.Name, c.units[m.Name], m.Unit)
		}
		if m.Description == "" || m.Source == "" || m.Prometheus == "" {
			t.Errorf("%s: incomplete row %+v", m.Name, m)
		}
		if !strings.HasPrefix(m.Prometheus, "mapx_") {
			t.Errorf("%s: Prometheus name %q", m.Name, m.Prometheus)
		}
	}
	for name := range c.points {
		if !seen[name] {
			t.Errorf("%s is exported but not in the table", name)
		}
	}
}
