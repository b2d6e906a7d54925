package exporters_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/exporters"
	"go.uber.org/goleak"
)

// mutexFraction returns the mutex profile fraction without changing it.
func mutexFraction() int { return runtime.SetMutexProfileFraction(-1) }

// There is no Pyroscope server here: the profiler is pointed at a closed
// port, starts, fails its uploads and stops without leaking goroutines.
func TestPyroscope(t *testing.T) {
	for _, c := range []struct {
		name string
		env  bool // the address comes from PYROSCOPE_SERVER_ADDRESS
	}{{"option", false}, {"PYROSCOPE_SERVER_ADDRESS", true}} {
		t.Run(c.name, func(t *testing.T) {
			addr := "http://" + closedPort(t)
			var opts []exporters.Option
			if c.env {
				t.Setenv("PYROSCOPE_SERVER_ADDRESS", addr)
			} else {
				opts = append(opts, exporters.WithPyroscope(addr))
			}
			prev := runtime.SetMutexProfileFraction(3)
			defer runtime.SetMutexProfileFraction(prev)

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			tel, err := exporters.Setup(ctx, append(opts, exporters.WithOTLP("off"), exporters.WithServiceName("profiled"))...)
			if err != nil {
				t.Fatal(err)
			}
			if got := mutexFraction(); got != exporters.MutexProfileFraction {
				t.Errorf("mutex profile fraction %d while profiling, want %d", got, exporters.MutexProfileFraction)
			}
			// One profiler per process.
			if second, err := exporters.Setup(ctx, exporters.WithOTLP("off"), exporters.WithPyroscope(addr)); err == nil {
				_ = second.Shutdown(ctx)
				t.Error("a second Setup with Pyroscope succeeded")
			} else if !strings.Contains(err.Error(), "WithPyroscope") {
				t.Errorf("second Setup: %v, want an error naming WithPyroscope", err)
			}
			// Some contention and some work for the profiles.
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 1000 {
						mu.Lock()
						_ = make([]byte, 1024)
						mu.Unlock()
					}
				})
			}
			wg.Wait()

			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			within(t, sctx, "Shutdown", func() {
				if err := tel.Shutdown(sctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			})
			if got := mutexFraction(); got != 3 {
				t.Errorf("mutex profile fraction %d after Shutdown, want the previous 3", got)
			}
			goleak.VerifyNone(t)
		})
	}
}

func TestPyroscopeOffOverridesEnvironment(t *testing.T) {
	t.Setenv("PYROSCOPE_SERVER_ADDRESS", "http://"+deadAddr)
	prev := runtime.SetMutexProfileFraction(0)
	defer runtime.SetMutexProfileFraction(prev)
	setup(t, exporters.WithOTLP("off"), exporters.WithPyroscope(""))
	if got := mutexFraction(); got != 0 {
		t.Errorf("WithPyroscope(\"\"): mutex profile fraction %d, want 0 (not profiling)", got)
	}
}
