package release

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// repoFiles returns the files of the working tree under root, slash-separated
// and relative to it: what git tracks plus what it would track (untracked
// files not ignored), so that uncommitted work is released as it stands and
// build output (.bin/) is not. Outside a git checkout it walks the tree,
// leaving out hidden folders.
func repoFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, f := range bytes.Split(out, []byte{0}) {
			if len(f) == 0 {
				continue
			}
			// A file deleted but not yet staged is still listed as cached.
			if _, err := os.Lstat(filepath.Join(root, string(f))); err == nil {
				files = append(files, string(f))
			}
		}
		slices.Sort(files)
		return slices.Compact(files), nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// goModFiles returns the go.mod files of the repository (testdata left out),
// as folders relative to root.
func goModDirs(files []string) []string {
	var dirs []string
	for _, f := range files {
		if path.Base(f) == "go.mod" && !slices.Contains(strings.Split(f, "/"), "testdata") {
			dirs = append(dirs, path.Dir(f))
		}
	}
	return dirs
}

// inModule returns the files of the module in folder dir: those under it,
// less those under a nested module's folder. Paths stay relative to the
// root.
func inModule(files []string, dir string, moduleDirs []string) []string {
	var out []string
	for _, f := range files {
		if under(f, dir) && !nested(f, dir, moduleDirs) {
			out = append(out, f)
		}
	}
	return out
}

func under(f, dir string) bool {
	return dir == "." || strings.HasPrefix(f, dir+"/")
}

func nested(f, dir string, moduleDirs []string) bool {
	for _, d := range moduleDirs {
		if d != dir && under(d, dir) && under(f, d) {
			return true
		}
	}
	return false
}
