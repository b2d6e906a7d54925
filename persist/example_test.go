package persist_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
)

func ExampleFileStore() {
	dir, err := os.MkdirTemp("", "persist-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := persist.NewFileStore(dir)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	m := mapx.New[string, int]()
	m.Store("apples", 3)
	m.Store("pears", 5)
	g, err := persist.SaveMap(ctx, store, "fruit", m)
	if err != nil {
		panic(err)
	}
	fmt.Println("saved generation", g.Number)

	restored := mapx.New[string, int]()
	res, err := store.Load(ctx, "fruit", restored)
	if err != nil {
		panic(err)
	}
	pears, _ := restored.Load("pears")
	fmt.Println("loaded generation", res.Generation.Number, "with", restored.Len(), "entries; pears:", pears)
	// Output:
	// saved generation 1
	// loaded generation 1 with 2 entries; pears: 5
}

// When the newest generation is damaged, Load falls back to the newest that
// verifies and tells what it skipped.
func ExampleFileStore_Load() {
	store, cleanup := tempStore()
	defer cleanup()
	ctx := context.Background()
	m := mapx.New[string, int]()
	for i := 1; i <= 2; i++ {
		m.Store("version", i)
		if _, err := persist.SaveMap(ctx, store, "config", m); err != nil {
			panic(err)
		}
	}

	// A bit flips in the newest generation's file.
	path := filepath.Join(store.Dir(), "config.00000000000000000002.mapx")
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		panic(err)
	}

	restored := mapx.New[string, int]()
	res, err := store.Load(ctx, "config", restored)
	if err != nil {
		panic(err)
	}
	version, _ := restored.Load("version")
	fmt.Println("loaded generation", res.Generation.Number, "with version", version)
	for _, skipped := range res.Skipped {
		fmt.Println("skipped generation", skipped.Number, "damaged:", errors.Is(skipped, mapx.ErrCorrupt))
	}
	// Output:
	// loaded generation 1 with version 1
	// skipped generation 2 damaged: true
}

func ExampleStartAutosave() {
	store, cleanup := tempStore()
	defer cleanup()
	ctx := context.Background()

	sessions := mapx.New[string, int]()
	if _, err := store.Load(ctx, "sessions", sessions); err != nil && !errors.Is(err, persist.ErrNotFound) {
		panic(err) // damaged beyond repair, or the store failed: do not start empty
	}
	saver := persist.StartAutosave(sessions, store, "sessions", time.Minute)

	sessions.Store("alice", 1) // serve...

	// On shutdown, Close saves once more.
	if err := saver.Close(ctx); err != nil {
		panic(err)
	}
	restored := mapx.New[string, int]()
	if _, err := store.Load(ctx, "sessions", restored); err != nil {
		panic(err)
	}
	v, ok := restored.Load("alice")
	fmt.Println("alice:", v, ok)
	// Output:
	// alice: 1 true
}

// tempStore returns a FileStore in a new temporary directory, and a
// function that removes it.
func tempStore() (*persist.FileStore, func()) {
	dir, err := os.MkdirTemp("", "persist-example")
	if err != nil {
		panic(err)
	}
	store, err := persist.NewFileStore(dir)
	if err != nil {
		panic(err)
	}
	return store, func() { os.RemoveAll(dir) }
}
