package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The smoke tests run the real command in a subprocess: this test binary,
// re-executed with LOADGEN_TEST_MAIN=1, runs main() with the given flags.
const runMainEnv = "LOADGEN_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// proc is a loadgen subprocess.
type proc struct {
	cmd     *exec.Cmd
	stdout  bytes.Buffer
	mu      sync.Mutex
	stderr  bytes.Buffer
	metrics chan string // the /metrics URL, once printed
	done    chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], args...), metrics: make(chan string, 1), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if url, ok := strings.CutPrefix(line, "loadgen: metrics at "); ok {
				p.metrics <- url
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.wait()
		}
	})
	return p
}

// wait waits for the process to end, at most a minute, and returns its exit
// status.
func (p *proc) wait() int {
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) metricsURL(t *testing.T) string {
	t.Helper()
	select {
	case url := <-p.metrics:
		return url
	case <-time.After(time.Minute):
		t.Fatalf("no metrics address printed; stderr:\n%s", p.stderrText())
	}
	return ""
}

// scrapeUntil fetches url until cond holds for the text of /metrics, for at
// most a minute.
func scrapeUntil(t *testing.T, url string, cond func(text string) bool) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(time.Minute)
	var text string
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if text = string(b); cond(text) {
				return text
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/metrics never satisfied the condition; last scrape:\n%s", text)
	return ""
}

// value returns the value of the first series of metric whose labels
// contain every one of labels, and whether there is one.
func value(text, metric string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, metric+"{")
		if !ok {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(rest, l)
		}
		if f := strings.Fields(rest); match && len(f) >= 2 {
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

type report struct {
	Impl      string  `json:"impl"`
	Workload  string  `json:"workload"`
	DurationS float64 `json:"duration_s"`
	Ops       int64   `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
	Latency   struct {
		P50, P90, P99, P999, Max int64
	} `json:"latency_ns"`
	AllocsPerOp    *float64 `json:"allocs_per_op"`
	GCPauseTotalNs *int64   `json:"gc_pause_total_ns"`
	PeakHeapBytes  int64    `json:"peak_heap_bytes"`
	Snapshots      int64    `json:"snapshots"`
	Cancelled      int64    `json:"iterations_cancelled"`
	Stats          *struct {
		Entries int64 `json:"entries"`
		Shards  int64 `json:"shards"`
	} `json:"stats"`
}

func TestSmokeRunServesMetricsAndReportsJSON(t *testing.T) {
	p := start(t, "-duration", "3s", "-keys", "20000", "-goroutines", "2", "-workload", "balanced", "-name", "smoke",
		"-metrics-addr", "127.0.0.1:0", "-report", "json", "-rate", "200000", "-snapshot-every", "300ms", "-cancel-every", "200ms")
	url := p.metricsURL(t)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("metrics served at %s, want 127.0.0.1", url)
	}
	text := scrapeUntil(t, url, func(s string) bool {
		v, ok := value(s, "mapx_operations_total", `mapx_name="smoke"`, `mapx_operation="load"`)
		return ok && v > 0
	})
	for _, series := range []string{"mapx_entries{", "mapx_dirty_entries{", "mapx_read_misses_total{", "go_goroutines", "go_memory_used_bytes"} {
		if !strings.Contains(text, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, p.stderrText())
	}
	var rep report
	if err := json.Unmarshal(p.stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, p.stdout.String())
	}
	l := rep.Latency
	switch {
	case rep.Impl != "mapx-instrumented" || rep.Workload != "balanced":
		t.Errorf("impl %q, workload %q", rep.Impl, rep.Workload)
	case rep.Ops <= 0 || rep.DurationS < 2.5:
		t.Errorf("%d ops in %vs", rep.Ops, rep.DurationS)
	case abs(rep.OpsPerSec*rep.DurationS-float64(rep.Ops)) > 1:
		t.Errorf("ops_per_sec %v × duration_s %v != ops %d", rep.OpsPerSec, rep.DurationS, rep.Ops)
	case l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max:
		t.Errorf("latency percentiles out of order: %+v", l)
	case rep.AllocsPerOp == nil || rep.GCPauseTotalNs == nil || rep.PeakHeapBytes <= 0:
		t.Errorf("allocs_per_op %v, gc_pause_total_ns %v, peak_heap_bytes %d", rep.AllocsPerOp, rep.GCPauseTotalNs, rep.PeakHeapBytes)
	case rep.Stats == nil || rep.Stats.Entries != 20000 || rep.Stats.Shards == 0:
		t.Errorf("stats %+v, want 20000 entries", rep.Stats)
	case rep.Snapshots == 0 || rep.Cancelled == 0:
		t.Errorf("%d snapshots, %d cancelled iterations", rep.Snapshots, rep.Cancelled)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestInterruptStopsTheRunAndPrintsTheReport(t *testing.T) {
	p := start(t, "-duration", "0", "-keys", "1000", "-goroutines", "1", "-rate", "50000", "-metrics-addr", "127.0.0.1:0", "-report", "json", "-name", "interrupted")
	scrapeUntil(t, p.metricsURL(t), func(s string) bool {
		v, ok := value(s, "mapx_operations_total", `mapx_operation="load"`)
		return ok && v > 0
	})
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit status %d after one interrupt; stderr:\n%s", code, p.stderrText())
	}
	var rep report
	if err := json.Unmarshal(p.stdout.Bytes(), &rep); err != nil || rep.Ops == 0 {
		t.Fatalf("report after interrupt: %v, %+v\n%s", err, rep, p.stdout.String())
	}
	if !strings.Contains(p.stderrText(), "interrupt again to exit at once") {
		t.Errorf("stderr:\n%s", p.stderrText())
	}
}

// Two loadgens side by side, as the end-to-end test with Prometheus runs
// them: distinct names and ports, paced, each serving its own series.
func TestTwoLoadgensSideBySide(t *testing.T) {
	common := []string{"-duration", "4s", "-keys", "5000", "-goroutines", "1", "-rate", "20000", "-metrics-addr", "127.0.0.1:0"}
	leaky := start(t, append([]string{"-name", "leaky", "-workload", "leak", "-leak-rate", "5000"}, common...)...)
	healthy := start(t, append([]string{"-name", "healthy", "-workload", "read-mostly"}, common...)...)
	lu, hu := leaky.metricsURL(t), healthy.metricsURL(t)
	if lu == hu {
		t.Fatalf("both serve %s", lu)
	}
	text := scrapeUntil(t, lu, func(s string) bool {
		v, ok := value(s, "mapx_entries", `mapx_name="leaky"`)
		return ok && v > 5000
	})
	if strings.Contains(text, `mapx_name="healthy"`) {
		t.Error("the leaky loadgen exports the healthy map")
	}
	text = scrapeUntil(t, hu, func(s string) bool {
		v, ok := value(s, "mapx_operations_total", `mapx_name="healthy"`, `mapx_operation="load"`)
		return ok && v > 0
	})
	if v, _ := value(text, "mapx_entries", `mapx_name="healthy"`); v != 5000 || strings.Contains(text, `mapx_name="leaky"`) {
		t.Errorf("healthy loadgen: mapx_entries %v, want 5000, and no leaky series", v)
	}
	for _, p := range []*proc{leaky, healthy} {
		if code := p.wait(); code != 0 {
			t.Errorf("exit status %d; stderr:\n%s", code, p.stderrText())
		}
	}
}

func TestBadInputExitsWithStatus2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-workload", "nope"}, "valid: read-mostly, balanced, write-heavy, churn, leak, ycsb-a"},
		{[]string{"-impl", "nope"}, "valid: mapx, mapx-instrumented, sync.Map, sync.Map-instrumented, xsync, rwmutex"},
		{[]string{"-goroutines", "many"}, "-goroutines"},
	} {
		p := start(t, c.args...)
		if code := p.wait(); code != 2 || !strings.Contains(p.stderrText(), c.want) {
			t.Errorf("%q: exit status %d, want 2; stderr lacks %q?\n%s", c.args, code, c.want, p.stderrText())
		}
	}
}
