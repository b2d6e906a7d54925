package persist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// tagged returns a map of n entries whose values all carry tag, and a
// "tag" entry: what a generation holds tells which save wrote it.
func tagged(tag, n int) *mapx.Map[string, int] {
	m := mapx.New[string, int]()
	m.Store("tag", tag)
	for i := range n {
		m.Store(fmt.Sprintf("k-%d", i), tag*1_000_000+i)
	}
	return m
}

// tagOf returns the tag of a map loaded from a generation, and fails unless
// all of the map is of that tag: a generation is never a mix of two saves.
func tagOf(t *testing.T, m *mapx.Map[string, int]) int {
	t.Helper()
	tag, ok := m.Load("tag")
	if !ok {
		t.Fatal("the loaded map has no tag")
	}
	n := m.Len() - 1
	if want := maps.Collect(tagged(tag, n).All()); !maps.Equal(maps.Collect(m.All()), want) {
		t.Fatalf("the loaded map of %d entries is not what the save of tag %d wrote", m.Len(), tag)
	}
	return tag
}

// sentinel returns a map holding entries that no generation has: a load
// adds to them, a refused load leaves them alone.
func sentinel() *mapx.Map[string, int] {
	m := mapx.New[string, int]()
	m.Store("sentinel", -1)
	m.Store("k-0", -2)
	return m
}

func untouched(t *testing.T, m *mapx.Map[string, int], what string) {
	t.Helper()
	if got := maps.Collect(m.All()); !maps.Equal(got, map[string]int{"sentinel": -1, "k-0": -2}) {
		t.Fatalf("%s changed the map: %d entries", what, len(got))
	}
}

func save(t *testing.T, s persist.Store, name string, tag, n int) persist.Generation {
	t.Helper()
	g, err := persist.SaveMap(context.Background(), s, name, tagged(tag, n))
	if err != nil {
		t.Fatalf("save of tag %d: %v", tag, err)
	}
	return g
}

// loadTag loads name and returns the tag loaded.
func loadTag(t *testing.T, s persist.Store, name string) (int, persist.Loaded) {
	t.Helper()
	m := mapx.New[string, int]()
	res, err := s.Load(context.Background(), name, m)
	if err != nil {
		t.Fatalf("load %q: %v", name, err)
	}
	return tagOf(t, m), res
}

// mustRefuse loads name into a map holding other entries and checks that
// the load is refused with an error matching mapx.ErrCorrupt, and that the
// map is unchanged.
func mustRefuse(t *testing.T, s persist.Store, name, what string) error {
	t.Helper()
	m := sentinel()
	_, err := s.Load(context.Background(), name, m)
	var ce *mapx.CorruptError
	if !errors.Is(err, mapx.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("%s: load error %v, want one matching mapx.ErrCorrupt", what, err)
	}
	untouched(t, m, what+": a refused load")
	return err
}

func generations(t *testing.T, s persist.Store, name string) []uint64 {
	t.Helper()
	gens, err := s.List(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, g := range gens {
		out = append(out, g.Number)
	}
	return out
}

// failingSource writes the first half of a real snapshot, then fails.
type failingSource struct{ data []byte }

var errSource = errors.New("source failed")

func (f failingSource) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(f.data[:len(f.data)/2])
	if err != nil {
		return int64(n), err
	}
	return int64(n), errSource
}

// cancellingSource cancels the save's context half way, and goes on
// writing.
type cancellingSource struct {
	data   []byte
	cancel context.CancelFunc
}

func (c cancellingSource) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for i, part := range [][]byte{c.data[:len(c.data)/2], c.data[len(c.data)/2:]} {
		if i == 1 {
			c.cancel()
		}
		n, err := w.Write(part)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func snapshotBytes(t *testing.T, m *mapx.Map[string, int]) []byte {
	t.Helper()
	s := m.Snapshot()
	defer s.Close()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
