package release

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Env returns the environment in which the go command meets the published
// modules as a consumer does, from the proxy in proxyDir: no workspace
// (GOWORK=off), the module cache in modCache (a fresh one, so that no copy
// of an earlier build of the same version is reused), the proxy first, then
// the developer's own module cache as a second proxy (third-party modules
// come from there without the network when they can) and then the usual
// GOPROXY; and the checksum database consulted for every module but ours
// (prefix), which it has never seen.
func Env(proxyDir, modCache, prefix string) ([]string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("go env GOMODCACHE GOPROXY: %q", out)
	}
	proxies := []string{fileURL(proxyDir)}
	if lines[0] != "" {
		proxies = append(proxies, fileURL(filepath.Join(lines[0], "cache", "download")))
	}
	if lines[1] != "" && lines[1] != "off" {
		proxies = append(proxies, lines[1])
	}
	env := []string{}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOWORK", "GOFLAGS", "GOPROXY", "GOMODCACHE", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GONOPROXY", "GOTOOLCHAIN":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY="+strings.Join(proxies, ","),
		"GOMODCACHE="+modCache,
		"GONOSUMDB="+prefix,
		"GOTOOLCHAIN=local",
	), nil
}

func fileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "file://" + filepath.ToSlash(abs)
}
