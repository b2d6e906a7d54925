package mapx

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// The snapshot file format, version 2. All integers are big-endian.
//
//	magic      8 bytes  "MAPXSNAP"
//	version    2 bytes  2
//	codec id   1 byte length, then the id (for example "gob")
//	types      2 bytes length, then the fingerprint of K and V (typeFingerprint)
//	entries    8 bytes  the number of entries
//	body       chunks: 4-byte length n, then n bytes of the codec's stream;
//	           a chunk of length 0 ends the body
//	checksum   4 bytes  CRC-32C (Castagnoli) of every byte before it
//
// Version 1 is the same without the types field; it is still read, unchecked.
// The codec's stream is a sequence of batches of at most batchSize entries,
// each encoded as one value (a slice of key/value pairs). A writer cuts the
// codec's stream in chunks of chunkTarget bytes, however large its writes.
const (
	fileMagic     = "MAPXSNAP"
	fileVersion   = 2
	batchSize     = 1024
	maxChunk      = 1 << 24 // 16 MiB: larger chunk lengths are corruption
	chunkTarget   = 64 << 10
	maxCodecIDLen = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is matched (with [errors.Is]) by every error of [Map.ReadFrom]
// that is about the input: bad magic, unsupported version, codec mismatch,
// checksum mismatch, truncation, undecodable entries. Use [errors.As] with a
// *[CorruptError] for the offset.
var ErrCorrupt = errors.New("mapx: corrupt snapshot")

// CorruptError describes what is wrong with a snapshot stream and where.
type CorruptError struct {
	Offset int64  // bytes into the stream where the problem was found
	Reason string // what is wrong
	Err    error  // the underlying error, if any
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("mapx: corrupt snapshot at offset %d: %s", e.Offset, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is [ErrCorrupt].
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying error.
func (e *CorruptError) Unwrap() error { return e.Err }

// A Codec encodes the keys and values of a snapshot. [GobCodec] is the
// default; [WithCodec] sets another. Encoders and decoders are used by one
// goroutine at a time and get values of type *[]Pair[K, V].
type Codec interface {
	// ID names the codec in the stream; reading refuses a stream written
	// with another codec. At most 64 bytes.
	ID() string
	NewEncoder(w io.Writer) interface{ Encode(v any) error }
	NewDecoder(r io.Reader) interface{ Decode(v any) error }
}

// Pair is a key and its value, as codecs see them.
type Pair[K comparable, V any] struct {
	Key   K
	Value V
}

type gobCodec struct{}

// GobCodec encodes with encoding/gob: keys and values must be types gob
// can encode.
var GobCodec Codec = gobCodec{}

func (gobCodec) ID() string                                            { return "gob" }
func (gobCodec) NewEncoder(w io.Writer) interface{ Encode(any) error } { return gob.NewEncoder(w) }
func (gobCodec) NewDecoder(r io.Reader) interface{ Decode(any) error } { return gob.NewDecoder(r) }

type jsonCodec struct{}

// JSONCodec encodes with encoding/json: keys and values must survive a JSON
// round trip.
var JSONCodec Codec = jsonCodec{}

func (jsonCodec) ID() string                                            { return "json" }
func (jsonCodec) NewEncoder(w io.Writer) interface{ Encode(any) error } { return json.NewEncoder(w) }
func (jsonCodec) NewDecoder(r io.Reader) interface{ Decode(any) error } { return json.NewDecoder(r) }

// WriteTo writes the snapshot to w in the versioned binary format described
// in the package documentation, and returns the number of bytes written. It
// streams: beyond the snapshot it holds one batch of entries, the codec's
// encoding of it, and one chunk of output at a time. An error of w is
// returned wrapped (matching it with [errors.Is]) and named as a write error,
// not as the codec's.
func (s *Snapshot[K, V]) WriteTo(w io.Writer) (int64, error) {
	s.check()
	codec := s.c.codec
	id := codec.ID()
	if len(id) == 0 || len(id) > maxCodecIDLen {
		return 0, fmt.Errorf("mapx: codec id %q must have 1 to %d bytes", id, maxCodecIDLen)
	}
	types := typeFingerprint[K, V]()
	cw := &checksumWriter{w: w, crc: crc32.New(castagnoli)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	header := make([]byte, 0, 8+2+1+len(id)+2+len(types)+8)
	header = append(header, fileMagic...)
	header = binary.BigEndian.AppendUint16(header, fileVersion)
	header = append(header, byte(len(id)))
	header = append(header, id...)
	header = binary.BigEndian.AppendUint16(header, uint16(len(types)))
	header = append(header, types...)
	header = binary.BigEndian.AppendUint64(header, uint64(s.Len()))
	chunks := &chunkWriter{w: bw}
	enc := codec.NewEncoder(chunks)
	batch := make([]Pair[K, V], 0, batchSize)
	_, err := bw.Write(header)
	flush := func() bool {
		if err = enc.Encode(&batch); err != nil {
			err = fmt.Errorf("mapx: WriteTo: codec %s: %w", id, err)
			return false
		}
		batch = batch[:0]
		return true
	}
	if err == nil {
		s.c.scan(context.Background(), s.shardTable, s.epoch, func(k K, v V) bool {
			batch = append(batch, Pair[K, V]{k, v})
			return len(batch) < batchSize || flush()
		})
	}
	if err == nil && len(batch) > 0 {
		flush()
	}
	if err == nil {
		err = chunks.close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = cw.Write(binary.BigEndian.AppendUint32(nil, cw.crc.Sum32()))
	}
	if cw.err != nil {
		// The codec saw w's error as its own; it is w's.
		return cw.n, fmt.Errorf("mapx: WriteTo: writing the stream at byte %d: %w", cw.n, cw.err)
	}
	return cw.n, err
}

// ReadFrom reads a snapshot written by [Snapshot.WriteTo] and stores its
// entries in m, overwriting keys that exist, and returns the number of bytes
// read. It is all or nothing: it decodes and verifies the whole stream
// (format, codec, types, entry count, checksum) before it changes m, so on
// any error m is exactly as it was. Errors about the input match
// [ErrCorrupt]; a stream written for other key or value types is refused
// with a [*TypeMismatchError] (see [AllowTypeChange]); an error of r itself
// is returned wrapped, and does not match ErrCorrupt. The memory it takes
// grows with the entries it has read, not with what the stream announces.
// Entries are stored one by one: concurrent readers may see some before
// others. ReadFrom reads r to the end of the snapshot and no further.
func (m *Map[K, V]) ReadFrom(r io.Reader) (int64, error) {
	return m.ReadFromWith(r)
}

// ReadFromWith is [Map.ReadFrom] with options, such as [AllowTypeChange].
func (m *Map[K, V]) ReadFromWith(r io.Reader, opts ...ReadOption) (int64, error) {
	var ro readOptions
	for _, o := range opts {
		if o == nil {
			panic("mapx: ReadFromWith: nil ReadOption")
		}
		o.applyRead(&ro)
	}
	c := m.core()
	pairs, n, err := decodeSnapshot[K, V](r, c.codec, ro)
	if err != nil {
		return n, err
	}
	c.storeAll(pairs)
	return n, nil
}

// ReaderFrom returns an [io.ReaderFrom] whose ReadFrom is
// [Map.ReadFromWith] with opts: for stores such as package persist's, which
// load into an io.ReaderFrom.
func (m *Map[K, V]) ReaderFrom(opts ...ReadOption) io.ReaderFrom {
	return readerFrom[K, V]{m: m, opts: opts}
}

type readerFrom[K comparable, V any] struct {
	m    *Map[K, V]
	opts []ReadOption
}

func (r readerFrom[K, V]) ReadFrom(rd io.Reader) (int64, error) {
	return r.m.ReadFromWith(rd, r.opts...)
}

// storeAll stores pairs shard by shard, taking each shard's lock once.
func (c *core[K, V]) storeAll(pairs []Pair[K, V]) {
	hashes := make([]uint64, len(pairs))
	byShard := make([][]int32, len(c.shards))
	for i := range pairs {
		hashes[i] = c.hashOf(pairs[i].Key)
		si := hashes[i] >> c.shift
		byShard[si] = append(byShard[si], int32(i))
	}
	for si, idx := range byShard {
		if len(idx) == 0 {
			continue
		}
		s := &c.shards[si]
		g, ep := c.enter()
		s.mu.Lock()
		for _, i := range idx {
			c.mutateHeld(s, hashes[i], pairs[i].Key, ep, nil, mutation[V]{op: UpdateOp, value: pairs[i].Value})
		}
		s.mu.Unlock()
		g.leave()
	}
}

// snapshotReader reads the stream, keeping the offset and the checksum of
// everything read.
type snapshotReader struct {
	r       io.Reader
	crc     hash.Hash32
	off     int64
	readErr error // the first error of r other than io.EOF
}

func (s *snapshotReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.crc.Write(p[:n])
	s.off += int64(n)
	if err != nil && err != io.EOF && s.readErr == nil {
		s.readErr = err
	}
	return n, err
}

// corrupt describes a failure at the current offset. A failure of the
// reader itself (an I/O error, a cancelled context) is passed on as it is,
// not as corruption: the stream may be fine.
func (s *snapshotReader) corrupt(reason string, err error) error {
	if s.readErr != nil {
		return fmt.Errorf("mapx: reading snapshot at offset %d: %w", s.off, s.readErr)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		reason, err = "truncated: "+reason, nil
	}
	return &CorruptError{Offset: s.off, Reason: reason, Err: err}
}

func (s *snapshotReader) full(p []byte, what string) error {
	if _, err := io.ReadFull(s, p); err != nil {
		return s.corrupt(what, err)
	}
	return nil
}

func decodeSnapshot[K comparable, V any](r io.Reader, codec Codec, ro readOptions) (pairs []Pair[K, V], _ int64, err error) {
	sr := &snapshotReader{r: r, crc: crc32.New(castagnoli)}
	head := make([]byte, 8+2+1)
	if err := sr.full(head, "header"); err != nil {
		return nil, sr.off, err
	}
	if string(head[:8]) != fileMagic {
		return nil, 0, &CorruptError{Offset: 0, Reason: fmt.Sprintf("bad magic %q, want %q", head[:8], fileMagic)}
	}
	version := binary.BigEndian.Uint16(head[8:10])
	if version != 1 && version != fileVersion {
		return nil, 8, &CorruptError{Offset: 8, Reason: fmt.Sprintf("unsupported format version %d (this build reads 1 to %d)", version, fileVersion)}
	}
	id := make([]byte, int(head[10]))
	if err := sr.full(id, "codec id"); err != nil {
		return nil, sr.off, err
	}
	if got, want := string(id), codec.ID(); got != want {
		return nil, 11, &CorruptError{Offset: 11, Reason: fmt.Sprintf("written with codec %q, this map uses %q", got, want)}
	}
	var mismatch *TypeMismatchError
	if version >= 2 {
		typesAt := sr.off
		var n [2]byte
		if err := sr.full(n[:], "types length"); err != nil {
			return nil, sr.off, err
		}
		size := int(binary.BigEndian.Uint16(n[:]))
		if size > maxFingerprintLen {
			return nil, typesAt, &CorruptError{Offset: typesAt, Reason: fmt.Sprintf("types of %d bytes, at most %d", size, maxFingerprintLen)}
		}
		types := make([]byte, size)
		if err := sr.full(types, "types"); err != nil {
			return nil, sr.off, err
		}
		if want := typeFingerprint[K, V](); string(types) != want && !ro.allowTypeChange {
			mismatch = &TypeMismatchError{Offset: typesAt, Stream: string(types), Map: want}
		}
	}
	var cnt [8]byte
	if err := sr.full(cnt[:], "entry count"); err != nil {
		return nil, sr.off, err
	}
	count := binary.BigEndian.Uint64(cnt[:])
	body := &chunkReader{r: sr}
	if mismatch != nil {
		// The entries cannot be decoded as K and V; the checksum still
		// tells a damaged header from a stream of other types.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, sr.off, err
		}
		if err := verifyChecksum(sr); err != nil {
			return nil, sr.off, err
		}
		return nil, sr.off, mismatch
	}
	// No room is reserved from count, which is not verified yet: memory
	// grows with the entries decoded.
	dec := codec.NewDecoder(body)
	for uint64(len(pairs)) < count {
		var batch []Pair[K, V]
		if err := decodeBatch(dec, &batch); err != nil {
			if body.err != nil {
				return nil, sr.off, body.err
			}
			return nil, sr.off, sr.corrupt(fmt.Sprintf("entry %d of %d", len(pairs), count), err)
		}
		if len(batch) == 0 || uint64(len(pairs)+len(batch)) > count {
			return nil, sr.off, sr.corrupt(fmt.Sprintf("entries beyond the %d announced", count), nil)
		}
		pairs = append(pairs, batch...)
	}
	if err := body.drain(); err != nil {
		return nil, sr.off, err
	}
	if err := verifyChecksum(sr); err != nil {
		return nil, sr.off, err
	}
	return pairs, sr.off, nil
}

// verifyChecksum reads the checksum that ends the stream and compares it
// with that of everything read before it.
func verifyChecksum(sr *snapshotReader) error {
	want := sr.crc.Sum32()
	sum := make([]byte, 4)
	if err := sr.full(sum, "checksum"); err != nil {
		return err
	}
	if got := binary.BigEndian.Uint32(sum); got != want {
		return &CorruptError{Offset: sr.off - 4, Reason: fmt.Sprintf("checksum %08x, computed %08x", got, want)}
	}
	return nil
}

// decodeBatch turns a codec's panic into an error: a third-party codec
// must not crash ReadFrom on hostile input.
func decodeBatch[K comparable, V any](dec interface{ Decode(any) error }, batch *[]Pair[K, V]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec panicked: %v", r)
		}
	}()
	return dec.Decode(batch)
}
