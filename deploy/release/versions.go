package release

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// VersionsFile is the file, at the repository's root, that holds the release
// version and names the published modules.
const VersionsFile = "versions"

// GoDirective is the go directive of every go.mod and of go.work: the form
// go mod tidy writes.
const GoDirective = "1.26.0"

// ErrVersions reports a versions file that cannot be read.
var ErrVersions = errors.New("release: bad versions file")

// Versions is the content of the versions file.
type Versions struct {
	// Version is the release version of every published module.
	Version string
	// Modules are the published modules, by folder relative to the root
	// ("." is the core).
	Modules []string
}

// Module is a module of the repository.
type Module struct {
	Dir  string // relative to the root, slash-separated; "." for the root
	Path string // module path
}

var releaseVersion = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// CheckVersion returns an error unless v is a release version the published
// modules can carry under their current paths (major version 0 or 1: v2 and
// up would need /v2 module paths).
func CheckVersion(v string) error {
	if !releaseVersion.MatchString(v) || !semver.IsValid(v) {
		return fmt.Errorf("%w: version %q is not of the form vMAJOR.MINOR.PATCH", ErrVersions, v)
	}
	if m := semver.Major(v); m != "v0" && m != "v1" {
		return fmt.Errorf("%w: version %q: major version %s needs module paths ending in /%s", ErrVersions, v, m, m)
	}
	return nil
}

// ReadVersions reads root's versions file.
func ReadVersions(root string) (Versions, error) {
	b, err := os.ReadFile(filepath.Join(root, VersionsFile))
	if err != nil {
		return Versions{}, fmt.Errorf("%w: %v", ErrVersions, err)
	}
	var v Versions
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch {
		case len(f) == 2 && f[0] == "version" && v.Version == "":
			v.Version = f[1]
		case len(f) == 2 && f[0] == "module":
			v.Modules = append(v.Modules, filepath.ToSlash(filepath.Clean(f[1])))
		default:
			return Versions{}, fmt.Errorf("%w: line %d: %q (want \"version vX.Y.Z\" once, or \"module folder\")", ErrVersions, n, sc.Text())
		}
	}
	if err := CheckVersion(v.Version); err != nil {
		return Versions{}, err
	}
	if len(v.Modules) == 0 {
		return Versions{}, fmt.Errorf("%w: no module lines", ErrVersions)
	}
	return v, nil
}

// setVersion rewrites the version line of root's versions file.
func setVersion(root, version string) error {
	name := filepath.Join(root, VersionsFile)
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "version" {
			lines[i] = "version " + version + "\n"
			return os.WriteFile(name, []byte(strings.Join(lines, "")), 0o644)
		}
	}
	return fmt.Errorf("%w: no version line", ErrVersions)
}

// Published returns the published modules with their paths, read from
// their go.mod files.
func (v Versions) Published(root string) ([]Module, error) {
	mods := make([]Module, 0, len(v.Modules))
	for _, dir := range v.Modules {
		path, err := modulePath(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		mods = append(mods, Module{Dir: dir, Path: path})
	}
	return mods, nil
}

func modulePath(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	p := modfile.ModulePath(b)
	if p == "" {
		return "", fmt.Errorf("%s: no module line", gomod)
	}
	return p, nil
}
