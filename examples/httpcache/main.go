package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx/exporters"
)

type config struct {
	addr     string
	opts     options
	duration time.Duration
	clients  int
	keys     int
}

func main() {
	var c config
	fs := flag.NewFlagSet("httpcache", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen on this host:port (port 0: a free port)")
	fs.StringVar(&c.opts.upstream, "upstream", "", "upstream base URL (empty: a built-in slow upstream on 127.0.0.1)")
	fs.IntVar(&c.opts.maxEntries, "max-entries", 300, "admission control: cap on cached entries (0: no cap)")
	fs.Float64Var(&c.opts.insertRate, "insert-rate", 100, "admission control: new entries per second (0: no limit)")
	fs.DurationVar(&c.opts.ttl, "ttl", 30*time.Second, "how long a response stays cached")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "run the built-in clients this long, print a summary and exit (0: serve until interrupted, no clients)")
	fs.IntVar(&c.clients, "clients", 4, "built-in clients")
	fs.IntVar(&c.keys, "keys", 600, "distinct keys the built-in clients ask for")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "httpcache: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "httpcache: %v\n", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	var errs []error
	if u, err := url.Parse(c.opts.upstream); c.opts.upstream != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("-upstream: %q is not an http:// or https:// URL", c.opts.upstream))
	}
	if c.opts.maxEntries < 0 {
		errs = append(errs, fmt.Errorf("-max-entries: must not be negative, got %d", c.opts.maxEntries))
	}
	if !(c.opts.insertRate >= 0) || c.opts.insertRate > 1e9 {
		errs = append(errs, fmt.Errorf("-insert-rate: must be between 0 (no limit) and 1e9, got %v", c.opts.insertRate))
	}
	if c.opts.ttl <= 0 {
		errs = append(errs, fmt.Errorf("-ttl: must be positive, got %v", c.opts.ttl))
	}
	if c.duration < 0 {
		errs = append(errs, fmt.Errorf("-duration: must not be negative, got %v", c.duration))
	}
	if c.clients < 1 {
		errs = append(errs, fmt.Errorf("-clients: must be at least 1, got %d", c.clients))
	}
	if c.keys < 1 {
		errs = append(errs, fmt.Errorf("-keys: must be at least 1, got %d", c.keys))
	}
	return errors.Join(errs...)
}

// serve starts an HTTP server for h on ln and returns its shutdown.
func serve(ln net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	tel, err := exporters.Setup(ctx, exporters.WithServiceName("httpcache"))
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.Background())
	if c.opts.upstream == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("built-in upstream: %w", err)
		}
		defer serve(ln, upstream(5*time.Millisecond))()
		c.opts.upstream = "http://" + ln.Addr().String()
	}
	c.opts.upstream = strings.TrimSuffix(c.opts.upstream, "/")
	cache := newCache(c.opts, tel.MeterProvider())
	defer cache.Close()
	mux := http.NewServeMux()
	cache.routes(mux)
	mux.Handle("GET /metrics", tel.Handler())
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", c.addr, err)
	}
	defer serve(ln, mux)()
	jctx, stopJanitor := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopJanitor()
	wg.Go(func() { cache.janitor(jctx) })

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "httpcache on %s: GET /cache/{key}, GET /admin/snapshot, GET /metrics; upstream %s\n", base, c.opts.upstream)
	if c.duration == 0 {
		<-ctx.Done()
		return nil
	}
	tctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	t := traffic(tctx, base, c.clients, c.keys)
	fmt.Fprintf(out, "traffic: %d clients for %v: %d requests, %d hits, %d misses (fetched upstream), %d refused with 503 and Retry-After\n",
		c.clients, c.duration, t.requests.Load(), t.hits.Load(), t.misses.Load(), t.refused.Load())
	st := cache.m.Stats()
	fmt.Fprintf(out, "map: %d entries; admission refused %d (capacity %d, rate %d)\n", st.Entries, st.BackpressureRejections, st.RejectedCapacity, st.RejectedRate)
	header, lines, err := readSnapshot(ctx, base, -1)
	if err != nil {
		return fmt.Errorf("admin snapshot: %w", err)
	}
	fmt.Fprintf(out, "admin snapshot: header says %d entries, %d streamed\n", header.Entries, lines)
	return nil
}

// counts are what the built-in clients saw.
type counts struct{ requests, hits, misses, refused, other atomic.Int64 }

// traffic runs clients that GET random keys until ctx is done. A refused
// client waits a little before its next request.
func traffic(ctx context.Context, base string, clients, keys int) *counts {
	var c counts
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/cache/item-"+strconv.Itoa(rand.IntN(keys)), nil)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				c.requests.Add(1)
				switch {
				case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
					c.refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				case resp.Header.Get("X-Cache") == "HIT":
					c.hits.Add(1)
				case resp.Header.Get("X-Cache") == "MISS":
					c.misses.Add(1)
				default:
					c.other.Add(1)
				}
				time.Sleep(time.Millisecond) // a client, not a flood
			}
		})
	}
	wg.Wait()
	return &c
}

// readSnapshot reads the admin stream: its header and, up to limit (-1: all)
// lines, then hangs up.
func readSnapshot(ctx context.Context, base string, limit int) (snapshotHeader, int, error) {
	var h snapshotHeader
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/snapshot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		return h, 0, fmt.Errorf("no header: %v", sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, 0, err
	}
	n := 0
	for n != limit && sc.Scan() {
		n++
	}
	return h, n, sc.Err()
}
