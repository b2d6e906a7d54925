package persist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
)

// harness is a store under test, and the means to look at and damage what
// it stored behind its back.
type harness struct {
	store persist.Store
	// flipStream flips a bit of byte off of the stream of a generation.
	flipStream func(t *testing.T, name string, gen uint64, off int64)
	// metadata returns the generation's metadata (file header, manifest)
	// and a function that stores a changed copy in its place.
	metadata func(t *testing.T, name string, gen uint64) ([]byte, func([]byte))
	// dropEnd removes the end of a generation's stream: the last byte of
	// the file, the last chunk.
	dropEnd func(t *testing.T, name string, gen uint64)
	// stored returns the generations of which anything is stored, saved
	// or not: files, temporary files, keys.
	stored func(t *testing.T, name string) []uint64
}

// opener returns a new, empty store that keeps keep generations.
type opener func(t *testing.T, keep int) *harness

type generationLoader interface {
	LoadGeneration(ctx context.Context, name string, number uint64, dst io.ReaderFrom) (persist.Generation, error)
}

// testStore runs the tests that every store must pass.
func testStore(t *testing.T, open opener) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		h := open(t, 3)
		for tag, n := range []int{0, 1, 5000} {
			name := fmt.Sprintf("rt-%d", n)
			g := save(t, h.store, name, tag, n)
			m := sentinel()
			res, err := h.store.Load(ctx, name, m)
			if err != nil {
				t.Fatalf("%d entries: %v", n, err)
			}
			if res.Generation.Number != g.Number || res.Generation.Size != g.Size || !res.Generation.Time.Equal(g.Time) || len(res.Skipped) != 0 {
				t.Fatalf("%d entries: loaded %+v, saved %+v", n, res, g)
			}
			want := n + 2 // the sentinels, one of them overwritten, and the tag
			if n == 0 {
				want = 3
			}
			if v, _ := m.Load("sentinel"); v != -1 || m.Len() != want {
				t.Fatalf("%d entries: a load into a map holding other keys left %d entries", n, m.Len())
			}
			m.Delete("sentinel")
			if n == 0 {
				m.Delete("k-0")
			}
			if got := tagOf(t, m); got != tag || m.Len() != n+1 {
				t.Fatalf("%d entries: loaded tag %d with %d entries", n, got, m.Len())
			}
		}
		if _, err := h.store.Load(ctx, "never-saved", sentinel()); !errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("load of a name never saved: %v, want ErrNotFound", err)
		}
		for _, bad := range []string{"", ".hidden", "a/b", "a{b}", "späti", string(make([]byte, persist.MaxNameLen+1))} {
			if _, err := persist.SaveMap(ctx, h.store, bad, tagged(1, 1)); err == nil {
				t.Fatalf("Save accepted the name %q", bad)
			}
			if _, err := h.store.List(ctx, bad); err == nil {
				t.Fatalf("List accepted the name %q", bad)
			}
		}
	})

	t.Run("KeepsTheLastGenerations", func(t *testing.T) {
		h := open(t, 3)
		numbers := map[int]uint64{}
		for tag := 1; tag <= 5; tag++ {
			numbers[tag] = save(t, h.store, "keep", tag, 300).Number
		}
		want := []uint64{numbers[5], numbers[4], numbers[3]}
		if got := generations(t, h.store, "keep"); !slices.Equal(got, want) {
			t.Fatalf("generations %v, want %v", got, want)
		}
		if got := h.stored(t, "keep"); !slices.Equal(got, []uint64{numbers[3], numbers[4], numbers[5]}) {
			t.Fatalf("data of generations %v stored, want only the kept %v", got, want)
		}
		if tag, _ := loadTag(t, h.store, "keep"); tag != 5 {
			t.Fatalf("loaded tag %d, want the newest, 5", tag)
		}
		for tag := 3; tag <= 5; tag++ {
			m := mapx.New[string, int]()
			if _, err := h.store.(generationLoader).LoadGeneration(ctx, "keep", numbers[tag], m); err != nil {
				t.Fatal(err)
			}
			if got := tagOf(t, m); got != tag {
				t.Fatalf("generation %d holds tag %d, want %d", numbers[tag], got, tag)
			}
		}
		if _, err := h.store.(generationLoader).LoadGeneration(ctx, "keep", numbers[1], sentinel()); !errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("LoadGeneration of a dropped generation: %v", err)
		}
	})

	t.Run("DamagedStreamIsRefusedWhole", func(t *testing.T) {
		h := open(t, 3)
		g := save(t, h.store, "dmg", 1, 3000)
		for _, off := range []int64{0, 1, 9, g.Size / 3, g.Size / 2, g.Size - 5, g.Size - 1} {
			h.flipStream(t, "dmg", g.Number, off)
			err := mustRefuse(t, h.store, "dmg", fmt.Sprintf("byte %d of %d flipped", off, g.Size))
			var ge *persist.GenerationError
			if !errors.As(err, &ge) || ge.Number != g.Number || ge.Name != "dmg" {
				t.Fatalf("the error does not name the generation: %v", err)
			}
			h.flipStream(t, "dmg", g.Number, off) // repaired, it loads again
			if tag, _ := loadTag(t, h.store, "dmg"); tag != 1 {
				t.Fatalf("repaired generation holds tag %d", tag)
			}
		}
	})

	t.Run("DamagedMetadataIsRefusedWhole", func(t *testing.T) {
		h := open(t, 3)
		g := save(t, h.store, "meta", 1, 3000)
		meta, _ := h.metadata(t, "meta", g.Number)
		for off := range meta {
			data, put := h.metadata(t, "meta", g.Number)
			data[off] ^= 0x80
			put(data)
			mustRefuse(t, h.store, "meta", fmt.Sprintf("metadata byte %d of %d flipped", off, len(meta)))
			gens, err := h.store.List(ctx, "meta")
			if err != nil || len(gens) != 1 || !errors.Is(gens[0].Err, mapx.ErrCorrupt) {
				t.Fatalf("List of a generation with damaged metadata: %+v, %v", gens, err)
			}
			data[off] ^= 0x80
			put(data)
		}
		if tag, _ := loadTag(t, h.store, "meta"); tag != 1 {
			t.Fatalf("repaired generation holds tag %d", tag)
		}
	})

	t.Run("TruncatedIsRefusedWhole", func(t *testing.T) {
		h := open(t, 3)
		g := save(t, h.store, "short", 1, 3000)
		h.dropEnd(t, "short", g.Number)
		mustRefuse(t, h.store, "short", "end of the stream removed")
	})

	t.Run("FallsBackToTheNewestThatVerifies", func(t *testing.T) {
		h := open(t, 3)
		g1 := save(t, h.store, "fb", 1, 2000)
		g2 := save(t, h.store, "fb", 2, 2000)
		g3 := save(t, h.store, "fb", 3, 2000)
		h.flipStream(t, "fb", g3.Number, g3.Size/2)
		meta, put := h.metadata(t, "fb", g2.Number)
		meta[len(meta)-1] ^= 1
		put(meta)
		tag, res := loadTag(t, h.store, "fb")
		if tag != 1 || res.Generation.Number != g1.Number {
			t.Fatalf("loaded tag %d (generation %d), want the oldest, the only one that verifies", tag, res.Generation.Number)
		}
		if len(res.Skipped) != 2 || res.Skipped[0].Number != g3.Number || res.Skipped[1].Number != g2.Number {
			t.Fatalf("skipped %v, want generations %d and %d", res.Skipped, g3.Number, g2.Number)
		}
		for _, e := range res.Skipped {
			if !errors.Is(e, mapx.ErrCorrupt) {
				t.Fatalf("skipped for %v, which does not match mapx.ErrCorrupt", e)
			}
		}
		h.flipStream(t, "fb", g1.Number, 0)
		err := mustRefuse(t, h.store, "fb", "every generation damaged")
		var ge *persist.GenerationError
		if !errors.As(err, &ge) {
			t.Fatalf("the error names no generation: %v", err)
		}
	})

	t.Run("OnlyDamageMakesLoadFallBack", func(t *testing.T) {
		h := open(t, 3)
		save(t, h.store, "stop", 1, 3000)
		save(t, h.store, "stop", 2, 3000)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		dst := &afterFirstRead{m: sentinel(), f: cancel}
		res, err := h.store.Load(cctx, "stop", dst)
		if !errors.Is(err, context.Canceled) || errors.Is(err, mapx.ErrCorrupt) || len(res.Skipped) != 0 {
			t.Fatalf("load cancelled while reading: %v (skipped %v), want the context's error and no fallback", err, res.Skipped)
		}
		untouched(t, dst.m, "a cancelled load")
	})

	t.Run("GenerationDroppedWhileLoading", func(t *testing.T) {
		// A load gets a whole generation, the one it began to read or a
		// newer one, though saves drop the one it reads.
		h := open(t, 1)
		save(t, h.store, "drop", 1, 5000)
		dst := &afterFirstRead{m: mapx.New[string, int](), f: func() {
			save(t, h.store, "drop", 2, 5000)
			save(t, h.store, "drop", 3, 5000)
		}}
		res, err := h.store.Load(ctx, "drop", dst)
		if err != nil || len(res.Skipped) != 0 {
			t.Fatalf("load: %v (skipped %v)", err, res.Skipped)
		}
		if tag := tagOf(t, dst.m); tag != 1 && tag != 3 {
			t.Fatalf("loaded tag %d", tag)
		}
	})

	t.Run("FailedSaveChangesNothing", func(t *testing.T) {
		h := open(t, 3)
		g := save(t, h.store, "fail", 1, 2000)
		data := snapshotBytes(t, tagged(2, 20000))
		check := func(what string, err, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Fatalf("%s: Save returned %v, want %v", what, err, want)
			}
			if got := generations(t, h.store, "fail"); !slices.Equal(got, []uint64{g.Number}) {
				t.Fatalf("%s: generations %v after a failed save, want %v", what, got, g.Number)
			}
			if got := h.stored(t, "fail"); !slices.Equal(got, []uint64{g.Number}) {
				t.Fatalf("%s: a failed save left data behind: generations %v stored", what, got)
			}
			if tag, _ := loadTag(t, h.store, "fail"); tag != 1 {
				t.Fatalf("%s: loaded tag %d after a failed save", what, tag)
			}
		}
		_, err := h.store.Save(ctx, "fail", failingSource{data})
		check("failing source", err, errSource)
		cctx, cancel := context.WithCancel(ctx)
		_, err = h.store.Save(cctx, "fail", cancellingSource{data, cancel})
		check("context cancelled", err, context.Canceled)
		_, err = persist.SaveMap(cctx, h.store, "fail", tagged(3, 10))
		check("context done before", err, context.Canceled)
		func() {
			defer func() {
				if r := recover(); r != errSource {
					t.Fatalf("a panic of the source gave %v", r)
				}
			}()
			h.store.Save(ctx, "fail", probe{data, func() { panic(errSource) }})
		}()
		check("source panicked", errSource, errSource)
		if save(t, h.store, "fail", 4, 10).Number <= g.Number {
			t.Fatal("a save after failed ones did not get a later number")
		}
	})

	t.Run("AnyWriterToAndReaderFrom", func(t *testing.T) {
		h := open(t, 3)
		for _, data := range [][]byte{nil, {42}, bytes.Repeat([]byte("0123456789abcdef"), 3000)} {
			g, err := h.store.Save(ctx, "raw", bytes.NewReader(data))
			if err != nil || g.Size != int64(len(data)) {
				t.Fatalf("save of %d bytes: %+v, %v", len(data), g, err)
			}
			var got bytes.Buffer
			if _, err := h.store.Load(ctx, "raw", &got); err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("load of %d bytes: got %d bytes, %v", len(data), got.Len(), err)
			}
		}
		// A destination that applies what it reads at once never reads
		// the whole of a damaged generation.
		g := save(t, h.store, "raw2", 1, 3000)
		h.flipStream(t, "raw2", g.Number, g.Size/2)
		var got bytes.Buffer
		if _, err := h.store.Load(ctx, "raw2", &got); !errors.Is(err, mapx.ErrCorrupt) || int64(got.Len()) >= g.Size {
			t.Fatalf("a damaged generation of %d bytes gave %d bytes (%v)", g.Size, got.Len(), err)
		}
	})

	t.Run("LoadsNeverMixGenerations", func(t *testing.T) {
		// Loads run while saves switch generations and drop old ones:
		// each load gets one whole generation, never older than the last.
		h := open(t, 2)
		save(t, h.store, "mix", 0, 2000)
		const saves = 12
		errc := make(chan error, 1)
		go func() {
			defer close(errc)
			for tag := 1; tag <= saves; tag++ {
				if _, err := persist.SaveMap(ctx, h.store, "mix", tagged(tag, 2000)); err != nil {
					errc <- err
					return
				}
			}
		}()
		last, loads := 0, 0
		for done := false; !done; loads++ {
			select {
			case err, open := <-errc:
				if err != nil {
					t.Fatal(err)
				}
				done = !open
			default:
			}
			tag, res := loadTag(t, h.store, "mix")
			if tag < last || len(res.Skipped) != 0 {
				t.Fatalf("load %d got tag %d after %d (skipped %v)", loads, tag, last, res.Skipped)
			}
			last = tag
		}
		if last != saves {
			t.Fatalf("the last load got tag %d, want %d", last, saves)
		}
	})
}

// afterFirstRead reads into m, and calls f once, after its first read.
type afterFirstRead struct {
	m *mapx.Map[string, int]
	f func()
}

func (a *afterFirstRead) ReadFrom(r io.Reader) (int64, error) {
	first := make([]byte, 1)
	if _, err := r.Read(first); err != nil {
		return 0, err
	}
	if a.f != nil {
		a.f()
		a.f = nil
	}
	return a.m.ReadFrom(io.MultiReader(bytes.NewReader(first), r))
}
