package mapx

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
)

// TestChunkWriterBoundaries writes sequences of writes around the chunk
// sizes and checks that every chunk is at most chunkTarget bytes, so within
// what the reader accepts, and that the chunks read back as what was written.
func TestChunkWriterBoundaries(t *testing.T) {
	sizes := [][]int{
		{0}, {1}, {chunkTarget - 1}, {chunkTarget}, {chunkTarget + 1},
		{chunkTarget - 1, 1}, {chunkTarget - 1, 2}, {1, chunkTarget}, {1, chunkTarget - 1},
		{3 * chunkTarget}, {5, 3*chunkTarget - 5}, {maxChunk - 1}, {maxChunk}, {maxChunk + 1},
		{1, maxChunk}, {2*maxChunk + 7},
	}
	for _, ws := range sizes {
		var framed bytes.Buffer
		cw := &chunkWriter{w: &framed}
		var want bytes.Buffer
		for i, n := range ws {
			p := bytes.Repeat([]byte{byte(i + 1)}, n)
			if k, err := cw.Write(p); k != n || err != nil {
				t.Fatalf("writes %v: Write(%d bytes) = %d, %v", ws, n, k, err)
			}
			want.Write(p)
		}
		if err := cw.close(); err != nil {
			t.Fatal(err)
		}
		// Walk the framing: every chunk within chunkTarget, the last one
		// ends the body.
		data := framed.Bytes()
		for off := 0; ; {
			n := int(binary.BigEndian.Uint32(data[off:]))
			if n > chunkTarget {
				t.Fatalf("writes %v: chunk of %d bytes at %d, want at most %d", ws, n, off, chunkTarget)
			}
			off += 4 + n
			if n == 0 {
				if off != len(data) {
					t.Fatalf("writes %v: %d bytes after the end chunk", ws, len(data)-off)
				}
				break
			}
		}
		sr := &snapshotReader{r: bytes.NewReader(data), crc: crc32.New(castagnoli)}
		got, err := io.ReadAll(&chunkReader{r: sr})
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("writes %v: read back %d bytes, %v; want %d", ws, len(got), err, want.Len())
		}
	}
}

// TestWriteToChunkSizes round-trips single values whose encodings end near
// the chunk boundaries.
func TestWriteToChunkSizes(t *testing.T) {
	for _, n := range []int{chunkTarget - 64, chunkTarget - 40, chunkTarget - 20, chunkTarget, chunkTarget + 1, maxChunk - 40, maxChunk, maxChunk + 1} {
		m := New[string, []byte]()
		v := bytes.Repeat([]byte{7}, n)
		m.Store("v", v)
		s := m.Snapshot()
		var buf bytes.Buffer
		_, err := s.WriteTo(&buf)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		dst := New[string, []byte]()
		if _, err := dst.ReadFrom(&buf); err != nil {
			t.Fatalf("value of %d bytes: %v", n, err)
		}
		if got, _ := dst.Load("v"); !bytes.Equal(got, v) {
			t.Fatalf("value of %d bytes: read back %d bytes", n, len(got))
		}
	}
}
