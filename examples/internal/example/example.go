package example

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

// Body is an example's program: it serves /metrics on addr and runs for d
// (0: until ctx is done), writing what it shows to out.
type Body func(ctx context.Context, addr string, d time.Duration, out io.Writer) error

// Main parses -metrics-addr and -duration, runs body until it returns or
// the process is interrupted, and exits: 2 for bad flags, 1 if body fails.
func Main(name string, duration time.Duration, body Body) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	addr := fs.String("metrics-addr", "127.0.0.1:9464", "serve /metrics on this host:port (port 0: a free port)")
	d := fs.Duration("duration", duration, "how long to run (0: until interrupted)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *d < 0 {
		fmt.Fprintf(os.Stderr, "%s: -duration: must not be negative, got %v\n", name, *d)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := body(ctx, *addr, *d, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

// Series fetches http://addr/metrics and writes its mapx_ series, without
// the histogram buckets, to w.
func Series(ctx context.Context, w io.Writer, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "mapx_") && !strings.Contains(line, "_bucket{") {
			fmt.Fprintln(w, line)
		}
	}
	return sc.Err()
}
