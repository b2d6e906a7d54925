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
	if v, ok := smoke.Value(out, "mapx_entries", `mapx_name="sessions"`); v != keys || !ok {
		t.Errorf("mapx_entries = %v (found %v), want %d:\n%s", v, ok, keys, out)
	}
	if v, _ := smoke.Value(out, "mapx_operations_total", `mapx_name="sessions"`, `mapx_operation="store"`); v != keys {
		t.Errorf("stores = %v, want %d (one per user)", v, keys)
	}
	if v, _ := smoke.Value(out, "mapx_operations_total", `mapx_name="sessions"`, `mapx_operation="load"`, `mapx_result="hit"`); v <= 0 {
		t.Errorf("no load hits:\n%s", out)
	}
}

func TestRunServesTheWrappedMap(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), "127.0.0.1:0", 300*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "serving http://127.0.0.1:") {
		t.Errorf("output starts %q", out.String()[:min(40, out.Len())])
	}
	checkOutput(t, out.String())
}

func TestBadListenAddressNamesTheFlag(t *testing.T) {
	err := run(context.Background(), "nohost", time.Millisecond, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-metrics-addr") {
		t.Fatalf("err = %v", err)
	}
}

func TestProgramEndsByItself(t *testing.T) {
	stdout := smoke.RunOK(t, time.Minute, "-duration", "1s", "-metrics-addr", "127.0.0.1:0")
	checkOutput(t, stdout)
	if r := smoke.Run(t, time.Minute, "-duration", "-1s"); r.Code != 2 || !strings.Contains(r.Stderr, "-duration") {
		t.Errorf("-duration -1s: exit status %d, stderr %q", r.Code, r.Stderr)
	}
}
