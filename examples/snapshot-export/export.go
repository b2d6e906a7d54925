package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mapx-dev/mapx"
)

// record is a value of the map.
type record struct {
	Writer  int    `json:"writer"`
	Index   int    `json:"index"`
	Version uint64 `json:"version"`
}

// item is one entry of an export.
type item struct {
	Key string `json:"key"`
	record
}

// export is the JSON document: a header and the items, in map order.
type export struct {
	TakenAt time.Time `json:"taken_at"`
	Entries int       `json:"entries"`
	Items   []item    `json:"items"`
}

func key(writer, index int) string { return "w" + strconv.Itoa(writer) + "/" + strconv.Itoa(index) }

// writers rewrite their keys in sweeps until stop is closed. sweeps[w]
// counts writer w's finished sweeps, writes all the stores.
type writers struct {
	m      *mapx.Map[string, record]
	per    int
	sweeps []atomic.Uint64
	writes atomic.Int64
}

func newWriters(m *mapx.Map[string, record], n, per int) *writers {
	w := &writers{m: m, per: per, sweeps: make([]atomic.Uint64, n)}
	for i := range n { // version 0, so that every key exists from the start
		for j := range per {
			m.Store(key(i, j), record{Writer: i, Index: j})
		}
	}
	return w
}

func (w *writers) run(id int, stop <-chan struct{}) {
	for v := uint64(1); ; v++ {
		for j := range w.per {
			select {
			case <-stop:
				return
			default:
			}
			w.m.Store(key(id, j), record{Writer: id, Index: j, Version: v})
			w.writes.Add(1)
		}
		w.sweeps[id].Store(v)
	}
}

// rangeFunc is an iteration of the map: a snapshot's or the live map's.
type rangeFunc func(ctx context.Context, f func(string, record) bool) error

// writeExport streams the entries that iterate yields as one JSON document;
// each (from 1) is called after each item.
func writeExport(ctx context.Context, out io.Writer, entries int, iterate rangeFunc, each func(i int)) error {
	bw := bufio.NewWriter(out)
	head, _ := json.Marshal(time.Now())
	fmt.Fprintf(bw, "{\"taken_at\":%s,\"entries\":%d,\"items\":[\n", head, entries)
	i := 0
	err := iterate(ctx, func(k string, r record) bool {
		if i > 0 {
			bw.WriteString(",\n")
		}
		b, _ := json.Marshal(item{Key: k, record: r})
		bw.Write(b)
		i++
		if each != nil {
			each(i)
		}
		return true
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// exportSnapshot writes a snapshot of m.
func exportSnapshot(ctx context.Context, out io.Writer, m *mapx.Map[string, record], each func(int)) error {
	s := m.Snapshot()
	defer s.Close()
	return writeExport(ctx, out, s.Len(), s.RangeContext, each)
}

// exportLive writes the live map with Range, for contrast.
func exportLive(ctx context.Context, out io.Writer, m *mapx.Map[string, record], each func(int)) error {
	return writeExport(ctx, out, m.Len(), m.RangeContext, each)
}

// summary is what check found in a consistent export.
type summary struct {
	entries                int
	minVersion, maxVersion uint64
}

// check reads an export of writers×per keys and verifies that it is a cut
// of the writers' sweeps: every key once, and along each writer's keys the
// versions never rise and differ by at most one.
func check(r io.Reader, writers, per int) (summary, error) {
	var e export
	if err := json.NewDecoder(r).Decode(&e); err != nil {
		return summary{}, fmt.Errorf("not an export: %w", err)
	}
	s := summary{entries: len(e.Items), minVersion: ^uint64(0)}
	if e.Entries != len(e.Items) || len(e.Items) != writers*per {
		return s, fmt.Errorf("header says %d entries, %d items, want %d", e.Entries, len(e.Items), writers*per)
	}
	byWriter := make([][]item, writers)
	seen := map[string]bool{}
	for _, it := range e.Items {
		if seen[it.Key] || it.Writer < 0 || it.Writer >= writers || it.Key != key(it.Writer, it.Index) {
			return s, fmt.Errorf("item %+v: duplicate or foreign", it)
		}
		seen[it.Key] = true
		byWriter[it.Writer] = append(byWriter[it.Writer], it)
		s.minVersion, s.maxVersion = min(s.minVersion, it.Version), max(s.maxVersion, it.Version)
	}
	var errs []error
	for w, items := range byWriter {
		sort.Slice(items, func(i, j int) bool { return items[i].Index < items[j].Index })
		lo, hi := items[len(items)-1].Version, items[0].Version
		for i := 1; i < len(items); i++ {
			if a, b := items[i-1], items[i]; b.Version > a.Version {
				errs = append(errs, fmt.Errorf("writer %d: key %d has version %d after key %d with %d", w, b.Index, b.Version, a.Index, a.Version))
				break
			}
		}
		if hi-lo > 1 && hi > lo {
			errs = append(errs, fmt.Errorf("writer %d: versions %d to %d in one export", w, lo, hi))
		}
	}
	return s, errors.Join(errs...)
}
