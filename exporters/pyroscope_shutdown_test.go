package exporters_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/exporters"
	"go.uber.org/goleak"
)

// answeringServer accepts every upload, over keep-alive connections.
func answeringServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// silentServer accepts connections and reads them, and never answers.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// blackholed returns an address whose connections never complete: a
// socket listening with a backlog of 0, filled, that never accepts, so the
// kernel drops further SYNs.
func blackholed(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the backlog is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the backlog of a listening socket to blackhole it")
	return ""
}

// TestPyroscopeShutdownLeavesNothing: with the Pyroscope server silent
// (accepting, never answering) or blackholed (never accepting), Shutdown
// returns within its context and no goroutine of the profiler or of its
// HTTP transport outlives it.
func TestPyroscopeShutdownLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		addr func(*testing.T) string
	}{{"answering", answeringServer}, {"silent", silentServer}, {"blackholed", blackholed}} {
		t.Run(c.name, func(t *testing.T) {
			addr := c.addr(t)
			before := goleak.IgnoreCurrent()
			tel, err := exporters.Setup(context.Background(), exporters.WithOTLP("off"), exporters.WithPyroscope("http://"+addr))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			within(t, ctx, "Shutdown", func() { t.Logf("Shutdown: %v", tel.Shutdown(ctx)) })
			goleak.VerifyNone(t, before)
		})
	}
}
