package instrumented_test

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestLoadIsInlined: the wrapper's Load is the map's Load, inlined by the
// compiler into its callers, so it adds no call frame (its cost is in
// bench/README.md, session 8). A line added to Load that puts it over the
// inliner's budget fails here.
func TestLoadIsInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	out, err := exec.Command("go", "test", "-c", "-o", t.TempDir()+"/x.test",
		"-gcflags=github.com/mapx-dev/mapx/instrumented=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	can := regexp.MustCompile(`can inline instrumented\.\(\*Map\[go\.shape\.[a-z]+,go\.shape\.int\]\)\.Load\n`)
	if !can.Match(out) {
		t.Fatal("the compiler does not inline Map.Load; -gcflags=-m=2 says why")
	}
}
