package instrumented_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
)

// wrapMaps wraps n maps of 1,000 entries each.
func wrapMaps(tb testing.TB, n int) {
	for i := range n {
		m := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName(fmt.Sprintf("bench-%d", i)))
		tb.Cleanup(func() { _ = m.Close() })
		for k := range 1000 {
			m.Store(k, k)
		}
	}
}

// BenchmarkRecorderSample100Maps is one sample of 100 live maps: at one
// sample a second, its ns/op over 1e9 is the share of one CPU the recorder
// takes.
func BenchmarkRecorderSample100Maps(b *testing.B) {
	wrapMaps(b, 100)
	r := &instrumented.Recorder{}
	now := time.Now()
	for range instrumented.DefaultHistorySamples { // a full ring, as after 15 minutes
		now = now.Add(time.Second)
		r.Sample(now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Second)
		r.Sample(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "%CPU@1Hz")
}

// TestRecorderBytesPerMap measures the heap a full history takes per map
// (900 samples) and bounds it, so that the figure in the docs holds.
func TestRecorderBytesPerMap(t *testing.T) {
	const n = 100
	wrapMaps(t, n)
	r := &instrumented.Recorder{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	for range instrumented.DefaultHistorySamples {
		now = now.Add(time.Second)
		r.Sample(now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("a full history (%d samples) takes %d bytes a map", instrumented.DefaultHistorySamples, per)
	if per > 128<<10 {
		t.Errorf("%d bytes a map, want at most 128 KiB", per)
	}
	runtime.KeepAlive(r)
}
