package release

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// BuildProxy writes into dir a Go module proxy (the layout GOPROXY=file://dir
// reads: <path>/@v/list, .info, .mod, .zip) serving every published module
// of the repository at root at the release version, zipped from the working
// tree (see repoFiles) with golang.org/x/mod/zip, which checks what the go
// command checks of a module zip. It returns the versions and the modules
// it served.
func BuildProxy(root, dir string) (Versions, []Module, error) {
	v, err := ReadVersions(root)
	if err != nil {
		return v, nil, err
	}
	mods, err := v.Published(root)
	if err != nil {
		return v, nil, err
	}
	files, err := repoFiles(root)
	if err != nil {
		return v, nil, err
	}
	moduleDirs := goModDirs(files)
	for _, m := range mods {
		if err := serve(root, dir, m, v.Version, inModule(files, m.Dir, moduleDirs)); err != nil {
			return v, nil, fmt.Errorf("release: serving %s %s: %w", m.Path, v.Version, err)
		}
	}
	return v, mods, nil
}

func serve(root, dir string, m Module, version string, files []string) error {
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	at := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	mv := module.Version{Path: m.Path, Version: version}
	zf, err := os.Create(filepath.Join(at, version+".zip"))
	if err != nil {
		return err
	}
	zfiles := make([]modzip.File, len(files))
	for i, f := range files {
		zfiles[i] = treeFile{root: root, rel: f, inModule: strings.TrimPrefix(f, m.Dir+"/")}
	}
	if err := modzip.Create(zf, mv, zfiles); err != nil {
		zf.Close()
		return err
	}
	if err := zf.Close(); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(root, m.Dir, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(at, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(at, version+".info"), info, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(at, "list"), []byte(version+"\n"), 0o644)
}

// treeFile is a file of the working tree as modzip.Create wants it: its
// path inside the module, and its content.
type treeFile struct{ root, rel, inModule string }

func (f treeFile) Path() string { return f.inModule }

func (f treeFile) Lstat() (os.FileInfo, error) {
	return os.Lstat(filepath.Join(f.root, filepath.FromSlash(f.rel)))
}

func (f treeFile) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.root, filepath.FromSlash(f.rel)))
}
