package persist

import (
	"context"
	"fmt"
	"io"
	"time"
)

// kv is what a chunked store needs from a key-value database. Every method
// is about the keys of one name.
type kv interface {
	kind() string
	// nextGen returns a generation number that it never returned before.
	nextGen(ctx context.Context, name string) (uint64, error)
	// put stores chunks first, first+1, ... of generation gen, where no
	// load looks for them yet.
	put(ctx context.Context, name string, gen uint64, first int, chunks [][]byte) error
	// commit makes generation gen, of the given number of chunks, visible
	// with its manifest, at once; then it removes the oldest generations
	// beyond keep, manifests and chunks.
	commit(ctx context.Context, name string, gen uint64, manifest []byte, chunks, keep int) error
	// abort removes the chunks that put stored of generation gen, unless
	// gen was committed after all; as well as it can.
	abort(name string, gen uint64)
	// manifests returns the committed generations, newest first, at one
	// instant.
	manifests(ctx context.Context, name string) ([]storedManifest, error)
	// committed reports whether generation gen is committed.
	committed(ctx context.Context, name string, gen uint64) (bool, error)
	// reader returns the manifest of generation gen (nil if it has none),
	// a function that fetches n of its chunks from first on (nil for a
	// missing one), and one to call when done with them.
	reader(ctx context.Context, name string, gen uint64) (manifest []byte, fetch fetchFunc, done func(), err error)
}

type fetchFunc func(ctx context.Context, first, n int) ([][]byte, error)

type storedManifest struct {
	gen  uint64
	data []byte // nil: missing
}

// chunked is a store on a key-value database. A save writes the chunks of a
// new generation under keys no load reads, then switches to it in one
// atomic step (the commit), which also drops the oldest generations.
type chunked struct {
	kv  kv
	cfg storeConfig
}

// window is how many chunks go in one round trip.
const window = 4

func (c *chunked) kind() string { return c.kv.kind() }

func (c *chunked) save(ctx context.Context, name string, src io.WriterTo) (Generation, error) {
	gen, err := c.kv.nextGen(ctx, name)
	if err != nil {
		return Generation{}, err
	}
	w := &chunker{size: c.cfg.chunkSize, put: func(first int, chunks [][]byte) error {
		return c.kv.put(ctx, name, gen, first, chunks)
	}}
	committed := false
	defer func() {
		if !committed { // also if src panicked
			c.kv.abort(name, gen)
		}
	}()
	sk := &sink{ctx: ctx, w: w}
	if _, err := src.WriteTo(sk); err != nil {
		return Generation{}, err
	}
	if err := w.close(); err != nil {
		return Generation{}, err
	}
	m := manifest{meta: meta{gen: gen, size: sk.n, time: time.Now()}, chunkSize: c.cfg.chunkSize, crcs: w.crcs}
	if err := c.kv.commit(ctx, name, gen, m.encode(), len(m.crcs), c.cfg.keep); err != nil {
		return Generation{}, err
	}
	committed = true
	return m.generation(), nil
}

func decodeStored(sm storedManifest) (*manifest, error) {
	if sm.data == nil {
		return nil, corrupt(0, "the manifest is missing")
	}
	m, err := decodeManifest(sm.data)
	if err != nil {
		return nil, err
	}
	if m.gen != sm.gen {
		return nil, corrupt(8, "the manifest is of generation %d", m.gen)
	}
	return m, nil
}

func (c *chunked) list(ctx context.Context, name string) ([]Generation, error) {
	ms, err := c.kv.manifests(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Generation, 0, len(ms))
	for _, sm := range ms {
		m, err := decodeStored(sm)
		if err != nil {
			out = append(out, Generation{Number: sm.gen, Err: err})
			continue
		}
		out = append(out, m.generation())
	}
	return out, nil
}

func (c *chunked) load(ctx context.Context, name string, g Generation, dst io.ReaderFrom) error {
	data, fetch, done, err := c.kv.reader(ctx, name, g.Number)
	if err != nil {
		return err
	}
	defer done()
	if data == nil {
		return errDropped // List found it a moment ago
	}
	m, err := decodeStored(storedManifest{gen: g.Number, data: data})
	if err != nil {
		return err
	}
	err = feed(ctx, dst, &chunkReader{ctx: ctx, m: m, fetch: fetch}, m.size)
	if isCorrupt(err) {
		// A chunk may be missing because a save dropped the generation
		// meanwhile (Redis): that is no damage.
		if ok, cerr := c.kv.committed(ctx, name, g.Number); cerr == nil && !ok {
			return errDropped
		}
	}
	return err
}

// chunker cuts what is written to it in chunks and puts them window by
// window.
type chunker struct {
	size  int
	put   func(first int, chunks [][]byte) error
	cur   []byte
	batch [][]byte
	crcs  []uint32
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.cur == nil {
			c.cur = make([]byte, 0, c.size) // not reused: a database may keep it until it commits
		}
		k := min(len(p), c.size-len(c.cur))
		c.cur, p = append(c.cur, p[:k]...), p[k:]
		if len(c.cur) == c.size {
			if err := c.seal(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (c *chunker) seal() error {
	if len(c.crcs) == maxChunks {
		return fmt.Errorf("more than %d chunks: use larger ones (WithChunkSize)", maxChunks)
	}
	c.crcs = append(c.crcs, checksum(0, c.cur))
	c.batch, c.cur = append(c.batch, c.cur), nil
	if len(c.batch) == window {
		return c.flush()
	}
	return nil
}

func (c *chunker) flush() error {
	first := len(c.crcs) - len(c.batch)
	err := c.put(first, c.batch)
	c.batch = nil
	return err
}

func (c *chunker) close() error {
	if len(c.cur) > 0 {
		if err := c.seal(); err != nil {
			return err
		}
	}
	if len(c.batch) > 0 {
		return c.flush()
	}
	return nil
}

// chunkReader reads a generation's chunks in order, window by window, and
// gives out none that does not verify against the manifest.
type chunkReader struct {
	ctx     context.Context
	m       *manifest
	fetch   fetchFunc
	next    int      // index of the next chunk to take from pending
	pending [][]byte // fetched, not yet verified
	cur     []byte   // verified, not yet read
	off     int64    // in the stream
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		n := len(r.m.crcs)
		if r.next == n {
			return 0, io.EOF
		}
		if len(r.pending) == 0 {
			got, err := r.fetch(r.ctx, r.next, min(window, n-r.next))
			if err != nil {
				return 0, err
			}
			r.pending = got
		}
		i, chunk := r.next, r.pending[0]
		switch {
		case chunk == nil:
			return 0, corrupt(r.off, "chunk %d of %d is missing", i, n)
		case len(chunk) != r.m.chunkLen(i):
			return 0, corrupt(r.off, "chunk %d of %d has %d bytes, the manifest says %d", i, n, len(chunk), r.m.chunkLen(i))
		}
		if sum := checksum(0, chunk); sum != r.m.crcs[i] {
			return 0, corrupt(r.off, "chunk %d of %d: checksum %08x, the manifest says %08x", i, n, sum, r.m.crcs[i])
		}
		r.cur, r.pending, r.next = chunk, r.pending[1:], i+1
	}
	k := copy(p, r.cur)
	r.cur = r.cur[k:]
	r.off += int64(k)
	return k, nil
}
