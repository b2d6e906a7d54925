package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/mapx-dev/mapx"
)

type config struct {
	keys, writers, exports int
	duration               time.Duration
	out                    string
}

func main() {
	var c config
	fs := flag.NewFlagSet("snapshot-export", flag.ContinueOnError)
	fs.IntVar(&c.keys, "keys", 10_000, "keys in the map, shared out between the writers")
	fs.IntVar(&c.writers, "writers", 4, "goroutines rewriting the keys")
	fs.IntVar(&c.exports, "exports", 3, "exports to take, spread over -duration")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long the writers run")
	fs.StringVar(&c.out, "out", "", "folder for the exports (empty: a temporary folder, removed at the end)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "snapshot-export: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "snapshot-export: %v\n", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	var errs []error
	if c.writers < 1 {
		errs = append(errs, fmt.Errorf("-writers: must be at least 1, got %d", c.writers))
	} else if c.keys < c.writers {
		errs = append(errs, fmt.Errorf("-keys: must be at least -writers (%d), got %d", c.writers, c.keys))
	}
	if c.exports < 1 {
		errs = append(errs, fmt.Errorf("-exports: must be at least 1, got %d", c.exports))
	}
	if c.duration <= 0 {
		errs = append(errs, fmt.Errorf("-duration: must be positive, got %v", c.duration))
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, c config, out io.Writer) error {
	dir := c.out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mapx-snapshot-export-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	per := c.keys / c.writers
	m := mapx.New[string, record]()
	w := newWriters(m, c.writers, per)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for id := range c.writers {
		wg.Go(func() { w.run(id, stop) })
	}
	defer wg.Wait()
	defer close(stop)
	fmt.Fprintf(out, "%d writers rewriting %d keys in sweeps; %d exports to %s\n", c.writers, c.writers*per, c.exports, dir)
	if c.out == "" {
		fmt.Fprintln(out, "(a temporary folder, removed when the program ends: -out DIR keeps the exports)")
	}

	every := c.duration / time.Duration(c.exports)
	for i := 1; i <= c.exports; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
		path := filepath.Join(dir, fmt.Sprintf("export-%d.json", i))
		var buf bytes.Buffer
		before := w.writes.Load()
		if err := exportSnapshot(ctx, &buf, m, nil); err != nil {
			return err
		}
		during := w.writes.Load() - before
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		s, err := check(bytes.NewReader(buf.Bytes()), c.writers, per)
		if err != nil {
			return fmt.Errorf("%s is not consistent: %w", path, err)
		}
		fmt.Fprintf(out, "export %d: %d entries, consistent (each writer's keys within one version; writers at versions %d..%d); the writers made %d writes while it ran -> %s\n",
			i, s.entries, s.minVersion, s.maxVersion, during, path)
	}
	var buf bytes.Buffer
	if err := exportLive(ctx, &buf, m, nil); err != nil {
		return err
	}
	if _, err := check(&buf, c.writers, per); err != nil {
		fmt.Fprintf(out, "for contrast, Range on the live map is weakly consistent, not a cut: %v\n", firstLine(err))
	} else {
		fmt.Fprintln(out, "for contrast, Range on the live map happened to give a consistent cut this time (it is weakly consistent)")
	}
	return nil
}

func firstLine(err error) string {
	s := err.Error()
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
