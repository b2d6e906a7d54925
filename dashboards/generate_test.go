package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func generated(t *testing.T) []File {
	t.Helper()
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func generatedFile(t *testing.T, path string) []byte {
	t.Helper()
	for _, f := range generated(t) {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("%s is not generated", path)
	return nil
}

// The committed files are what the generator writes now.
func TestCommittedFilesMatchGenerator(t *testing.T) {
	for _, f := range generated(t) {
		got, err := os.ReadFile(filepath.FromSlash(f.Path))
		if err != nil {
			t.Errorf("%s: %v (run go run ./cmd/gen)", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from the generator's output at line %d (run go run ./cmd/gen)",
				f.Path, firstDifferentLine(got, f.Data))
		}
	}
}

// No generated file is left behind by a rename: every dashboard and rule
// file in the generated folders is one the generator writes.
func TestNoStaleGeneratedFiles(t *testing.T) {
	want := map[string]bool{}
	for _, f := range generated(t) {
		want[f.Path] = true
	}
	for _, pattern := range []string{"grafana/*.json", "prometheus/*.yaml", "prometheus/testdata/*.yaml"} {
		paths, err := filepath.Glob(filepath.FromSlash(pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if p = filepath.ToSlash(p); !want[p] {
				t.Errorf("%s is not written by the generator: delete it or generate it", p)
			}
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generated(t), generated(t)
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s differs between two runs of the generator at line %d",
				a[i].Path, firstDifferentLine(a[i].Data, b[i].Data))
		}
	}
}

func firstDifferentLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
