package persist_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
	"github.com/redis/go-redis/v9"
)

// BenchmarkStores saves and loads a map of 200,000 entries (about 4 MB of
// stream) with each store and its default chunk size, and without a store
// (baseline: the stream to and from memory):
//
//	go test -run '^$' -bench Stores -benchtime 20x ./...
func BenchmarkStores(b *testing.B) {
	m := mapx.New[string, int]()
	for i := range 200_000 {
		m.Store(fmt.Sprintf("key-%08d", i), i)
	}
	stores := []struct {
		name string
		open func(b *testing.B) persist.Store
	}{
		{"file", func(b *testing.B) persist.Store {
			s, err := persist.NewFileStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"redis", func(b *testing.B) persist.Store {
			c := redis.NewClient(&redis.Options{Addr: startRedis(b)})
			b.Cleanup(func() { c.Close() })
			return persist.NewRedisStore(c)
		}},
		{"badger", func(b *testing.B) persist.Store {
			return persist.NewBadgerStore(openBadger(b, b.TempDir()))
		}},
	}
	ctx := context.Background()
	b.Run("baseline", func(b *testing.B) { // the stream alone, in memory
		var buf bytes.Buffer
		snap := m.Snapshot()
		defer snap.Close()
		b.Run("save", func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				if _, err := snap.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
		b.Run("load", func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if _, err := mapx.New[string, int]().ReadFrom(bytes.NewReader(buf.Bytes())); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			g, err := persist.SaveMap(ctx, s, "bench", m)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("save", func(b *testing.B) {
				b.SetBytes(g.Size)
				for b.Loop() {
					if _, err := persist.SaveMap(ctx, s, "bench", m); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("load", func(b *testing.B) {
				b.SetBytes(g.Size)
				for b.Loop() {
					if _, err := s.Load(ctx, "bench", mapx.New[string, int]()); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
