package exporters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/grafana/pyroscope-go"
)

// Profile rates set while Pyroscope runs (the values Grafana's documentation
// suggests): one mutex contention event in MutexProfileFraction is sampled,
// and one blocking event per BlockProfileRate nanoseconds spent blocked.
const (
	MutexProfileFraction = 5
	BlockProfileRate     = 5
)

// profiling is true while a Setup's profiler runs: the process has one CPU
// profiler and one set of profile rates.
var profiling struct {
	sync.Mutex
	on bool
}

// profiler is a running Pyroscope profiler.
type profiler struct {
	p         *pyroscope.Profiler
	client    *cancellingClient
	prevMutex int
}

// startPyroscope starts profiling to addr under the application name app.
func startPyroscope(addr, app string) (*profiler, error) {
	profiling.Lock()
	defer profiling.Unlock()
	if profiling.on {
		return nil, fmt.Errorf("exporters: WithPyroscope(%q): another Setup's profiler is running; shut it down first", addr)
	}
	client := newCancellingClient()
	prev := runtime.SetMutexProfileFraction(MutexProfileFraction)
	runtime.SetBlockProfileRate(BlockProfileRate)
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName:   app,
		ServerAddress:     addr,
		Tags:              map[string]string{"service_name": app},
		BasicAuthUser:     os.Getenv(envPyroscopeUser),
		BasicAuthPassword: os.Getenv(envPyroscopePass),
		TenantID:          os.Getenv(envPyroscopeOrg),
		HTTPClient:        client,
		Logger:            pyroscopeLogger{slog.Default().With("component", "pyroscope")},
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU,
			pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace,
			pyroscope.ProfileGoroutines,
			pyroscope.ProfileMutexCount, pyroscope.ProfileMutexDuration,
			pyroscope.ProfileBlockCount, pyroscope.ProfileBlockDuration,
		},
	})
	if err != nil {
		runtime.SetMutexProfileFraction(prev)
		runtime.SetBlockProfileRate(0)
		client.close()
		return nil, fmt.Errorf("exporters: WithPyroscope(%q): %w", addr, err)
	}
	profiling.on = true
	return &profiler{p: p, client: client, prevMutex: prev}, nil
}

// stop stops profiling, uploading the last profiles until ctx is done, and
// restores the profile rates: the mutex fraction to what it was, the block
// rate to 0 (Go cannot tell what it was).
func (p *profiler) stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.p.Stop() // always nil
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("exporters: stopping Pyroscope: %w", context.Cause(ctx))
		p.client.close() // abort the uploads in flight: Stop then returns
		<-done
	}
	p.client.close()
	profiling.Lock()
	runtime.SetMutexProfileFraction(p.prevMutex)
	runtime.SetBlockProfileRate(0)
	profiling.on = false
	profiling.Unlock()
	return err
}

// cancellingClient is Pyroscope's HTTP client: close aborts its requests in
// flight and closes its idle connections.
type cancellingClient struct {
	http   *http.Client
	ctx    context.Context
	cancel context.CancelFunc
}

func newCancellingClient() *cancellingClient {
	ctx, cancel := context.WithCancel(context.Background())
	// Pyroscope's own client: 30s timeout, no redirects (they drop the
	// Authorization header).
	return &cancellingClient{
		http: &http.Client{
			Transport: &http.Transport{
				Proxy:           http.ProxyFromEnvironment,
				MaxConnsPerHost: 5,
				// A connection is kept between uploads (every 10s), no longer.
				IdleConnTimeout:     2 * pyroscopeUploadRate,
				DialContext:         (&net.Dialer{Timeout: pyroscopeDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout: pyroscopeDialTimeout,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
			Timeout: pyroscopeUploadTimeout,
		},
		ctx:    ctx,
		cancel: cancel,
	}
}

func (c *cancellingClient) Do(req *http.Request) (*http.Response, error) {
	if c.ctx.Err() != nil {
		return nil, errors.New("exporters: Pyroscope is shut down")
	}
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(c.ctx, cancel)
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	// The body is read after Do returns: cancel once it is closed.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { stop(); cancel() }}
	return resp, nil
}

func (c *cancellingClient) close() {
	c.cancel()
	c.http.CloseIdleConnections()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// pyroscopeUploadTimeout bounds one upload, as in pyroscope-go, whose
// uploads come every pyroscopeUploadRate.
const (
	pyroscopeUploadTimeout = 30 * time.Second
	pyroscopeUploadRate    = 10 * time.Second
	pyroscopeDialTimeout   = 10 * time.Second
)

// pyroscopeLogger sends Pyroscope's messages to slog: its errors (failed
// uploads) as warnings, the rest at debug level.
type pyroscopeLogger struct{ l *slog.Logger }

func (l pyroscopeLogger) Infof(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...))
}

func (l pyroscopeLogger) Debugf(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...))
}

func (l pyroscopeLogger) Errorf(format string, args ...any) {
	l.l.Warn(fmt.Sprintf(format, args...))
}
