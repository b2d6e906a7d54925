package instrumented_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
)

// retainedPerMap returns the heap bytes that each of n wrapped maps, each
// with two Stores, the second timed unless sampling is 0, keeps live.
func retainedPerMap(h *harness, n, sampling int) float64 {
	var before, after runtime.MemStats
	settle()
	runtime.ReadMemStats(&before)
	ws := make([]*instrumented.Map[int, int], n)
	for i := range ws {
		ws[i] = instrumented.Wrap(mapx.New[int, int](), append(h.opts(fmt.Sprintf("mem-%d", i)), instrumented.WithDurationSampling(sampling))...)
		ws[i].Store(1, 1)
		ws[i].Store(1, 1)
	}
	settle()
	runtime.ReadMemStats(&after)
	for _, w := range ws {
		_ = w.Close()
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// settle collects until what was dropped is freed: objects with a cleanup
// or a finalizer take more than one cycle.
func settle() {
	for range 4 {
		runtime.GC()
	}
}

// TestProducerMemoryPerMap measures what a Producer's private histograms
// cost per map that records a duration, and keeps it under a bound; a map
// that records none costs the Producer nothing.
func TestProducerMemoryPerMap(t *testing.T) {
	const maps, limit = 1000, 20 << 10
	plain := newHarness(t)
	untimed := retainedPerMap(plain, maps, 0)
	meterProvider := retainedPerMap(plain, maps, 1)
	h, _ := withProducer(t)
	idle := retainedPerMap(h, maps, 0)
	with := retainedPerMap(h, maps, 1)
	t.Logf("per map: %.0f B untimed; timed, %.0f B more in the MeterProvider's histograms without a Producer, %.0f B more in a Producer's",
		untimed, meterProvider-untimed, with-untimed)
	if idle-untimed > 1<<10 {
		t.Errorf("maps that time nothing cost %.0f B more each with a Producer open: its histograms must wait for a duration", idle-untimed)
	}
	if with-untimed > limit {
		t.Errorf("a Producer costs %.0f B per map, over %d", with-untimed, limit)
	}
}
