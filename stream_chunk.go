package mapx

import (
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// The stream's framing: its body goes in length-prefixed chunks under a
// running checksum.

// checksumWriter counts and checksums what reaches w, and keeps w's first
// error.
type checksumWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
	err error
}

func (c *checksumWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// chunkWriter frames the codec's stream in chunks of chunkTarget bytes (the
// last may be shorter), so that a reader can find the end of the body
// without trusting the codec, and so that no write of the codec, however
// large, makes a chunk the reader refuses.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.buf) == 0 && len(p) >= chunkTarget {
			if err := c.emit(p[:chunkTarget]); err != nil {
				return n - len(p), err
			}
			p = p[chunkTarget:]
			continue
		}
		if c.buf == nil {
			c.buf = make([]byte, 0, chunkTarget)
		}
		k := min(len(p), chunkTarget-len(c.buf))
		c.buf, p = append(c.buf, p[:k]...), p[k:]
		if len(c.buf) == chunkTarget {
			if err := c.emit(c.buf); err != nil {
				return n - len(p), err
			}
			c.buf = c.buf[:0]
		}
	}
	return n, nil
}

func (c *chunkWriter) emit(chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	if _, err := c.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(chunk)))); err != nil {
		return err
	}
	_, err := c.w.Write(chunk)
	return err
}

func (c *chunkWriter) close() error {
	if err := c.emit(c.buf); err != nil {
		return err
	}
	c.buf = c.buf[:0]
	_, err := c.w.Write([]byte{0, 0, 0, 0})
	return err
}

// chunkReader yields the body's chunks as one stream and reports the end
// chunk as io.EOF.
type chunkReader struct {
	r    *snapshotReader
	left uint32
	done bool
	err  error // a framing error, reported instead of the codec's
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		var n [4]byte
		if err := c.r.full(n[:], "chunk length"); err != nil {
			c.err = err
			return 0, err
		}
		c.left = binary.BigEndian.Uint32(n[:])
		if c.left > maxChunk {
			c.err = c.r.corrupt(fmt.Sprintf("chunk of %d bytes, at most %d", c.left, maxChunk), nil)
			return 0, c.err
		}
		if c.left == 0 {
			c.done = true
		}
	}
	if uint32(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint32(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = c.r.corrupt("chunk", err)
		return n, c.err
	}
	return n, nil
}

// drain reads past the rest of the body: the codec may not have read the
// end chunk, and nothing but the end chunk may be left.
func (c *chunkReader) drain() error {
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 {
		return c.r.corrupt("data after the announced entries", nil)
	}
	if err == io.EOF {
		return nil
	}
	return err
}
