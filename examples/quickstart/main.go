package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/examples/internal/example"
	"github.com/mapx-dev/mapx/exporters"
	"github.com/mapx-dev/mapx/instrumented"
)

func main() { example.Main("quickstart", 5*time.Second, run) }

// keys is how many users the example keeps sessions for.
const keys = 1000

func run(ctx context.Context, addr string, d time.Duration, out io.Writer) error {
	tel, err := exporters.Setup(ctx, exporters.WithServiceName("quickstart"), exporters.WithListen(addr))
	if err != nil {
		return fmt.Errorf("-metrics-addr %q: %w", addr, err)
	}
	defer tel.Shutdown(context.Background())

	// The one line: a map, wrapped.
	sessions := instrumented.Wrap(mapx.New[string, int](), instrumented.WithName("sessions"), instrumented.WithMeterProvider(tel.MeterProvider()))
	defer sessions.Close()

	fmt.Fprintf(out, "serving http://%s/metrics", tel.MetricsAddr())
	if d > 0 {
		fmt.Fprintf(out, " for %v", d)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	fmt.Fprintln(out)

	// Some work: logins store sessions, requests load them.
	for i := 0; ctx.Err() == nil; i++ {
		user := "user-" + strconv.Itoa(i%keys)
		if _, ok := sessions.Load(user); !ok {
			sessions.Store(user, i)
		}
		if i%1000 == 999 {
			time.Sleep(time.Millisecond) // a service, not a benchmark
		}
	}
	if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintf(out, "%d sessions; the map's series, as Prometheus scrapes them:\n", sessions.Len())
	return example.Series(context.Background(), out, tel.MetricsAddr())
}
