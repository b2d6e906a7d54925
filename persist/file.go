package persist

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A FileStore keeps each generation of a name in a file of one directory,
// NAME.NUMBER.mapx, with NUMBER in 20 digits: a 40-byte header
// (generation, size, time, CRC-32C of the stream), then the snapshot stream
// as [mapx.Snapshot.WriteTo] wrote it. See the package documentation for
// how a save survives a crash.
//
// One FileStore, in one process, should save to a directory: saves are
// serialized within a FileStore, and a save removes the temporary files that
// an interrupted save of the same name left behind.
type FileStore struct {
	base
	dir  string
	keep int
	mu   sync.Mutex // serializes saves
}

// NewFileStore returns a store in dir, which it creates (mode 0700) if
// needed. Files are created with mode 0600.
func NewFileStore(dir string, opts ...FileOption) (*FileStore, error) {
	cfg := configure("NewFileStore", opts, FileOption.applyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("persist: file store: %w", err)
	}
	s := &FileStore{dir: dir, keep: cfg.keep}
	s.base = base{s}
	return s, nil
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

func (s *FileStore) kind() string { return "file" }

// Stages of a save, for the crash tests.
const (
	stageCreated = "created" // the temporary file exists, empty
	stageWritten = "written" // the stream and the header are written, not synced
	stageSynced  = "synced"  // the temporary file is synced and closed
	stageRenamed = "renamed" // the generation has its final name
	stageDurable = "durable" // the directory is synced: Save will succeed
	stageTrimmed = "trimmed" // one old generation was removed
)

// testHookSave, if set, is called at each stage of a save.
var testHookSave func(stage string)

func hook(stage string) {
	if testHookSave != nil {
		testHookSave(stage)
	}
}

func genFileName(name string, gen uint64) string {
	return fmt.Sprintf("%s.%020d.mapx", name, gen)
}

// parseGen returns the number of a 20-digit decimal.
func parseGen(s string) (uint64, bool) {
	if len(s) != 20 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// scan returns the generations of name in the directory, oldest first, and
// the temporary files of its interrupted saves. No other file matches: a
// name cannot start with '.', and a temporary file does.
func (s *FileStore) scan(name string) (gens []uint64, temps []string, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		f := e.Name()
		if rest, ok := strings.CutPrefix(f, name+"."); ok {
			if digits, ok := strings.CutSuffix(rest, ".mapx"); ok {
				if n, ok := parseGen(digits); ok && e.Type().IsRegular() {
					gens = append(gens, n)
				}
			}
		} else if rest, ok := strings.CutPrefix(f, "."+name+"."); ok {
			if len(rest) > 25 && rest[20:25] == ".tmp-" {
				if _, ok := parseGen(rest[:20]); ok {
					temps = append(temps, f)
				}
			}
		}
	}
	slices.Sort(gens)
	return gens, temps, nil
}

func (s *FileStore) save(ctx context.Context, name string, src io.WriterTo) (Generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gens, temps, err := s.scan(name)
	if err != nil {
		return Generation{}, err
	}
	for _, t := range temps {
		os.Remove(filepath.Join(s.dir, t)) // left by a crash; a failure is retried next time
	}
	gen := uint64(1)
	if len(gens) > 0 {
		gen = gens[len(gens)-1] + 1
	}
	g, err := s.write(ctx, name, gen, src)
	if err != nil {
		return Generation{}, err
	}
	// Old generations go only once the new one is durable. A failure to
	// remove one leaves it for the next save to remove.
	if extra := len(gens) + 1 - s.keep; extra > 0 {
		for _, old := range gens[:extra] {
			if os.Remove(filepath.Join(s.dir, genFileName(name, old))) == nil {
				hook(stageTrimmed)
			}
		}
		_ = syncDir(s.dir) // nothing depends on the removals being durable
	}
	return g, nil
}

// write writes generation gen: to a temporary file, synced, then renamed
// and the directory synced. On error nothing of it is left in place.
func (s *FileStore) write(ctx context.Context, name string, gen uint64, src io.WriterTo) (g Generation, err error) {
	f, err := os.CreateTemp(s.dir, fmt.Sprintf(".%s.%020d.tmp-*", name, gen))
	if err != nil {
		return g, err
	}
	tmp, closed, ok := f.Name(), false, false
	defer func() {
		if !ok { // also if src panicked
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	hook(stageCreated)
	if _, err = f.Write(make([]byte, fileHeaderLen)); err != nil {
		return g, err
	}
	sk := &sink{ctx: ctx, w: f}
	bw := bufio.NewWriterSize(sk, 64<<10)
	if _, err = src.WriteTo(bw); err != nil {
		return g, err
	}
	if err = bw.Flush(); err != nil {
		return g, err
	}
	m := meta{gen: gen, size: sk.n, time: time.Now()}
	if _, err = f.WriteAt(encodeFileHeader(m, sk.crc), 0); err != nil {
		return g, err
	}
	hook(stageWritten)
	if err = f.Sync(); err != nil {
		return g, err
	}
	closed = true
	if err = f.Close(); err != nil {
		return g, err
	}
	hook(stageSynced)
	final := filepath.Join(s.dir, genFileName(name, gen))
	if err = os.Rename(tmp, final); err != nil {
		return g, err
	}
	hook(stageRenamed)
	if err = syncDir(s.dir); err != nil {
		// The rename may not survive a power loss: take the generation
		// back rather than report a save that may vanish.
		os.Remove(final)
		return g, err
	}
	hook(stageDurable)
	ok = true
	return m.generation(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *FileStore) list(_ context.Context, name string) ([]Generation, error) {
	gens, _, err := s.scan(name)
	if err != nil {
		return nil, err
	}
	out := make([]Generation, 0, len(gens))
	for _, n := range slices.Backward(gens) {
		f, m, _, err := s.open(name, n)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by a save since the scan
		}
		if f != nil {
			f.Close()
		}
		g := m.generation()
		g.Number = n
		switch {
		case err == nil:
		case isCorrupt(err):
			g = Generation{Number: n, Err: err}
		default:
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// open opens the file of generation gen and checks its header against the
// file; on success the file is positioned at the start of the stream.
func (s *FileStore) open(name string, gen uint64) (*os.File, meta, uint32, error) {
	f, err := os.Open(filepath.Join(s.dir, genFileName(name, gen)))
	if err != nil {
		return nil, meta{}, 0, err
	}
	m, crc, err := readFileHeader(f, gen)
	if err != nil {
		f.Close()
		return nil, m, 0, err
	}
	return f, m, crc, nil
}

func readFileHeader(f *os.File, gen uint64) (meta, uint32, error) {
	st, err := f.Stat()
	if err != nil {
		return meta{}, 0, err
	}
	head := make([]byte, fileHeaderLen)
	n, err := io.ReadFull(f, head)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return meta{}, 0, corrupt(int64(n), "truncated header: the file has %d bytes", st.Size())
	} else if err != nil {
		return meta{}, 0, err
	}
	m, crc, err := decodeFileHeader(head)
	switch {
	case err != nil:
		return m, 0, err
	case m.gen != gen:
		return m, 0, corrupt(8, "the header says generation %d, the file name %d", m.gen, gen)
	case st.Size() != fileHeaderLen+m.size:
		return m, 0, corrupt(16, "the file has %d bytes, the header announces %d", st.Size(), fileHeaderLen+m.size)
	case m.size == 0 && crc != 0:
		return m, 0, corrupt(32, "checksum %08x of an empty stream", crc)
	}
	return m, crc, nil
}

func (s *FileStore) load(ctx context.Context, name string, g Generation, dst io.ReaderFrom) error {
	f, m, crc, err := s.open(name, g.Number)
	if errors.Is(err, fs.ErrNotExist) {
		return errDropped
	}
	if err != nil {
		return err
	}
	defer f.Close() // an open file stays readable when a save removes it
	r := &verified{r: bufio.NewReaderSize(f, 256<<10), left: m.size, off: fileHeaderLen, want: crc}
	return feed(ctx, dst, r, m.size)
}

// verified delivers the next left bytes of r, and withholds the last of them
// unless the CRC of all of them is want: a destination never reads the end of
// a stream that does not verify.
type verified struct {
	r         io.Reader
	left      int64
	off       int64 // in the file, for errors
	crc, want uint32
}

func (v *verified) Read(p []byte) (int, error) {
	if v.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > v.left {
		p = p[:v.left]
	}
	n, err := io.ReadFull(v.r, p)
	v.crc = checksum(v.crc, p[:n])
	v.left -= int64(n)
	v.off += int64(n)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return 0, corrupt(v.off, "truncated: the file ends %d bytes early", v.left)
	case err != nil:
		return 0, err
	case v.left == 0 && v.crc != v.want:
		return 0, corrupt(v.off, "checksum of the stream %08x, the header says %08x", v.crc, v.want)
	}
	return n, nil
}
