package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/examples/internal/smoke"
)

func TestMain(m *testing.M) { smoke.Main(m, main) }

func checkOutput(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, `legacy code reads page-42 from the *sync.Map: "rendered #`) {
		t.Errorf("the legacy reader did not see the wrapper's write:\n%s", out)
	}
	if v, ok := smoke.Value(out, "mapx_entries", `mapx_name="legacy-cache"`); v != 200 || !ok {
		t.Errorf("mapx_entries = %v (found %v), want 200:\n%s", v, ok, out)
	}
	hits, _ := smoke.Value(out, "mapx_operations_total", `mapx_name="legacy-cache"`, `mapx_operation="load"`, `mapx_result="hit"`)
	misses, _ := smoke.Value(out, "mapx_operations_total", `mapx_name="legacy-cache"`, `mapx_operation="load"`, `mapx_result="miss"`)
	if hits <= 0 || misses <= 0 {
		t.Errorf("load hits %v, misses %v; want both", hits, misses)
	}
}

func TestWrappedSyncMapWritesThrough(t *testing.T) {
	legacyCache.Clear()
	var out bytes.Buffer
	if err := run(context.Background(), "127.0.0.1:0", 200*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out.String())
	n := 0
	legacyCache.Range(func(any, any) bool { n++; return true })
	if n != 200 {
		t.Errorf("the *sync.Map holds %d keys, want 200", n)
	}
}

func TestProgramEndsByItself(t *testing.T) {
	stdout := smoke.RunOK(t, time.Minute, "-duration", "1s", "-metrics-addr", "127.0.0.1:0")
	checkOutput(t, stdout)
}
