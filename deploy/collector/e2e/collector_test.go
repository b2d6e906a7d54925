package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Paths relative to this package's folder, where go test runs.
const (
	// mainDir holds the collector's main package.
	mainDir = ".."
	// binaryPath is where the collector is built: .bin/otelcol-mapx at the
	// repository's root, the path CI reuses.
	binaryPath = "../../../.bin/otelcol-mapx"
	// deployConfig is the configuration the docker-compose stack mounts.
	deployConfig = "../../otelcol/config.yaml"
)

// Generous bounds for a shared machine that may be several times slower than
// expected; they only stop a test that would otherwise hang.
const (
	buildTimeout = 15 * time.Minute
	startTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

var build struct {
	once sync.Once
	path string
	err  error
}

// collectorBinary returns the absolute path of the collector, after building
// it with go build: a no-op of a few seconds when the binary is up to date, so
// a binary built earlier by CI is reused, and one that is missing or older
// than this module's source is (re)built.
func collectorBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.path, build.err = filepath.Abs(binaryPath)
		if build.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", build.path, ".")
		cmd.Dir = mainDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build -o %s . (in deploy/collector): %v\n%s", build.path, err, out)
			return
		}
		t.Logf("go build -o %s . (in deploy/collector) took %v", build.path, time.Since(start).Round(time.Millisecond))
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// TestValidateDeployConfig runs the real binary's validate subcommand on the
// configuration of the docker-compose stack.
func TestValidateDeployConfig(t *testing.T) {
	bin := collectorBinary(t)
	out, err := exec.Command(bin, "validate", "--config="+deployConfig).CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol-mapx validate --config=%s: %v\n%s", deployConfig, err, out)
	}
}

// TestValidateRejects shows that validate does check the configuration: the
// deploy configuration with one broken setting merged over it fails, naming
// the setting.
func TestValidateRejects(t *testing.T) {
	bin := collectorBinary(t)
	for _, tc := range []struct {
		name, override, want string
	}{
		{
			name:     "translation strategy",
			override: "exporters: {prometheus: {translation_strategy: Underscores}}",
			want:     "invalid translation_strategy",
		},
		{
			name:     "undefined exporter",
			override: "service: {pipelines: {metrics: {exporters: [prometheus, prometheus/missing]}}}",
			want:     "prometheus/missing",
		},
		{
			name:     "unknown component type",
			override: "exporters: {zipkin: {endpoint: 'http://127.0.0.1:1'}}",
			want:     "zipkin",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			override := writeFile(t, "override.yaml", tc.override)
			out, err := exec.Command(bin, "validate", "--config="+deployConfig, "--config="+override).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("validate with %s: want a non-zero exit, got %v\n%s", tc.override, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("validate with %s: output does not mention %q:\n%s", tc.override, tc.want, out)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// collector is a running otelcol-mapx process.
type collector struct {
	grpc, http, prometheus string // host:port of the listeners
	cmd                    *exec.Cmd
	logPath                string // its stdout and stderr
	exited                 chan struct{}
}

// startCollector runs the binary on the deploy configuration with its
// listeners moved to free 127.0.0.1 ports and its traces sent to jaegerAddr,
// and waits until it listens. The process is stopped when the test ends,
// whether it passes or fails; its output is logged if it failed.
func startCollector(t *testing.T, jaegerAddr string) *collector {
	t.Helper()
	bin := collectorBinary(t)
	// A free port can be taken by another process before the collector
	// binds it: then it exits at once, and another set of ports is tried.
	for attempt := 1; ; attempt++ {
		c, err := tryStartCollector(t, bin, jaegerAddr)
		if err == nil {
			return c
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v", attempt, err)
	}
}

func tryStartCollector(t *testing.T, bin, jaegerAddr string) (*collector, error) {
	ports := freePorts(t, 3)
	c := &collector{grpc: ports[0], http: ports[1], prometheus: ports[2], exited: make(chan struct{})}
	// Merged over the deploy configuration (maps merge, lists are replaced):
	// everything but the addresses is what the stack runs. The collector's
	// own metrics are off, so nothing listens on :8888.
	override := writeFile(t, "listen.yaml", fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: %q}
      http: {endpoint: %q}
exporters:
  prometheus: {endpoint: %q}
  otlp_grpc/jaeger: {endpoint: %q}
service:
  telemetry:
    metrics: {level: none}
`, c.grpc, c.http, c.prometheus, jaegerAddr))
	c.logPath = filepath.Join(filepath.Dir(override), "collector.log")
	log, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy
	c.cmd = exec.Command(bin, "--config="+deployConfig, "--config="+override)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.cmd.SysProcAttr = dieWithParent()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector output:\n%s", c.output())
		}
	})
	if err := c.waitListening(); err != nil {
		c.stop(t)
		return nil, fmt.Errorf("collector did not start: %v\n%s", err, c.output())
	}
	return c, nil
}

// waitListening waits until the three listeners accept connections: the
// receivers are started last, so the pipelines are up by then.
func (c *collector) waitListening() error {
	deadline := time.Now().Add(startTimeout)
	for _, addr := range []string{c.prometheus, c.grpc, c.http} {
		for {
			select {
			case <-c.exited:
				return fmt.Errorf("exited: %v", c.cmd.ProcessState)
			default:
			}
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: not listening after %v: %v", addr, startTimeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// stop ends the collector with SIGTERM, the way docker stop does, and kills
// it if it has not exited in time. It returns once the process is gone.
func (c *collector) stop(t *testing.T) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		t.Errorf("collector ignored SIGTERM for %v: killing it", stopTimeout)
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// freePorts returns n distinct free 127.0.0.1 ports, held open together while
// they are chosen so that none is returned twice.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

// output returns what the collector has written to stdout and stderr.
func (c *collector) output() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
