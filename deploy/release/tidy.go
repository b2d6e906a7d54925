package release

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Tidy runs go mod tidy in every module of the repository as a consumer
// would resolve it (see [Env]): the published modules first, in the order of
// the versions file, each against a proxy rebuilt with the ones tidied before
// it, then the others. Within the workspace go mod tidy cannot resolve the
// siblings at the release version, which no public proxy serves yet. The
// go.sum lines of our own modules are dropped afterwards: go.work serves
// them, and their checksums would change with every edit.
func Tidy(root string, log func(string)) error {
	r, err := load(root)
	if err != nil {
		return err
	}
	prefix := modulePrefix(r)
	tmp, err := os.MkdirTemp("", "mapx-tidy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	order := slices.Clone(r.versions.Modules)
	for _, m := range r.mods {
		if !slices.Contains(order, m.dir) {
			order = append(order, m.dir)
		}
	}
	for i, dir := range order {
		proxy := filepath.Join(tmp, fmt.Sprintf("proxy%d", i))
		if _, _, err := BuildProxy(root, proxy); err != nil {
			return err
		}
		env, err := Env(proxy, filepath.Join(tmp, fmt.Sprintf("modcache%d", i)), prefix)
		if err != nil {
			return err
		}
		log("go mod tidy: " + dir)
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir = filepath.Join(root, dir)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %v\n%s", dir, err, out)
		}
		if err := dropSums(filepath.Join(root, dir, "go.sum"), prefix); err != nil {
			return err
		}
	}
	return nil
}

// modulePrefix is the path of the root module, which every other module's
// path starts with.
func modulePrefix(r *repo) string {
	for _, m := range r.mods {
		if m.dir == "." {
			return m.path
		}
	}
	return ""
}

func dropSums(name, prefix string) error {
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		if mod, _, _ := strings.Cut(l, " "); mod == prefix || strings.HasPrefix(mod, prefix+"/") {
			continue
		}
		out.WriteString(l + "\n")
	}
	if out.Len() == 0 {
		return os.Remove(name)
	}
	return os.WriteFile(name, out.Bytes(), 0o644)
}
