package smoke

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const envVar = "MAPX_EXAMPLE_RUN_MAIN"

// Main is the TestMain of an example: in a process started by [Run] it runs
// program (the example's main) and exits; otherwise it runs the tests and
// checks that they leak no goroutine.
func Main(m *testing.M, program func()) {
	if os.Getenv(envVar) == "1" {
		program()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// Result is how a program run ended.
type Result struct {
	Stdout, Stderr string
	Code           int // exit status; -1 if it did not exit by itself in time
}

// Run runs the example's program with args in a subprocess and waits for
// it to end by itself, at most timeout (then it is killed and Code is -1).
func Run(t testing.TB, timeout time.Duration, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envVar+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Code = -1
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %q: %v", args, err)
	}
	return r
}

// RunOK is [Run] for a run that must succeed: it fails the test unless the
// program exits with status 0, and returns its standard output.
func RunOK(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	r := Run(t, timeout, args...)
	if r.Code != 0 {
		t.Fatalf("%q: exit status %d; stderr:\n%s", args, r.Code, r.Stderr)
	}
	return r.Stdout
}

// Value returns the value of the first series of metric, in Prometheus
// text, whose labels contain each of labels.
func Value(text, metric string, labels ...string) (float64, bool) {
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
