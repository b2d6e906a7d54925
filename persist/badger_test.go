package persist_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/mapx-dev/mapx/persist"
)

// openBadger opens a small database in dir, closed when t ends.
func openBadger(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).WithValueThreshold(64 << 10).WithValueLogFileSize(16 << 20).
		WithBlockCacheSize(1 << 20).WithNumCompactors(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func badgerGet(t *testing.T, db *badger.DB, key string) []byte {
	t.Helper()
	var v []byte
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if err == nil {
			v, err = item.ValueCopy(nil)
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

func badgerUpdate(t *testing.T, db *badger.DB, fn func(*badger.Txn) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func badgerKeys(t *testing.T, db *badger.DB, prefix string) []string {
	t.Helper()
	var keys []string
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func openBadgerStore(t *testing.T, keep int) *harness {
	db := openBadger(t, t.TempDir())
	s := persist.NewBadgerStore(db, persist.WithKeep(keep), persist.WithChunkSize(testChunk))
	key := func(name, what string) string { return persist.DefaultKeyPrefix + name + "/" + what }
	chunk := func(name string, gen uint64, i int64) string { return key(name, fmt.Sprintf("c/%020d/%010d", gen, i)) }
	manifest := func(name string, gen uint64) string { return key(name, fmt.Sprintf("m/%020d", gen)) }
	set := func(t *testing.T, k string, v []byte) {
		badgerUpdate(t, db, func(txn *badger.Txn) error { return txn.Set([]byte(k), v) })
	}
	return &harness{
		store: s,
		flipStream: func(t *testing.T, name string, gen uint64, off int64) {
			k := chunk(name, gen, off/testChunk)
			v := badgerGet(t, db, k)
			v[off%testChunk] ^= 0x01
			set(t, k, v)
		},
		metadata: func(t *testing.T, name string, gen uint64) ([]byte, func([]byte)) {
			k := manifest(name, gen)
			return badgerGet(t, db, k), func(v []byte) { set(t, k, v) }
		},
		dropEnd: func(t *testing.T, name string, gen uint64) {
			keys := badgerKeys(t, db, key(name, fmt.Sprintf("c/%020d/", gen)))
			badgerUpdate(t, db, func(txn *badger.Txn) error { return txn.Delete([]byte(keys[len(keys)-1])) })
		},
		stored: func(t *testing.T, name string) []uint64 {
			var gens []uint64
			for _, k := range badgerKeys(t, db, key(name, "")) {
				rest := strings.TrimPrefix(k, key(name, ""))
				if len(rest) >= 22 && (rest[:2] == "m/" || rest[:2] == "c/") {
					var g uint64
					fmt.Sscan(rest[2:22], &g)
					gens = append(gens, g)
				}
			}
			slices.Sort(gens)
			return slices.Compact(gens)
		},
	}
}

func TestBadgerStore(t *testing.T) { testStore(t, openBadgerStore) }

// The chunks of saves that a crash interrupted (no manifest) go at the next
// save; a generation survives reopening the database.
func TestBadgerStoreSweepsAndReopens(t *testing.T) {
	dir := t.TempDir()
	db := openBadger(t, dir)
	s := persist.NewBadgerStore(db, persist.WithChunkSize(testChunk))
	g := save(t, s, "sw", 1, 3000)
	// What a save killed before its switch leaves: the next generation
	// number taken, chunks of it, no manifest.
	seq := persist.DefaultKeyPrefix + "sw/seq"
	orphan := fmt.Sprintf("%ssw/c/%020d/%010d", persist.DefaultKeyPrefix, g.Number+1, 0)
	badgerUpdate(t, db, func(txn *badger.Txn) error {
		if err := txn.Set([]byte(seq), binary.BigEndian.AppendUint64(nil, g.Number+1)); err != nil {
			return err
		}
		return txn.Set([]byte(orphan), []byte("partial"))
	})
	if got := generations(t, s, "sw"); !slices.Equal(got, []uint64{g.Number}) {
		t.Fatalf("generations %v: chunks without a manifest were taken for a generation", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openBadger(t, dir)
	s = persist.NewBadgerStore(db, persist.WithChunkSize(testChunk), persist.WithKeep(1))
	if tag, _ := loadTag(t, s, "sw"); tag != 1 {
		t.Fatalf("loaded tag %d after reopening", tag)
	}
	g2 := save(t, s, "sw", 2, 100)
	if g2.Number != g.Number+2 {
		t.Fatalf("generation %d after %d and an interrupted save", g2.Number, g.Number)
	}
	for _, k := range badgerKeys(t, db, persist.DefaultKeyPrefix+"sw/") {
		if k != seq && !strings.Contains(k, fmt.Sprintf("/%020d", g2.Number)) {
			t.Fatalf("key %s outlived the save after it", k)
		}
	}
	if tag, _ := loadTag(t, s, "sw"); tag != 2 {
		t.Fatalf("loaded tag %d", tag)
	}
}
