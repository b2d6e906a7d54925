package mapx_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/internal/testtool"
)

func snapshotBytes(t testing.TB, m *mapx.Map[string, int]) []byte {
	t.Helper()
	s := m.Snapshot()
	defer s.Close()
	var buf bytes.Buffer
	n, err := s.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d, %v (buffer holds %d)", n, err, buf.Len())
	}
	return buf.Bytes()
}

func filled(n int, opts ...mapx.Option) *mapx.Map[string, int] {
	m := mapx.New[string, int](opts...)
	for i := range n {
		m.Store(fmt.Sprintf("key-%d", i), i)
	}
	return m
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, codec := range []mapx.Codec{mapx.GobCodec, mapx.JSONCodec} {
		for _, n := range []int{0, 1, 1023, 1024, 1025, 5000} {
			src := filled(n, mapx.WithCodec(codec))
			data := snapshotBytes(t, src)
			dst := mapx.New[string, int](mapx.WithCodec(codec))
			dst.Store("kept", -1)
			dst.Store("key-0", -1) // overwritten
			read, err := dst.ReadFrom(bytes.NewReader(data))
			if err != nil || read != int64(len(data)) {
				t.Fatalf("%s, %d entries: ReadFrom read %d of %d: %v", codec.ID(), n, read, len(data), err)
			}
			want := maps.Collect(src.All())
			want["kept"] = -1
			if n == 0 {
				want["key-0"] = -1
			}
			if got := maps.Collect(dst.All()); !maps.Equal(got, want) {
				t.Fatalf("%s, %d entries: round trip lost data: %d entries, want %d", codec.ID(), n, len(got), len(want))
			}
		}
	}
}

func TestSnapshotStreamIsConsistentWhileWritersRun(t *testing.T) {
	m := filled(3000)
	s := m.Snapshot()
	defer s.Close()
	for i := range 3000 {
		m.Store(fmt.Sprintf("key-%d", i), -i)
		m.Store(fmt.Sprintf("new-%d", i), i)
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	dst := mapx.New[string, int]()
	if _, err := dst.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(maps.Collect(dst.All()), maps.Collect(s.All())) {
		t.Fatal("the stream differs from the snapshot it was written from")
	}
}

// mustRefuse reads data into a map holding other entries and checks that it
// is refused whole, with an ErrCorrupt error, and that the map is unchanged.
func mustRefuse(t *testing.T, what string, data []byte, opts ...mapx.Option) *mapx.CorruptError {
	t.Helper()
	m := mapx.New[string, int](opts...)
	m.Store("key-1", -7)
	m.Store("other", 42)
	_, err := m.ReadFrom(bytes.NewReader(data))
	var ce *mapx.CorruptError
	if !errors.Is(err, mapx.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("%s: err = %v, want ErrCorrupt", what, err)
	}
	if got := maps.Collect(m.All()); !maps.Equal(got, map[string]int{"key-1": -7, "other": 42}) {
		t.Fatalf("%s: a refused read changed the map: %v", what, got)
	}
	return ce
}

func TestTruncatedSnapshotIsRefusedWhole(t *testing.T) {
	data := snapshotBytes(t, filled(2000))
	for cut := 0; cut < len(data); cut++ {
		if cut > 64 && cut < len(data)-64 && cut%97 != 0 {
			continue // every boundary of the header and trailer, a sample of the body
		}
		ce := mustRefuse(t, fmt.Sprintf("cut at %d of %d", cut, len(data)), data[:cut])
		if ce.Offset > int64(cut) {
			t.Fatalf("cut at %d: error at offset %d, past the end", cut, ce.Offset)
		}
	}
}

func TestDamagedSnapshotIsRefusedWhole(t *testing.T) {
	data := snapshotBytes(t, filled(300))
	for i := range data {
		for _, bit := range []byte{0x01, 0x80} {
			damaged := bytes.Clone(data)
			damaged[i] ^= bit
			mustRefuse(t, fmt.Sprintf("bit %#x of byte %d flipped", bit, i), damaged)
		}
	}
}

func TestSnapshotHeaderErrors(t *testing.T) {
	data := snapshotBytes(t, filled(10))

	bad := bytes.Clone(data)
	copy(bad, "NOTASNAP")
	if ce := mustRefuse(t, "bad magic", bad); ce.Offset != 0 || !bytes.Contains([]byte(ce.Reason), []byte("magic")) {
		t.Fatalf("bad magic: %v", ce)
	}

	newer := bytes.Clone(data)
	binary.BigEndian.PutUint16(newer[8:], 3)
	if ce := mustRefuse(t, "newer version", newer); ce.Offset != 8 || !bytes.Contains([]byte(ce.Reason), []byte("version 3")) {
		t.Fatalf("newer version: %v", ce)
	}

	if ce := mustRefuse(t, "other codec", data, mapx.WithCodec(mapx.JSONCodec)); !bytes.Contains([]byte(ce.Reason), []byte(`codec "gob"`)) {
		t.Fatalf("codec mismatch: %v", ce)
	}

	extra := append(bytes.Clone(data), data...) // two snapshots back to back
	r := bytes.NewReader(extra)
	m := mapx.New[string, int]()
	for range 2 {
		if n, err := m.ReadFrom(r); err != nil || n != int64(len(data)) {
			t.Fatalf("ReadFrom of one of two snapshots: %d, %v", n, err)
		}
	}
}

// fuzzAllocLimit bounds what ReadFrom may allocate for an input of n
// bytes: in proportion to the input, plus what gob may reserve from one
// length it reads (encoding/gob reserves at most 10 MiB for a message and
// for a slice before it reads them).
func fuzzAllocLimit(n int) uint64 { return 24<<20 + 1024*uint64(n) }

// FuzzReadFrom: no input makes ReadFrom panic or allocate out of proportion
// to it, and an accepted input is applied whole.
func FuzzReadFrom(f *testing.F) {
	valid := snapshotBytes(f, filled(40))
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("MAPXSNAP"))
	f.Add([]byte{})
	empty := snapshotBytes(f, filled(0))
	f.Add(empty)
	if v1, err := os.ReadFile("testdata/stream-v1-string-int-1500.gob"); err == nil {
		f.Add(v1)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := mapx.New[string, int]()
		m.Store("sentinel", 1)
		var err error
		if n := testtool.Allocated(func() { _, err = m.ReadFrom(bytes.NewReader(data)) }); n > fuzzAllocLimit(len(data)) {
			t.Fatalf("ReadFrom of %d bytes allocated %d bytes (%v)", len(data), n, err)
		}
		if err != nil {
			if !errors.Is(err, mapx.ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			if m.Len() != 1 {
				t.Fatalf("refused input changed the map: %d entries", m.Len())
			}
		}
	})
}

// FuzzReadFromLargeValues is FuzzReadFrom for values of 4 KiB, for which
// a reservation of room for announced entries costs most.
func FuzzReadFromLargeValues(f *testing.F) {
	src := mapx.New[string, [512]int64]()
	for i := range 3 {
		src.Store(fmt.Sprint(i), [512]int64{int64(i)})
	}
	s := src.Snapshot()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	s.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		m := mapx.New[string, [512]int64]()
		var err error
		if n := testtool.Allocated(func() { _, err = m.ReadFrom(bytes.NewReader(data)) }); n > fuzzAllocLimit(len(data)) {
			t.Fatalf("ReadFrom of %d bytes allocated %d bytes (%v)", len(data), n, err)
		}
		if err != nil && m.Len() != 0 {
			t.Fatalf("refused input changed the map: %d entries", m.Len())
		}
	})
}

type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestReaderErrorsAreNotCorruption(t *testing.T) {
	data := snapshotBytes(t, filled(500))
	for _, at := range []int{0, 5, 30, len(data) / 2, len(data) - 2} {
		m := mapx.New[string, int]()
		m.Store("kept", 1)
		_, err := m.ReadFrom(&failingReader{r: bytes.NewReader(data), n: at, err: context.Canceled})
		if !errors.Is(err, context.Canceled) || errors.Is(err, mapx.ErrCorrupt) {
			t.Fatalf("reader failing at %d: %v; want the reader's error, not ErrCorrupt", at, err)
		}
		if m.Len() != 1 {
			t.Fatalf("reader failing at %d: the map changed", at)
		}
	}
}
