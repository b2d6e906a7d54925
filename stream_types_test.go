package mapx_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx"
)

type pointAB struct{ A, B int }

type pointAC struct {
	A int
	C string
}

type tagged struct {
	A int `json:"a"`
}

type taggedOther struct {
	A int `json:"b"`
}

type node struct {
	Name string
	Next *node
}

// encode returns the stream of a map of one entry k, v.
func encode[K comparable, V any](t *testing.T, k K, v V, opts ...mapx.Option) []byte {
	t.Helper()
	m := mapx.New[K, V](opts...)
	m.Store(k, v)
	s := m.Snapshot()
	defer s.Close()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustMismatch reads data into a map of K, V holding one entry, and checks
// that it is refused as a type mismatch and the map unchanged.
func mustMismatch[K comparable, V any](t *testing.T, what string, data []byte, k K, v V, opts ...mapx.Option) *mapx.TypeMismatchError {
	t.Helper()
	m := mapx.New[K, V](opts...)
	m.Store(k, v)
	_, err := m.ReadFrom(bytes.NewReader(data))
	var te *mapx.TypeMismatchError
	if !errors.Is(err, mapx.ErrTypeMismatch) || !errors.Is(err, mapx.ErrCorrupt) || !errors.As(err, &te) {
		t.Fatalf("%s: err = %v, want a TypeMismatchError", what, err)
	}
	if m.Len() != 1 {
		t.Fatalf("%s: a refused read changed the map: %d entries", what, m.Len())
	}
	if got, _ := m.Load(k); fmt.Sprint(got) != fmt.Sprint(v) {
		t.Fatalf("%s: a refused read changed the map: %v", what, got)
	}
	return te
}

func TestTypeMismatchIsRefused(t *testing.T) {
	ab := encode(t, "k", pointAB{1, 2})
	te := mustMismatch(t, "struct{A, B} into struct{A, C}", ab, "x", pointAC{7, "kept"})
	if !strings.Contains(te.Stream, "B int") || !strings.Contains(te.Map, "C string") || !strings.Contains(te.Error(), "AllowTypeChange") {
		t.Fatalf("the error does not show both types and the way out: %v", te)
	}

	one := 1
	mustMismatch(t, "int into *int", encode(t, "k", 5), "x", &one)
	mustMismatch(t, "int keys into string keys", encode(t, 1, 5), "x", 1)
	mustMismatch(t, "int into int64", encode(t, "k", 5), "x", int64(1))
	mustMismatch(t, "another json tag", encode(t, "k", tagged{1}, mapx.WithCodec(mapx.JSONCodec)), "x", taggedOther{2}, mapx.WithCodec(mapx.JSONCodec))
	mustMismatch(t, "struct into slice of it", encode(t, "k", pointAB{1, 2}), "x", []pointAB{{3, 4}})

	// A recursive type has a finite fingerprint, and reads itself back.
	n := &node{"a", &node{"b", nil}}
	m := mapx.New[string, *node]()
	if _, err := m.ReadFrom(bytes.NewReader(encode(t, "k", n))); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Load("k"); got == nil || got.Next == nil || got.Next.Name != "b" {
		t.Fatalf("recursive type read back as %+v", got)
	}
}

// TestTypeChangeAllowed: AllowTypeChange reads a stream of other types as
// the codec decodes it, for a deliberate migration.
func TestTypeChangeAllowed(t *testing.T) {
	ab := encode(t, "k", pointAB{1, 2})
	m := mapx.New[string, pointAC]()
	m.Store("x", pointAC{7, "kept"})
	if _, err := m.ReadFromWith(bytes.NewReader(ab), mapx.AllowTypeChange()); err != nil {
		t.Fatal(err)
	}
	want := map[string]pointAC{"x": {7, "kept"}, "k": {A: 1}}
	if got := maps.Collect(m.All()); !maps.Equal(got, want) {
		t.Fatalf("migrated map: %v, want %v", got, want)
	}
	// Through the io.ReaderFrom that stores take.
	m2 := mapx.New[string, pointAC]()
	if _, err := m2.ReaderFrom(mapx.AllowTypeChange()).ReadFrom(bytes.NewReader(ab)); err != nil || m2.Len() != 1 {
		t.Fatalf("ReaderFrom(AllowTypeChange()): %v, %d entries", err, m2.Len())
	}
	// Damage is still refused.
	bad := bytes.Clone(ab)
	bad[len(bad)-10] ^= 1
	if _, err := mapx.New[string, pointAC]().ReadFromWith(bytes.NewReader(bad), mapx.AllowTypeChange()); !errors.Is(err, mapx.ErrCorrupt) {
		t.Fatalf("damaged stream with AllowTypeChange: %v", err)
	}
}

// TestDamagedTypesAreCorruption: a flipped bit in the recorded types is
// damage, found by the checksum, and not reported as a mismatch of types.
func TestDamagedTypesAreCorruption(t *testing.T) {
	data := snapshotBytes(t, filled(100))
	typesAt := 11 + int(data[10]) + 2
	for i := typesAt; i < headerLen(data)-8; i++ {
		d := bytes.Clone(data)
		d[i] ^= 0x20
		ce := mustRefuse(t, fmt.Sprintf("types byte %d damaged", i), d)
		if errors.Is(ce, mapx.ErrTypeMismatch) || !strings.Contains(ce.Reason, "checksum") {
			t.Fatalf("types byte %d damaged: %v, want a checksum mismatch", i, ce)
		}
	}
}

type v1Point struct {
	X, Y int
	Name string
}

type v1PointRenamed struct {
	X, Z int
	Name string
}

// TestVersion1StreamsLoad reads streams that version 1 of the format wrote
// (testdata, written before version 2 existed). They record no types and
// load unchecked.
func TestVersion1StreamsLoad(t *testing.T) {
	for _, c := range []mapx.Codec{mapx.GobCodec, mapx.JSONCodec} {
		data, err := os.ReadFile("testdata/stream-v1-string-int-1500." + c.ID())
		if err != nil {
			t.Fatal(err)
		}
		if data[9] != 1 {
			t.Fatalf("the test vector is of version %d", data[9])
		}
		m := mapx.New[string, int](mapx.WithCodec(c))
		if n, err := m.ReadFrom(bytes.NewReader(data)); err != nil || n != int64(len(data)) {
			t.Fatalf("%s: version 1: %d of %d bytes, %v", c.ID(), n, len(data), err)
		}
		if want := maps.Collect(filled(1500).All()); !maps.Equal(maps.Collect(m.All()), want) {
			t.Fatalf("%s: version 1 stream read back wrong", c.ID())
		}
		mustRefuse(t, "version 1, truncated", data[:len(data)-1], mapx.WithCodec(c))
	}
	data, err := os.ReadFile("testdata/stream-v1-int-point-20.gob")
	if err != nil {
		t.Fatal(err)
	}
	m := mapx.New[int, v1Point]()
	if _, err := m.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if got, _ := m.Load(i); got != (v1Point{i, -i, fmt.Sprint("p", i)}) {
			t.Fatalf("entry %d read back as %+v", i, got)
		}
	}
	// Unchecked: version 1 recorded no types to compare.
	r := mapx.New[int, v1PointRenamed]()
	if _, err := r.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatalf("version 1 into another struct: %v", err)
	}
}
