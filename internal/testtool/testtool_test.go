package testtool_test

import (
	"fmt"
	"net"
	"os/exec"
	"testing"

	"github.com/mapx-dev/mapx/internal/testtool"
)

// fakeT records what Path does instead of failing or skipping the test.
type fakeT struct {
	testing.TB
	fatal, skip bool
}

func (f *fakeT) Helper()               { f.TB.Helper() }
func (f *fakeT) Fatalf(string, ...any) { f.fatal = true }
func (f *fakeT) Skipf(string, ...any)  { f.skip = true }

func TestFound(t *testing.T) {
	want, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	if got := testtool.Path(t, "go", "golang"); got != want {
		t.Fatalf("Path(go) = %q, want %q", got, want)
	}
}

func TestMissingSkipsOrFailsUnderCI(t *testing.T) {
	const missing = "mapx-no-such-program"
	t.Setenv("CI", "")
	f := &fakeT{TB: t}
	testtool.Path(f, missing, "none")
	if !f.skip || f.fatal {
		t.Errorf("without CI: skip %v, fatal %v; want a skip", f.skip, f.fatal)
	}
	t.Setenv("CI", "true")
	f = &fakeT{TB: t}
	testtool.Path(f, missing, "none")
	if !f.fatal || f.skip {
		t.Errorf("with CI: skip %v, fatal %v; want a failure", f.skip, f.fatal)
	}
}

func TestFreeAddrIsLoopbackAndFree(t *testing.T) {
	addr := testtool.FreeAddr(t)
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr = %q (%v), want a 127.0.0.1 address", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on FreeAddr's %s: %v", addr, err)
	}
	l.Close()
}

// TestLargeValuesDiffer: every value has the size asked for and differs
// from every other, and the keys are v-0 to v-(n-1).
func TestLargeValuesDiffer(t *testing.T) {
	seen := map[string]string{}
	i := 0
	for k, v := range testtool.LargeValues(3, 8192) {
		if want := fmt.Sprintf("v-%d", i); k != want || len(v) != 8192 {
			t.Fatalf("entry %d: key %q, %d bytes; want %q, 8192 bytes", i, k, len(v), want)
		}
		if other, dup := seen[string(v)]; dup {
			t.Fatalf("%s has the value of %s", k, other)
		}
		seen[string(v)] = k
		i++
	}
	if i != 3 {
		t.Fatalf("%d entries, want 3", i)
	}
}
