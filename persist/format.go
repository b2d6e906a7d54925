package persist

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

// The stores frame a snapshot stream with metadata of their own, so that
// they verify what they stored without knowing the stream's format. All
// integers are big-endian.
//
// A FileStore's file is a 40-byte header, then the stream:
//
//	magic      8 bytes  "MAPXGEN1"
//	generation 8 bytes  the number in the file name
//	size       8 bytes  the length of the stream
//	time       8 bytes  Unix nanoseconds
//	crc        4 bytes  CRC-32C of the stream
//	header crc 4 bytes  CRC-32C of the 36 bytes before it
//
// A chunked store (Redis, Badger) keeps the stream in chunks of chunkSize
// bytes (the last one may be shorter) and one manifest per generation:
//
//	magic      8 bytes  "MAPXMAN1"
//	generation 8 bytes
//	size       8 bytes  the length of the stream
//	time       8 bytes  Unix nanoseconds
//	chunk size 4 bytes
//	chunks     4 bytes  n, the number of chunks
//	crcs       4n bytes CRC-32C of each chunk
//	crc        4 bytes  CRC-32C of every byte before it
const (
	fileMagic      = "MAPXGEN1"
	manifestMagic  = "MAPXMAN1"
	fileHeaderLen  = 40
	manifestPrefix = 8 + 8 + 8 + 8 + 4 + 4
	maxChunks      = 1 << 24
)

// meta is what both framings record.
type meta struct {
	gen  uint64
	size int64
	time time.Time
}

func (m meta) generation() Generation {
	return Generation{Number: m.gen, Size: m.size, Time: m.time}
}

func (m meta) append(b []byte, magic string) []byte {
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint64(b, m.gen)
	b = binary.BigEndian.AppendUint64(b, uint64(m.size))
	return binary.BigEndian.AppendUint64(b, uint64(m.time.UnixNano()))
}

// parseMeta checks the magic and the trailing CRC of b, and reads the fields
// that follow the magic.
func parseMeta(b []byte, magic string, minLen int) (meta, error) {
	var m meta
	if len(b) < minLen {
		return m, corrupt(int64(len(b)), "truncated metadata: %d bytes, want at least %d", len(b), minLen)
	}
	if string(b[:8]) != magic {
		return m, corrupt(0, "bad magic %q, want %q", b[:8], magic)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if got := checksum(0, body); got != sum {
		return m, corrupt(int64(len(body)), "metadata checksum %08x, computed %08x", sum, got)
	}
	m.gen = binary.BigEndian.Uint64(b[8:])
	m.size = int64(binary.BigEndian.Uint64(b[16:]))
	m.time = time.Unix(0, int64(binary.BigEndian.Uint64(b[24:])))
	if m.size < 0 {
		return m, corrupt(16, "negative size %d", m.size)
	}
	return m, nil
}

func appendChecksum(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, checksum(0, b))
}

func encodeFileHeader(m meta, crc uint32) []byte {
	b := m.append(make([]byte, 0, fileHeaderLen), fileMagic)
	return appendChecksum(binary.BigEndian.AppendUint32(b, crc))
}

func decodeFileHeader(b []byte) (meta, uint32, error) {
	m, err := parseMeta(b, fileMagic, fileHeaderLen)
	if err != nil {
		return m, 0, err
	}
	return m, binary.BigEndian.Uint32(b[32:]), nil
}

type manifest struct {
	meta
	chunkSize int
	crcs      []uint32 // one per chunk
}

func (m *manifest) encode() []byte {
	b := m.append(make([]byte, 0, manifestPrefix+4*len(m.crcs)+4), manifestMagic)
	b = binary.BigEndian.AppendUint32(b, uint32(m.chunkSize))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.crcs)))
	for _, c := range m.crcs {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	return appendChecksum(b)
}

func decodeManifest(b []byte) (*manifest, error) {
	md, err := parseMeta(b, manifestMagic, manifestPrefix+4)
	if err != nil {
		return nil, err
	}
	m := &manifest{meta: md, chunkSize: int(binary.BigEndian.Uint32(b[32:]))}
	n := int(binary.BigEndian.Uint32(b[36:]))
	if n > maxChunks || len(b) != manifestPrefix+4*n+4 {
		return nil, corrupt(36, "manifest of %d bytes announces %d chunks", len(b), n)
	}
	// The checksum verified: an inconsistency now is a bug of the writer,
	// still refused rather than trusted.
	if m.chunkSize <= 0 || int64(n) != (m.size+int64(m.chunkSize)-1)/int64(m.chunkSize) {
		return nil, corrupt(32, "%d chunks of %d bytes cannot hold %d bytes", n, m.chunkSize, m.size)
	}
	m.crcs = make([]uint32, n)
	for i := range m.crcs {
		m.crcs[i] = binary.BigEndian.Uint32(b[manifestPrefix+4*i:])
	}
	return m, nil
}

// chunkLen is the length chunk i must have.
func (m *manifest) chunkLen(i int) int {
	if i < len(m.crcs)-1 {
		return m.chunkSize
	}
	return int(m.size - int64(i)*int64(m.chunkSize))
}

// sink counts and checksums what a source writes on its way to w, and stops
// the source once ctx is done.
type sink struct {
	ctx context.Context
	w   io.Writer
	n   int64
	crc uint32
}

func (s *sink) Write(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	s.crc = checksum(s.crc, p[:n])
	s.n += int64(n)
	return n, err
}

// guard is the reader a destination gets. It stops it once ctx is done,
// counts what it read and keeps the first error, so that the error of a
// load is ours and not the destination's wrapping of it (mapx.Map.ReadFrom
// reports every read error as corruption).
type guard struct {
	ctx context.Context
	r   io.Reader
	n   int64
	err error
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if err := g.ctx.Err(); err != nil {
		g.err = err
		return 0, err
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if err != nil && err != io.EOF {
		g.err = err
	}
	return n, err
}

// feed has dst read the size bytes of r, and returns the first error of r,
// else dst's.
func feed(ctx context.Context, dst io.ReaderFrom, r io.Reader, size int64) error {
	g := &guard{ctx: ctx, r: r}
	_, err := dst.ReadFrom(g)
	switch {
	case g.err != nil:
		return g.err
	case err != nil:
		return err
	case g.n != size:
		// Not corruption: dst has applied what it read, so Load must not
		// fall back to an older generation.
		return fmt.Errorf("the destination stopped after %d of the generation's %d bytes", g.n, size)
	}
	return nil
}
