package release

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// Bump sets the release version to version: it rewrites the versions file
// and, in every go.mod of the repository, each require of a published
// module. It returns the go.mod files it changed.
func Bump(root, version string) ([]string, error) {
	if err := CheckVersion(version); err != nil {
		return nil, err
	}
	if err := setVersion(root, version); err != nil {
		return nil, err
	}
	r, err := load(root)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, m := range r.mods {
		edited := false
		for _, req := range m.file.Require {
			if r.published[req.Mod.Path] && req.Mod.Version != version {
				if err := m.file.AddRequire(req.Mod.Path, version); err != nil {
					return changed, err
				}
				edited = true
			}
		}
		if !edited {
			continue
		}
		m.file.Cleanup()
		b, err := m.file.Format()
		if err != nil {
			return changed, err
		}
		if err := os.WriteFile(m.name, b, 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, m.name)
	}
	for _, w := range r.works {
		if !w.pinReplaces(r) {
			continue
		}
		if err := os.WriteFile(w.name, modfile.Format(w.file.Syntax), 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, w.name)
	}
	return changed, nil
}

// pinReplaces makes w's replace directives those that wantReplaces gives,
// and reports whether that changed them.
func (w gowork) pinReplaces(r *repo) bool {
	want := w.wantReplaces(r)
	if sameReplaces(want, w.replaces()) {
		return false
	}
	for _, rep := range slices.Clone(w.file.Replace) {
		_ = w.file.DropReplace(rep.Old.Path, rep.Old.Version)
	}
	for _, rep := range want {
		_ = w.file.AddReplace(rep.Old.Path, rep.Old.Version, rep.New.Path, "")
	}
	w.file.Cleanup()
	return true
}

// wantReplaces are the replace directives a go.work needs: each published
// module it uses, at the release version, replaced by its folder. A module
// a workspace uses is one of its roots, but the versions its siblings
// require stay in the module graph, and without these the go command would
// fetch their go.mod files from a proxy that has never heard of them.
func (w gowork) wantReplaces(r *repo) []*modfile.Replace {
	var want []*modfile.Replace
	wdir := path.Dir(w.rel)
	for _, u := range w.file.Use {
		dir := path.Join(wdir, filepath.ToSlash(u.Path))
		for _, m := range r.mods {
			if m.dir == dir && r.published[m.path] {
				want = append(want, &modfile.Replace{
					Old: module.Version{Path: m.path, Version: r.versions.Version},
					New: module.Version{Path: u.Path},
				})
			}
		}
	}
	slices.SortFunc(want, func(a, b *modfile.Replace) int { return strings.Compare(a.Old.Path, b.Old.Path) })
	return want
}

func (w gowork) replaces() []*modfile.Replace {
	have := slices.Clone(w.file.Replace)
	slices.SortFunc(have, func(a, b *modfile.Replace) int { return strings.Compare(a.Old.Path, b.Old.Path) })
	return have
}

func sameReplaces(a, b []*modfile.Replace) bool {
	return slices.EqualFunc(a, b, func(x, y *modfile.Replace) bool {
		return x.Old == y.Old && x.New == y.New
	})
}

// Check returns every way in which the repository's go.mod and go.work files
// stray from the versions file: a published module required at another
// version, a replace directive of one of them (or any replace or exclude in
// a published module, which go install refuses), a published module that
// requires one that is not, a go directive other than [GoDirective], or a
// module that no go.work uses.
func Check(root string) error {
	r, err := load(root)
	if err != nil {
		return err
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	used := map[string][]string{}
	for _, w := range r.works {
		if w.file.Go == nil || w.file.Go.Version != GoDirective {
			bad(w.name, "go directive must be %s", GoDirective)
		}
		wdir := path.Dir(w.rel)
		for _, u := range w.file.Use {
			used[path.Join(wdir, filepath.ToSlash(u.Path))] = append(used[path.Join(wdir, filepath.ToSlash(u.Path))], w.rel)
		}
		if !sameReplaces(w.wantReplaces(r), w.replaces()) {
			bad(w.name, "replace directives must map each published module it uses, at %s, to its folder (make bump VERSION=%s writes them)", r.versions.Version, r.versions.Version)
		}
	}
	for _, m := range r.mods {
		if m.file.Go == nil || m.file.Go.Version != GoDirective {
			bad(m.name, "go directive must be %s", GoDirective)
		}
		isPublished := r.published[m.path]
		for _, req := range m.file.Require {
			switch {
			case r.published[req.Mod.Path] && req.Mod.Version != r.versions.Version:
				bad(m.name, "requires %s %s, want the release version %s (make bump VERSION=%s)", req.Mod.Path, req.Mod.Version, r.versions.Version, r.versions.Version)
			case r.ours[req.Mod.Path] && !r.published[req.Mod.Path]:
				bad(m.name, "requires %s, a module that is not published", req.Mod.Path)
			}
		}
		for _, rep := range m.file.Replace {
			if isPublished || r.ours[rep.Old.Path] {
				bad(m.name, "replace %s: a consumer ignores it and go install refuses it; go.work serves local development", rep.Old.Path)
			}
		}
		if isPublished && len(m.file.Exclude) > 0 {
			bad(m.name, "exclude directives: go install refuses them in a published module")
		}
		if len(used[m.dir]) == 0 {
			bad(m.name, "no go.work uses it: add it to the repository's go.work (or deploy's)")
		}
	}
	for _, dir := range r.versions.Modules {
		if !slices.ContainsFunc(r.mods, func(m gomod) bool { return m.dir == dir }) {
			bad(VersionsFile, "module %s has no go.mod", dir)
		}
	}
	return errors.Join(errs...)
}

type gomod struct {
	name, dir, path string
	file            *modfile.File
}

type gowork struct {
	name, rel string
	file      *modfile.WorkFile
}

type repo struct {
	versions  Versions
	mods      []gomod
	works     []gowork
	published map[string]bool // by module path
	ours      map[string]bool // every module of the repository, by path
}

func load(root string) (*repo, error) {
	v, err := ReadVersions(root)
	if err != nil {
		return nil, err
	}
	files, err := repoFiles(root)
	if err != nil {
		return nil, err
	}
	r := &repo{versions: v, published: map[string]bool{}, ours: map[string]bool{}}
	for _, dir := range goModDirs(files) {
		name := filepath.Join(root, dir, "go.mod")
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(name, b, nil)
		if err != nil {
			return nil, err
		}
		if f.Module == nil {
			return nil, fmt.Errorf("%s: no module line", name)
		}
		r.mods = append(r.mods, gomod{name: name, dir: dir, path: f.Module.Mod.Path, file: f})
		r.ours[f.Module.Mod.Path] = true
		if slices.Contains(v.Modules, dir) {
			r.published[f.Module.Mod.Path] = true
		}
	}
	for _, rel := range files {
		if path.Base(rel) != "go.work" {
			continue
		}
		name := filepath.Join(root, rel)
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := modfile.ParseWork(name, b, nil)
		if err != nil {
			return nil, err
		}
		r.works = append(r.works, gowork{name: name, rel: rel, file: f})
	}
	return r, nil
}
