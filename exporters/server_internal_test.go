package exporters

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// keepAlive opens a connection to addr, scrapes /metrics once over it and
// leaves it open and idle.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("scrape: %s, close %v", resp.Status, resp.Close)
	}
	return c
}

// TestIdleConnectionsClose: the /metrics server closes keep-alive
// connections that stay idle, and holds at most MaxMetricsConnections.
func TestIdleConnectionsClose(t *testing.T) {
	metricsIdle = 300 * time.Millisecond
	defer func() { metricsIdle = metricsIdleTimeout }()
	tel, err := Setup(context.Background(), WithOTLP("off"), WithListen("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if s := tel.srv; s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.ReadHeaderTimeout == 0 {
		t.Fatalf("/metrics server timeouts: read header %v, read %v, write %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = keepAlive(t, tel.MetricsAddr())
	}
	// Each must see the server close it, long before a test timeout.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection %d of %d: read %v, want io.EOF (closed by the server)", i, n, err)
		}
		c.Close()
	}
}

func TestConnectionCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := metricsServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }), time.Minute)
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(newLimitListener(ln, 3)) }()
	defer func() { srv.Close(); <-served }()
	addr := ln.Addr().String()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// A fourth client waits for a free connection.
	get := func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(500 * time.Millisecond))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_, err = http.ReadResponse(bufio.NewReader(c), nil)
		return err
	}
	if err := get(); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("a fourth connection was served while three were held: %v", err)
	}
	held[0].Close()
	if err := get(); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	for _, c := range held[1:] {
		c.Close()
	}
}

// TestLargeScrapeFinishes: a scrape of a registry of 200,000 series goes
// through the server with its timeouts.
func TestLargeScrapeFinishes(t *testing.T) {
	tel, err := Setup(context.Background(), WithOTLP("off"), WithListen("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "big_registry_series", Help: "many series"}, []string{"id"})
	tel.Registry().MustRegister(g)
	const series = 200_000
	for i := range series {
		g.WithLabelValues(fmt.Sprint("series-with-a-longish-label-value-", i)).Set(float64(i))
	}
	start := time.Now()
	resp, err := http.Get("http://" + tel.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape of %d series cut after %d bytes: %v", series, len(body), err)
	}
	if got := strings.Count(string(body), "big_registry_series{"); got != series {
		t.Fatalf("scrape has %d of %d series", got, series)
	}
	t.Logf("%d series, %d bytes in %v (WriteTimeout %v)", series, len(body), time.Since(start), metricsWriteTimeout)
}
