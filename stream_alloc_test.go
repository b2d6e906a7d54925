package mapx_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/internal/testtool"
)

// headerLen returns the length of a version-2 stream's header (up to the
// body).
func headerLen(data []byte) int {
	idLen := int(data[10])
	typesLen := int(binary.BigEndian.Uint16(data[11+idLen:]))
	return 11 + idLen + 2 + typesLen + 8
}

// TestDamagedHeaderAllocatesLittle: no damage to the header of a small
// stream makes ReadFrom allocate more than a few MB, whatever entry count it
// announces. Values are 4 KiB each, so that a reservation of room for the
// announced entries would be large.
func TestDamagedHeaderAllocatesLittle(t *testing.T) {
	const limit = 4 << 20
	src := mapx.New[string, [512]int64]()
	src.Store("a", [512]int64{1})
	src.Store("b", [512]int64{2})
	s := src.Snapshot()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	s.Close()
	data := buf.Bytes()
	hl := headerLen(data)
	var damaged [][]byte
	for i := range hl {
		for bit := range 8 {
			d := bytes.Clone(data)
			d[i] ^= 1 << bit
			damaged = append(damaged, d)
		}
	}
	for _, count := range []uint64{1 << 20, 1 << 40, 1<<64 - 1} {
		d := bytes.Clone(data)
		binary.BigEndian.PutUint64(d[hl-8:], count)
		damaged = append(damaged, d)
	}
	var worst uint64
	for i, d := range damaged {
		dst := mapx.New[string, [512]int64]()
		var err error
		n := testtool.Allocated(func() { _, err = dst.ReadFrom(bytes.NewReader(d)) })
		worst = max(worst, n)
		if err == nil {
			t.Fatalf("damage %d accepted", i)
		}
		if n > limit {
			t.Fatalf("damage %d of a %d-byte stream: ReadFrom allocated %d bytes (%v)", i, len(data), n, err)
		}
	}
	t.Logf("%d damaged headers of a %d-byte stream; the most ReadFrom allocated was %d bytes", len(damaged), len(data), worst)
}

// TestReadFromMemoryGrowsWithEntries: a stream whose count is honest still
// loads without a reservation, and the memory a load takes stays in
// proportion to what it reads.
func TestReadFromMemoryGrowsWithEntries(t *testing.T) {
	for _, n := range []int{10, 10_000} {
		data := snapshotBytes(t, filled(n))
		dst := mapx.New[string, int]()
		var err error
		got := testtool.Allocated(func() { _, err = dst.ReadFrom(bytes.NewReader(data)) })
		if err != nil {
			t.Fatal(err)
		}
		if limit := uint64(2<<20 + 64*len(data)); got > limit {
			t.Fatalf("%d entries, %d bytes: ReadFrom allocated %d bytes, want at most %d", n, len(data), got, limit)
		}
		t.Logf("%d entries, %d bytes: %d bytes allocated", n, len(data), got)
	}
}
