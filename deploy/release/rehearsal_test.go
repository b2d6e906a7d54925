package release

import (
	"bufio"
	"context"
	"fmt"
	"github.com/mapx-dev/mapx/internal/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// root is the repository's root.
const root = "../.."

// The release rehearsal: the published modules served at the release
// version from a proxy built from the working tree, and fetched by a fresh
// module outside the repository, with no go.work and no replace, the way a
// user meets them.
func TestReleaseRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("the rehearsal builds and fetches every published module")
	}
	start := time.Now()
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	v, mods, err := BuildProxy(root, proxy)
	if err != nil {
		t.Fatal(err)
	}
	prefix := mods[0].Path
	served := map[string]bool{}
	for _, m := range mods {
		served[m.Path] = true
	}

	// Every require of one of ours in a published module must be something
	// the proxy serves: a version that no proxy has fails every consumer.
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(root, m.Dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := modfile.Parse(m.Dir+"/go.mod", b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Require {
			if (r.Mod.Path == prefix || strings.HasPrefix(r.Mod.Path, prefix+"/")) && (!served[r.Mod.Path] || r.Mod.Version != v.Version) {
				t.Errorf("%s requires %s %s, which the release does not serve (it serves %s of the published modules)", m.Path, r.Mod.Path, r.Mod.Version, v.Version)
			}
		}
	}

	env, err := Env(proxy, filepath.Join(tmp, "modcache"), prefix)
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "GOBIN="+filepath.Join(tmp, "bin"))
	consumer := filepath.Join(tmp, "consumer")
	if err := os.MkdirAll(consumer, 0o755); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = consumer, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "init", "example.com/consumer")
	// The published modules' own go.sum lines, checked when they were
	// written: the checksum database is asked only about the rest.
	if err := os.WriteFile(filepath.Join(consumer, "go.sum"), publishedSums(t, mods), 0o644); err != nil {
		t.Fatal(err)
	}
	writeProgram(t, consumer, "readme", readmeProgram(t))
	writeProgram(t, consumer, "syncmap", syncMapProgram)
	for _, m := range mods {
		goCmd("get", m.Path+"@"+v.Version)
	}

	// The README's program: a map wrapped in one line, /metrics served
	// through exporters.Setup and scraped once.
	out := goCmd("run", "./readme")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^mapx_entries\{[^}]*mapx_name="sessions"[^}]*\} 1$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the README's program printed no line matching %s:\n%s", want, firstLines(out, 40))
		}
	}
	if out := goCmd("run", "./syncmap"); strings.TrimSpace(out) != "legacy sees 42; 1 entry" {
		t.Errorf("the sync.Map program printed %q", out)
	}

	// go install .../loadgen@version, which refuses a module with replace
	// directives, then a one-second run.
	var loadgen string
	for _, m := range mods {
		if strings.HasSuffix(m.Path, "/loadgen") {
			loadgen = m.Path
		}
	}
	if loadgen == "" {
		t.Fatal("no loadgen among the published modules")
	}
	goCmd("install", loadgen+"@"+v.Version)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, filepath.Join(tmp, "bin", "loadgen"), "-duration", "1s", "-keys", "1000", "-metrics-addr", testtool.FreeAddr(t), "-progress", "off")
	if b, err := run.CombinedOutput(); err != nil {
		t.Errorf("loadgen -duration 1s: %v\n%s", err, b)
	} else if !strings.Contains(string(b), "ops/s") && !strings.Contains(string(b), "throughput") {
		t.Errorf("loadgen's report has no throughput:\n%s", firstLines(string(b), 40))
	}

	// The consumer's build list holds our modules at the release version
	// only.
	list := goCmd("list", "-m", "all")
	ours := 0
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || (f[0] != prefix && !strings.HasPrefix(f[0], prefix+"/")) {
			continue
		}
		ours++
		if len(f) != 2 || f[1] != v.Version || !served[f[0]] {
			t.Errorf("go list -m all: %q, want only the published modules at %s", sc.Text(), v.Version)
		}
	}
	if ours != len(mods) {
		t.Errorf("go list -m all lists %d of our modules, want the %d published:\n%s", ours, len(mods), list)
	}
	t.Logf("rehearsal of %s: %d modules served, fetched, built and run in %v", v.Version, len(mods), time.Since(start).Round(time.Second))
}

// readmeProgram returns the Go program of README.md, the one block that
// declares package main, with its listen address turned into a free port so
// that it does not clash with a make demo running alongside.
func readmeProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, block := range strings.Split(string(b), "```go\n")[1:] {
		code, _, ok := strings.Cut(block, "```")
		if ok && strings.HasPrefix(code, "package main\n") {
			found = append(found, code)
		}
	}
	if len(found) != 1 {
		t.Fatalf("README.md has %d Go blocks with package main, want 1", len(found))
	}
	if !strings.Contains(found[0], `"127.0.0.1:9464"`) {
		t.Fatal(`the README's program no longer listens on "127.0.0.1:9464"; update the rehearsal`)
	}
	return strings.Replace(found[0], `"127.0.0.1:9464"`, `"127.0.0.1:0"`, 1)
}

const syncMapProgram = `package main

import (
	"fmt"
	"sync"

	"github.com/mapx-dev/mapx/instrumented"
)

func main() {
	var legacy sync.Map
	m := instrumented.WrapSyncMap(&legacy, instrumented.WithName("legacy"))
	defer m.Close()
	m.Store("answer", 42)
	v, _ := legacy.Load("answer")
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	fmt.Printf("legacy sees %v; %d entry\n", v, n)
}
`

func publishedSums(t *testing.T, mods []Module) []byte {
	t.Helper()
	var sums []byte
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(root, m.Dir, "go.sum"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		sums = append(sums, b...)
	}
	return sums
}

func writeProgram(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… (%d more bytes)", len(s)))
	}
	return strings.Join(lines, "\n")
}
