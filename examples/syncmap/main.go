package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/mapx-dev/mapx/examples/internal/example"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
)

func main() { example.Main("syncmap", 3*time.Second, run) }

// legacyCache is the existing code: a package-level sync.Map that other
// functions use directly.
var legacyCache sync.Map

// lookupLegacy is existing code that keeps using the *sync.Map.
func lookupLegacy(key string) (string, bool) {
	v, ok := legacyCache.Load(key)
	if !ok {
		return "", false
	}
	return v.(string), true
}

func run(ctx context.Context, addr string, d time.Duration, out io.Writer) error {
	tel, err := exporters.Setup(ctx, exporters.WithServiceName("syncmap"), exporters.WithListen(addr))
	if err != nil {
		return fmt.Errorf("-metrics-addr %q: %w", addr, err)
	}
	defer tel.Shutdown(context.Background())

	// The one line: the same *sync.Map, instrumented.
	cache := instrumented.WrapSyncMap(&legacyCache, instrumented.WithName("legacy-cache"), instrumented.WithMeterProvider(tel.MeterProvider()))
	defer cache.Close()

	fmt.Fprintf(out, "serving http://%s/metrics\n", tel.MetricsAddr())
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// New code writes through the wrapper: 200 keys, rewritten in turn.
	for i := 0; ctx.Err() == nil; i++ {
		cache.Store("page-"+strconv.Itoa(i%200), "rendered #"+strconv.Itoa(i))
		cache.Load("page-" + strconv.Itoa((i*7)%250)) // some misses: pages 200-249 never exist
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
	// Old code still sees what the wrapper wrote, in the very same map.
	v, ok := lookupLegacy("page-42")
	fmt.Fprintf(out, "legacy code reads page-42 from the *sync.Map: %q (found %v)\n", v, ok)
	fmt.Fprintln(out, "the map's series, as Prometheus scrapes them:")
	return example.Series(context.Background(), out, tel.MetricsAddr())
}
