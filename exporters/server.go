package exporters

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// The /metrics server's limits. A scrape is a small GET answered by one
// write of the exposition: the timeouts shed idle and stalled clients, and
// WriteTimeout leaves a scrape of a large registry far more time than the
// scrape timeout Prometheus gives it (10 s by default).
const (
	metricsReadHeaderTimeout = 10 * time.Second
	metricsReadTimeout       = 30 * time.Second
	metricsWriteTimeout      = 2 * time.Minute
	metricsIdleTimeout       = 60 * time.Second
	// MaxMetricsConnections caps the connections the /metrics server holds
	// at once; more wait for a free one (in the kernel's accept queue), so
	// that clients holding connections cannot exhaust the process's files.
	MaxMetricsConnections = 64
)

// metricsIdle is the server's IdleTimeout; tests shorten it.
var metricsIdle = metricsIdleTimeout

// metricsServer returns the /metrics server, with the limits above.
func metricsServer(h http.Handler, idle time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: metricsReadHeaderTimeout,
		ReadTimeout:       metricsReadTimeout,
		WriteTimeout:      metricsWriteTimeout,
		IdleTimeout:       idle,
		ErrorLog:          slog.NewLogLogger(slog.Default().With("component", "metrics-server").Handler(), slog.LevelWarn),
	}
}

// limitListener accepts at most n connections at a time: Accept waits for
// one to close (as golang.org/x/net/netutil.LimitListener does).
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
