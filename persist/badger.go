package persist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// A BadgerStore keeps generations in an embedded Badger database, cut in
// chunks (see [WithChunkSize]), under these keys:
//
//	PREFIXNAME/seq                 the last generation number given out
//	PREFIXNAME/m/GEN               the manifest of a committed generation
//	PREFIXNAME/c/GEN/INDEX         a chunk
//
// with GEN in 20 digits and INDEX in 10. A save writes its chunks in write
// batches, then one transaction adds the manifest (the switch) and deletes
// the manifests beyond the limit; then it syncs the database and deletes the
// chunks of every generation older than those kept (dropped ones, and those
// of saves that a crash interrupted). A load reads in one transaction, so a
// concurrent save cannot remove what it reads.
//
// The database must be opened by one process (Badger locks its directory).
// Badger reclaims the space of deleted chunks in its compactions and
// value-log garbage collection, which the owner of the database runs
// ([badger.DB.RunValueLogGC]).
type BadgerStore struct {
	base
}

// NewBadgerStore returns a store in db. The store does not close db.
func NewBadgerStore(db *badger.DB, opts ...BadgerOption) *BadgerStore {
	if db == nil {
		panic("persist: NewBadgerStore(nil)")
	}
	cfg := configure("NewBadgerStore", opts, BadgerOption.applyBadger)
	b := &badgerKV{db: db, cfg: cfg, saving: map[badgerGen]int{}}
	return &BadgerStore{base{&chunked{kv: b, cfg: cfg}}}
}

type badgerGen struct {
	name string
	gen  uint64
}

type badgerKV struct {
	db  *badger.DB
	cfg storeConfig

	mu     sync.Mutex
	saving map[badgerGen]int // generations being saved: the sweep spares their chunks
}

func (b *badgerKV) kind() string { return "badger" }

func (b *badgerKV) key(name, what string) []byte { return []byte(b.cfg.prefix + name + "/" + what) }

func (b *badgerKV) manifestKey(name string, gen uint64) []byte {
	return b.key(name, fmt.Sprintf("m/%020d", gen))
}

func (b *badgerKV) chunkPrefix(name string, gen uint64) []byte {
	return b.key(name, fmt.Sprintf("c/%020d/", gen))
}

func (b *badgerKV) chunkKey(name string, gen uint64, i int) []byte {
	return fmt.Appendf(b.chunkPrefix(name, gen), "%010d", i)
}

// update runs fn in a read-write transaction, again while it conflicts with
// another.
func (b *badgerKV) update(ctx context.Context, fn func(*badger.Txn) error) error {
	for {
		err := b.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (b *badgerKV) nextGen(ctx context.Context, name string) (uint64, error) {
	key := b.key(name, "seq")
	var n uint64
	err := b.update(ctx, func(txn *badger.Txn) error {
		n = 0
		item, err := txn.Get(key)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) != 8 {
				return fmt.Errorf("key %q holds %d bytes, not a generation number", key, len(v))
			}
			n = binary.BigEndian.Uint64(v)
		}
		n++
		return txn.Set(key, binary.BigEndian.AppendUint64(nil, n))
	})
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.saving[badgerGen{name, n}]++
	b.mu.Unlock()
	return n, nil
}

func (b *badgerKV) done(name string, gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := badgerGen{name, gen}
	if b.saving[k]--; b.saving[k] <= 0 {
		delete(b.saving, k)
	}
}

func (b *badgerKV) put(_ context.Context, name string, gen uint64, first int, chunks [][]byte) error {
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	for i, c := range chunks {
		if err := wb.Set(b.chunkKey(name, gen, first+i), c); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// keys returns the keys under prefix, in order, until stop says to stop.
func keys(txn *badger.Txn, prefix []byte, stop func(key []byte) bool) [][]byte {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var out [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		if stop != nil && stop(k) {
			break
		}
		out = append(out, k)
	}
	return out
}

// genOf parses the 20-digit generation that follows prefix in key.
func genOf(key, prefix []byte) (uint64, bool) {
	if len(key) < len(prefix)+20 {
		return 0, false
	}
	return parseGen(string(key[len(prefix) : len(prefix)+20]))
}

func (b *badgerKV) commit(ctx context.Context, name string, gen uint64, manifest []byte, _, keep int) error {
	defer b.done(name, gen)
	mprefix := b.key(name, "m/")
	var oldest uint64 // the oldest generation kept
	err := b.update(ctx, func(txn *badger.Txn) error {
		if err := txn.Set(b.manifestKey(name, gen), manifest); err != nil {
			return err
		}
		var gens []uint64
		for _, k := range keys(txn, mprefix, nil) {
			if g, ok := genOf(k, mprefix); ok && g != gen {
				gens = append(gens, g)
			}
		}
		gens = append(gens, gen)
		slices.Sort(gens)
		extra := max(len(gens)-keep, 0)
		for _, g := range gens[:extra] {
			if err := txn.Delete(b.manifestKey(name, g)); err != nil {
				return err
			}
		}
		oldest = gens[extra]
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.db.Sync(); err != nil {
		return err
	}
	// The generation is saved; chunks left behind are removed by a later
	// save if this sweep fails.
	_ = b.sweep(name, oldest)
	return nil
}

// sweep deletes the chunks of the generations older than oldest, except
// those being saved.
func (b *badgerKV) sweep(name string, oldest uint64) error {
	cprefix := b.key(name, "c/")
	var dead [][]byte
	err := b.db.View(func(txn *badger.Txn) error {
		dead = keys(txn, cprefix, func(k []byte) bool {
			g, ok := genOf(k, cprefix)
			return !ok || g >= oldest
		})
		return nil
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	dead = slices.DeleteFunc(dead, func(k []byte) bool {
		g, _ := genOf(k, cprefix)
		return b.saving[badgerGen{name, g}] > 0
	})
	b.mu.Unlock()
	return b.delete(dead)
}

func (b *badgerKV) delete(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (b *badgerKV) abort(name string, gen uint64) {
	defer b.done(name, gen)
	var dead [][]byte
	_ = b.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(b.manifestKey(name, gen)); !errors.Is(err, badger.ErrKeyNotFound) {
			return err // committed after all, or unknown: keep the chunks
		}
		dead = keys(txn, b.chunkPrefix(name, gen), nil)
		return nil
	})
	_ = b.delete(dead) // a later sweep removes what remains
}

func (b *badgerKV) manifests(_ context.Context, name string) ([]storedManifest, error) {
	mprefix := b.key(name, "m/")
	var out []storedManifest
	err := b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: mprefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			g, ok := genOf(it.Item().Key(), mprefix)
			if !ok {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, storedManifest{gen: g, data: v})
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}

func (b *badgerKV) committed(_ context.Context, name string, gen uint64) (bool, error) {
	err := b.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(b.manifestKey(name, gen))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// reader reads in one transaction: a save that drops the generation
// meanwhile does not change what it reads.
func (b *badgerKV) reader(_ context.Context, name string, gen uint64) ([]byte, fetchFunc, func(), error) {
	txn := b.db.NewTransaction(false)
	var m []byte
	item, err := txn.Get(b.manifestKey(name, gen))
	if err == nil {
		m, err = item.ValueCopy(nil)
	}
	if errors.Is(err, badger.ErrKeyNotFound) {
		err = nil
	}
	if err != nil {
		txn.Discard()
		return nil, nil, nil, err
	}
	fetch := func(_ context.Context, first, n int) ([][]byte, error) {
		out := make([][]byte, n)
		for i := range out {
			item, err := txn.Get(b.chunkKey(name, gen, first+i))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if out[i], err = item.ValueCopy(nil); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return m, fetch, txn.Discard, nil
}
