package persist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/internal/testtool"
	"github.com/mapx-dev/mapx/persist"
	"github.com/redis/go-redis/v9"
)

// largeValues returns a map of n distinct values of size bytes each.
func largeValues(n, size int) *mapx.Map[string, []byte] {
	m := mapx.New[string, []byte]()
	for k, v := range testtool.LargeValues(n, size) {
		m.Store(k, v)
	}
	return m
}

// TestLargeValuesSaveAndLoad: a generation that a store saved, it loads,
// whatever the size of a value or of a batch of them (a single value of
// 17 MiB; 1,024 values of 16 KiB, which gob encodes in one write).
func TestLargeValuesSaveAndLoad(t *testing.T) {
	stores := map[string]func(t *testing.T) persist.Store{
		"file": func(t *testing.T) persist.Store {
			s, err := persist.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"badger": func(t *testing.T) persist.Store { return persist.NewBadgerStore(openBadger(t, t.TempDir())) },
		"redis":  func(t *testing.T) persist.Store { return persist.NewRedisStore(newRedisClient(t, startRedis(t))) },
	}
	for kind, open := range stores {
		for _, c := range []struct{ n, size int }{{1, 17 << 20}, {1024, 16 << 10}} {
			t.Run(fmt.Sprintf("%s/%dx%d", kind, c.n, c.size), func(t *testing.T) {
				s := open(t)
				ctx := context.Background()
				src := largeValues(c.n, c.size)
				if _, err := persist.SaveMap(ctx, s, "big", src); err != nil {
					t.Fatal(err)
				}
				dst := mapx.New[string, []byte]()
				res, err := s.Load(ctx, "big", dst)
				if err != nil || len(res.Skipped) != 0 {
					t.Fatalf("saved but does not load: %v (skipped %v)", err, res.Skipped)
				}
				if dst.Len() != src.Len() {
					t.Fatalf("%d entries loaded, want %d", dst.Len(), src.Len())
				}
				for k, v := range src.All() {
					if got, _ := dst.Load(k); !bytes.Equal(got, v) {
						t.Fatalf("%q loaded as %d bytes, want %d", k, len(got), len(v))
					}
				}
			})
		}
	}
}

// TestRedisWriteErrorIsReportedAsSuch: when Redis refuses the chunks of a
// save (here: out of memory under maxmemory with noeviction), the save's
// error is Redis's, named as a write error of the stream, not as the
// codec's.
func TestRedisWriteErrorIsReportedAsSuch(t *testing.T) {
	addr := startRedis(t)
	c := newRedisClient(t, addr)
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "8mb").Err(); err != nil {
		t.Fatal(err)
	}
	s := persist.NewRedisStore(c)
	_, err := persist.SaveMap(ctx, s, "big", largeValues(2000, 16<<10))
	var rerr redis.Error
	if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("save beyond maxmemory: %v, want Redis's OOM error", err)
	}
	if msg := err.Error(); strings.Contains(msg, "codec") || !strings.Contains(msg, "writing") {
		t.Fatalf("the error %q does not say that writing the stream failed", msg)
	}
	if errors.Is(err, mapx.ErrCorrupt) {
		t.Fatalf("a refused write is reported as damage: %v", err)
	}
	t.Log(err)
}

// TestTypeMismatchFallsBackAndMigrates: a generation of other value types
// is refused like damage, and loads with mapx.AllowTypeChange.
func TestTypeMismatchFallsBackAndMigrates(t *testing.T) {
	type before struct{ A, B int }
	type after struct {
		A int
		C string
	}
	s, err := persist.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := mapx.New[string, before]()
	old.Store("k", before{1, 2})
	if _, err := persist.SaveMap(ctx, s, "m", old); err != nil {
		t.Fatal(err)
	}
	m := mapx.New[string, after]()
	m.Store("kept", after{9, "x"})
	_, err = s.Load(ctx, "m", m)
	if !errors.Is(err, mapx.ErrTypeMismatch) || m.Len() != 1 {
		t.Fatalf("load into other types: %v, %d entries; want ErrTypeMismatch and the map unchanged", err, m.Len())
	}
	if _, err := s.Load(ctx, "m", m.ReaderFrom(mapx.AllowTypeChange())); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Load("k"); got != (after{A: 1}) {
		t.Fatalf("migrated entry: %+v", got)
	}
}
