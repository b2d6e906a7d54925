package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mapx-dev/mapx"
)

// A Store keeps the snapshots of named maps as numbered generations. The
// stores of this package ([FileStore], [RedisStore], [BadgerStore]) are safe
// for concurrent use.
//
// A Store moves bytes: it saves what an [io.WriterTo] writes (a
// *[mapx.Snapshot]) and loads into an [io.ReaderFrom] (a *[mapx.Map]), so one
// store serves maps of any key and value types. [SaveMap] takes and closes
// the snapshot for you.
type Store interface {
	// Save writes what src writes as a new generation of name, and returns
	// it. The generation becomes visible to Load and List only once it is
	// complete (and, for a FileStore, durable); if Save fails, the store is
	// as it was. Save then drops generations beyond the store's limit,
	// oldest first.
	Save(ctx context.Context, name string, src io.WriterTo) (Generation, error)

	// Load reads the newest generation of name that verifies into dst. A
	// generation that is damaged is skipped, reported in Loaded.Skipped, and
	// the next older one is tried; the error matches [mapx.ErrCorrupt] when
	// no generation verifies and [ErrNotFound] when there is none. Any other
	// error (the store is unreachable, ctx is done) stops the search.
	//
	// Load verifies a generation as dst reads it, and holds back its end
	// (a FileStore) or the chunk (a RedisStore or BadgerStore) that does
	// not verify, so dst never reads the whole of a damaged generation. But
	// dst reads a generation in pieces: it must apply nothing until it has
	// read and checked all of its input, as [mapx.Map.ReadFrom] does. Then
	// a failed Load leaves dst unchanged.
	Load(ctx context.Context, name string, dst io.ReaderFrom) (Loaded, error)

	// List returns the generations of name, newest first. It reads their
	// metadata, not their contents.
	List(ctx context.Context, name string) ([]Generation, error)
}

// A Snapshotter takes snapshots: a *[mapx.Map] and the wrappers of package
// instrumented are Snapshotters.
type Snapshotter[K comparable, V any] interface {
	Snapshot() *mapx.Snapshot[K, V]
}

// SaveMap saves a snapshot of m as a new generation of name in s: it takes
// the snapshot, saves it and closes it. Writers of m do not wait for it.
func SaveMap[K comparable, V any](ctx context.Context, s Store, name string, m Snapshotter[K, V]) (Generation, error) {
	snap := m.Snapshot()
	defer snap.Close()
	return s.Save(ctx, name, snap)
}

// A Generation is one saved snapshot of a name.
type Generation struct {
	// Number orders the generations of a name: a later Save gets a larger
	// number.
	Number uint64
	// Size is the length of the snapshot stream in bytes, without the
	// store's own framing.
	Size int64
	// Time is when the saving process finished writing it, by its clock.
	Time time.Time
	// Err is non-nil, in a List, for a generation whose metadata does not
	// verify; Load skips it. It matches [mapx.ErrCorrupt].
	Err error
}

// Loaded tells what [Store.Load] loaded.
type Loaded struct {
	// Generation is the generation loaded.
	Generation Generation
	// Skipped holds the newer generations that were refused as damaged,
	// newest first. Each error matches [mapx.ErrCorrupt].
	Skipped []*GenerationError
}

// ErrNotFound is matched by the error of [Store.Load] when the name has no
// generation.
var ErrNotFound = errors.New("persist: no generation")

// A GenerationError is an error about one generation.
type GenerationError struct {
	Store  string // the kind of store: "file", "redis" or "badger"
	Name   string
	Number uint64
	Err    error
}

func (e *GenerationError) Error() string {
	return fmt.Sprintf("persist: %s store: %q generation %d: %v", e.Store, e.Name, e.Number, e.Err)
}

// Unwrap returns the underlying error.
func (e *GenerationError) Unwrap() error { return e.Err }

func isCorrupt(err error) bool { return errors.Is(err, mapx.ErrCorrupt) }

// corrupt returns an error about damaged data that matches mapx.ErrCorrupt.
func corrupt(offset int64, format string, args ...any) error {
	return &mapx.CorruptError{Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// backend is what a store implements; base turns it into a Store.
type backend interface {
	kind() string
	save(ctx context.Context, name string, src io.WriterTo) (Generation, error)
	list(ctx context.Context, name string) ([]Generation, error)
	// load streams generation g into dst. The error is the first one that
	// the reader it gives dst met, if any: dst may have wrapped it. It is
	// errDropped if g is no longer in the store.
	load(ctx context.Context, name string, g Generation, dst io.ReaderFrom) error
}

// base holds the methods that all stores share.
type base struct{ b backend }

// Kind names the kind of store: "file", "redis" or "badger". [Autosaver]
// reports it as mapx.store.
func (s base) Kind() string { return s.b.kind() }

// Save implements [Store].
func (s base) Save(ctx context.Context, name string, src io.WriterTo) (Generation, error) {
	if err := checkName(name); err != nil {
		return Generation{}, err
	}
	if src == nil {
		return Generation{}, errors.New("persist: Save: nil source")
	}
	if err := ctx.Err(); err != nil {
		return Generation{}, fmt.Errorf("persist: %s store: save %q: %w", s.b.kind(), name, err)
	}
	g, err := s.b.save(ctx, name, src)
	if err != nil {
		return Generation{}, fmt.Errorf("persist: %s store: save %q: %w", s.b.kind(), name, err)
	}
	return g, nil
}

// List implements [Store].
func (s base) List(ctx context.Context, name string) ([]Generation, error) {
	return s.list(ctx, "list", name)
}

// list lists the generations of name, for op.
func (s base) list(ctx context.Context, op, name string) ([]Generation, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	gens, err := s.b.list(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("persist: %s store: %s %q: %w", s.b.kind(), op, name, err)
	}
	return gens, nil
}

// Load implements [Store].
func (s base) Load(ctx context.Context, name string, dst io.ReaderFrom) (Loaded, error) {
	if dst == nil {
		return Loaded{}, errors.New("persist: Load: nil destination")
	}
	for tries := 1; ; tries++ {
		res, err := s.loadNewest(ctx, name, dst)
		if !errors.Is(err, errDropped) || tries == maxLoadTries {
			return res, err
		}
	}
}

// errDropped reports that a generation was dropped by a save while a load
// was reading it; dst is unchanged, and the load starts again from the
// newest generation.
var errDropped = errors.New("dropped by a concurrent save while being loaded")

const maxLoadTries = 4

func (s base) loadNewest(ctx context.Context, name string, dst io.ReaderFrom) (Loaded, error) {
	var res Loaded
	gens, err := s.list(ctx, "load", name)
	if err != nil {
		return res, err
	}
	if len(gens) == 0 {
		return res, fmt.Errorf("persist: %s store: load %q: %w", s.b.kind(), name, ErrNotFound)
	}
	for _, g := range gens {
		ge := s.loadOne(ctx, name, g, dst)
		if ge == nil {
			res.Generation = g
			return res, nil
		}
		if !isCorrupt(ge) {
			return res, ge
		}
		res.Skipped = append(res.Skipped, ge)
	}
	errs := make([]error, len(res.Skipped))
	for i, e := range res.Skipped {
		errs[i] = e
	}
	return res, fmt.Errorf("persist: %s store: load %q: none of its %d generations verifies: %w", s.b.kind(), name, len(gens), errors.Join(errs...))
}

// LoadGeneration loads the given generation of name into dst, or fails; it
// never falls back to another. It serves to roll back to an older
// generation. dst must be all-or-nothing, as for [Store.Load].
func (s base) LoadGeneration(ctx context.Context, name string, number uint64, dst io.ReaderFrom) (Generation, error) {
	gens, err := s.list(ctx, "load", name)
	if err != nil {
		return Generation{}, err
	}
	for _, g := range gens {
		if g.Number == number {
			if ge := s.loadOne(ctx, name, g, dst); ge != nil {
				return Generation{}, ge
			}
			return g, nil
		}
	}
	return Generation{}, fmt.Errorf("persist: %s store: %q generation %d: %w", s.b.kind(), name, number, ErrNotFound)
}

// loadOne loads generation g into dst.
func (s base) loadOne(ctx context.Context, name string, g Generation, dst io.ReaderFrom) *GenerationError {
	err := g.Err
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.b.load(ctx, name, g, dst)
	}
	if err != nil {
		return &GenerationError{Store: s.b.kind(), Name: name, Number: g.Number, Err: err}
	}
	return nil
}

// MaxNameLen is the longest name a store accepts.
const MaxNameLen = 128

// checkName accepts names of ASCII letters, digits, '.', '_' and '-' that do
// not start with '.': they are safe in file names and in Redis hash tags.
func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen || name[0] == '.' {
		return fmt.Errorf("persist: invalid name %q: want 1 to %d letters, digits, '.', '_' or '-', not starting with '.'", name, MaxNameLen)
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("persist: invalid name %q: want 1 to %d letters, digits, '.', '_' or '-', not starting with '.'", name, MaxNameLen)
		}
	}
	return nil
}
