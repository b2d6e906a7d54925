package persist_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
)

func genPath(dir, name string, gen uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%020d.mapx", name, gen))
}

func flipFileByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// storedFiles returns the generations of name that have a file or a
// temporary file in dir.
func storedFiles(t *testing.T, dir, name string) []uint64 {
	t.Helper()
	re := regexp.MustCompile(`^(?:` + regexp.QuoteMeta(name) + `\.(\d{20})\.mapx|\.` + regexp.QuoteMeta(name) + `\.(\d{20})\.tmp-.*)$`)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var gens []uint64
	for _, e := range entries {
		if m := re.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.ParseUint(m[1]+m[2], 10, 64)
			gens = append(gens, n)
		}
	}
	slices.Sort(gens)
	return slices.Compact(gens)
}

func openFile(t *testing.T, keep int) *harness {
	dir := t.TempDir()
	s, err := persist.NewFileStore(dir, persist.WithKeep(keep))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		store: s,
		flipStream: func(t *testing.T, name string, gen uint64, off int64) {
			flipFileByte(t, genPath(dir, name, gen), persist.FileHeaderLen+off)
		},
		metadata: func(t *testing.T, name string, gen uint64) ([]byte, func([]byte)) {
			path := genPath(dir, name, gen)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return data[:persist.FileHeaderLen], func(head []byte) {
				if err := os.WriteFile(path, append(head, data[persist.FileHeaderLen:]...), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		},
		dropEnd: func(t *testing.T, name string, gen uint64) {
			path := genPath(dir, name, gen)
			st, err := os.Stat(path)
			if err == nil {
				err = os.Truncate(path, st.Size()-1)
			}
			if err != nil {
				t.Fatal(err)
			}
		},
		stored: func(t *testing.T, name string) []uint64 { return storedFiles(t, dir, name) },
	}
}

func TestFileStore(t *testing.T) { testStore(t, openFile) }

// A generation's file is the header, then the stream exactly as
// Snapshot.WriteTo wrote it: mapx reads it without this package.
func TestFileStoreFileFormat(t *testing.T) {
	dir := t.TempDir()
	s, err := persist.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := tagged(7, 500)
	g := save(t, s, "fmt", 7, 500)
	path := genPath(dir, "fmt", g.Number)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != persist.FileHeaderLen+g.Size {
		t.Fatalf("file mode %v, size %d; want 0600 and %d", st.Mode().Perm(), st.Size(), persist.FileHeaderLen+g.Size)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("MAPXGEN1")) {
		t.Fatalf("the file starts with %q", data[:8])
	}
	m := mapx.New[string, int]()
	if n, err := m.ReadFrom(bytes.NewReader(data[persist.FileHeaderLen:])); err != nil || n != g.Size {
		t.Fatalf("mapx read %d of %d bytes of the stream: %v", n, g.Size, err)
	}
	if !maps.Equal(maps.Collect(m.All()), maps.Collect(src.All())) {
		t.Fatal("the stream in the file is not the map saved")
	}
}

// Files that are not generations of a name are not taken for ones; the
// temporary files of the name's interrupted saves go at its next save, and
// nothing else does.
func TestFileStoreIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := persist.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := save(t, s, "s", 1, 100)
	valid, err := os.ReadFile(genPath(dir, "s", g.Number))
	if err != nil {
		t.Fatal(err)
	}
	temp := ".s.00000000000000000009.tmp-123"
	others := []string{
		"s.00000000000000000099.mapx.tmp",
		"s.123.mapx",
		"s.0000000000000000009x.mapx",
		".s.00000000000000000008.tmp",
		".other.00000000000000000009.tmp-1",
		"other.00000000000000000001.mapx",
		"s.x.00000000000000000042.mapx", // of the name "s.x"
	}
	for _, f := range append([]string{temp}, others...) {
		if err := os.WriteFile(filepath.Join(dir, f), valid, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(genPath(dir, "s", 50), 0o700); err != nil { // a directory with a generation's name
		t.Fatal(err)
	}
	if got := generations(t, s, "s"); !slices.Equal(got, []uint64{g.Number}) {
		t.Fatalf("generations %v, want only %d", got, g.Number)
	}
	g2 := save(t, s, "s", 2, 100)
	if g2.Number != g.Number+1 {
		t.Fatalf("the next generation is %d, want %d", g2.Number, g.Number+1)
	}
	if _, err := os.Stat(filepath.Join(dir, temp)); !os.IsNotExist(err) {
		t.Fatalf("the temporary file of an interrupted save is still there: %v", err)
	}
	for _, f := range others {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("a save removed %s, which is not its own: %v", f, err)
		}
	}
	if tag, _ := loadTag(t, s, "s"); tag != 2 {
		t.Fatalf("loaded tag %d", tag)
	}
	if _, err := s.Load(context.Background(), "other", sentinel()); err != nil {
		t.Fatalf("the other name's generation: %v", err)
	}
}
