package persist

import (
	"bytes"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/internal/testtool"
)

// FuzzManifest: no input makes decodeManifest panic, allocate beyond its
// size, and one it accepts
// encodes back to itself.
func FuzzManifest(f *testing.F) {
	m := manifest{meta: meta{gen: 7, size: 10000, time: time.Unix(0, 1e18)}, chunkSize: 4096, crcs: []uint32{1, 2, 3}}
	f.Add(m.encode())
	f.Add((&manifest{meta: meta{gen: 1}, chunkSize: 1}).encode())
	f.Add([]byte(manifestMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m *manifest
		var err error
		if n := testtool.Allocated(func() { m, err = decodeManifest(data) }); n > 4096+2*uint64(len(data)) {
			t.Fatalf("decodeManifest of %d bytes allocated %d bytes", len(data), n)
		}
		if err != nil {
			if !isCorrupt(err) {
				t.Fatalf("error %v does not match mapx.ErrCorrupt", err)
			}
			return
		}
		if got := m.encode(); !bytes.Equal(got, data) {
			t.Fatalf("accepted %x, which encodes back to %x", data, got)
		}
		for i := range m.crcs {
			if n := m.chunkLen(i); n <= 0 || n > m.chunkSize {
				t.Fatalf("accepted a manifest whose chunk %d has %d bytes", i, n)
			}
		}
	})
}

// FuzzFileHeader: no input makes decodeFileHeader panic or allocate more
// than a little, and one it accepts
// encodes back to itself.
func FuzzFileHeader(f *testing.F) {
	f.Add(encodeFileHeader(meta{gen: 3, size: 99, time: time.Unix(0, 1e18)}, 0xdeadbeef))
	f.Add(make([]byte, fileHeaderLen))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m meta
		var crc uint32
		var err error
		if n := testtool.Allocated(func() { m, crc, err = decodeFileHeader(data) }); n > 4096 {
			t.Fatalf("decodeFileHeader of %d bytes allocated %d bytes", len(data), n)
		}
		if err != nil {
			if !isCorrupt(err) {
				t.Fatalf("error %v does not match mapx.ErrCorrupt", err)
			}
			return
		}
		if got := encodeFileHeader(m, crc); !bytes.Equal(got, data) {
			t.Fatalf("accepted %x, which encodes back to %x", data, got)
		}
	})
}
