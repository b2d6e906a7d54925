package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/mapx-dev/mapx/loadgen/engine"
	"go.uber.org/goleak"
	"net"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestBadFlagsExitWithStatus2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-workload", "nope"}, []string{`unknown -workload "nope"`, "read-mostly", "churn", "leak", "ycsb-a", "ycsb-f"}},
		{[]string{"-impl", "hashmap"}, []string{`unknown implementation "hashmap"`, "mapx-instrumented", "sync.Map", "xsync", "rwmutex"}},
		{[]string{"-compare", "mapx,hashmap"}, []string{`"hashmap"`, "valid: mapx"}},
		{[]string{"-keys", "ten"}, []string{"-keys"}},
		{[]string{"-keys", "0"}, []string{"-keys: must be at least 1"}},
		{[]string{"-goroutines", "0"}, []string{"-goroutines"}},
		{[]string{"-rate", "-5"}, []string{"-rate"}},
		{[]string{"-leak-rate", "0"}, []string{"-leak-rate"}},
		{[]string{"-duration", "-1s"}, []string{"-duration"}},
		{[]string{"-duration", "soon"}, []string{"-duration"}},
		{[]string{"-dist", "pareto"}, []string{`unknown -dist "pareto"`, "uniform", "zipf"}},
		{[]string{"-max-entries", "10"}, []string{"-max-entries: 10 is below -keys"}},
		{[]string{"-impl", "xsync", "-insert-rate", "100"}, []string{"xsync has no admission control"}},
		{[]string{"-report", "xml"}, []string{"-report", "text, json"}},
		{[]string{"-progress", "maybe"}, []string{"-progress"}},
		{[]string{"-metrics-addr", "9464"}, []string{"-metrics-addr"}},
		{[]string{"-metrics-addr", ":99999"}, []string{"-metrics-addr", "0 to 65535"}},
		{[]string{"-metrics-addr", "127.0.0.1:http"}, []string{"-metrics-addr", "not a number"}},
		{[]string{"-forever"}, []string{"-forever: only with -demo"}},
		{[]string{"-impl", "mapx", "-compare", "mapx,xsync"}, []string{"one or the other"}},
		{[]string{"-compare", "mapx,xsync", "-duration", "0"}, []string{"-compare: needs a -duration"}},
		{[]string{"extra"}, []string{"unexpected arguments"}},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), c.args, &stdout, &stderr)
		if code != ExitUsage {
			t.Errorf("%q: exit status %d, want %d; stderr:\n%s", c.args, code, ExitUsage, stderr.String())
		}
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%q: stderr lacks %q:\n%s", c.args, w, stderr.String())
			}
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: wrote to stdout: %s", c.args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"-h"}, &stdout, &stderr); code != ExitOK || !strings.Contains(stderr.String(), "ycsb-e") {
		t.Errorf("-h: status %d, usage:\n%s", code, stderr.String())
	}
}

// -compare runs every implementation for the same rounds and reports them
// in order, with ratios to the first.
func TestCompareReportsEveryImplementation(t *testing.T) {
	var stdout, stderr bytes.Buffer
	impls := []string{"mapx", "sync.Map", "xsync", "rwmutex"}
	code := Main(context.Background(), []string{"-compare", strings.Join(impls, ","), "-ops", "40000", "-rounds", "2",
		"-keys", "1000", "-goroutines", "2", "-workload", "ycsb-a", "-report", "json", "-metrics-addr", ""}, &stdout, &stderr)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var reps []engine.Report
	if err := json.Unmarshal(stdout.Bytes(), &reps); err != nil {
		t.Fatalf("%v:\n%s", err, stdout.String())
	}
	if len(reps) != len(impls) {
		t.Fatalf("%d reports, want %d", len(reps), len(impls))
	}
	for i, r := range reps {
		if r.Impl != impls[i] || r.Rounds != 2 || r.Ops != 40_000 || r.Dist != "zipf" || r.Ratio == nil {
			t.Errorf("report %d: impl %s, rounds %d, ops %d, dist %s, ratio %v", i, r.Impl, r.Rounds, r.Ops, r.Dist, r.Ratio)
			continue
		}
		if want := r.OpsPerSec / reps[0].OpsPerSec; r.Ratio.OpsPerSec != want {
			t.Errorf("%s: ratio %v, want %v", r.Impl, r.Ratio.OpsPerSec, want)
		}
	}
}

// A second loadgen on the default port, which make demo or the first one
// holds, serves on a free port; one given a port in use says how to get a
// free one.
func TestMetricsPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", DefaultMetricsAddr)
	if err != nil && !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatal(err)
	}
	if err == nil { // otherwise another process holds it: in use all the same
		defer taken.Close()
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"-duration", "100ms", "-keys", "100", "-progress", "off"}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("default port in use: exit status %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "is in use") || strings.Contains(stderr.String(), "metrics at http://"+DefaultMetricsAddr) {
		t.Errorf("default port in use: stderr does not say it took a free port:\n%s", stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	code := Main(context.Background(), []string{"-duration", "100ms", "-keys", "100", "-metrics-addr", DefaultMetricsAddr}, &stdout, &stderr)
	if code != ExitError || !strings.Contains(stderr.String(), "-metrics-addr 127.0.0.1:0") {
		t.Errorf("-metrics-addr %s in use: exit status %d, want %d with a hint; stderr:\n%s", DefaultMetricsAddr, code, ExitError, stderr.String())
	}
}

// A JSON report says what it ran on and with which flags.
func TestJSONReportCarriesTheMachine(t *testing.T) {
	args := []string{"-compare", "mapx,rwmutex", "-duration", "100ms", "-keys", "100", "-report", "json", "-metrics-addr", "", "-progress", "off"}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), args, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var reps []engine.Report
	if err := json.Unmarshal(stdout.Bytes(), &reps); err != nil {
		t.Fatalf("%v:\n%s", err, stdout.String())
	}
	for _, r := range reps {
		m := r.Machine
		if m == nil || m.GoVersion != runtime.Version() || m.GOMAXPROCS != runtime.GOMAXPROCS(0) || m.NumCPU != runtime.NumCPU() ||
			m.Start.IsZero() || !slices.Equal(m.Args, args) {
			t.Errorf("%s: machine %+v", r.Impl, m)
			continue
		}
		if m.Busy != (m.Load1 > float64(m.NumCPU)) || m.Busy != strings.Contains(stderr.String(), "the machine is busy") {
			t.Errorf("%s: busy %v with load %.2f on %d CPUs; stderr:\n%s", r.Impl, m.Busy, m.Load1, m.NumCPU, stderr.String())
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
