// Package testtool holds what the tests of several modules share. It finds
// the external programs that tests run (promtool, amtool, prometheus,
// redis-server): a test skips, saying how to install the program, when it is
// missing on a developer's machine, and fails where the environment variable
// CI is set, since CI (.ci/run) installs them all and a skipped check there
// would pass without checking. It also gives free loopback addresses, large
// test values and a count of the bytes a function allocates.
//
// It lives in the core module, which stays standard library only, so that
// every module of the repository can import it; being internal, nothing
// outside github.com/mapx-dev/mapx can.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns the path of the program name, which Debian's package pkg
// installs. When it is not on PATH the test fails if CI is set and is
// skipped otherwise.
func Path(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (CI is set): CI must install Debian's %s package: %v", name, pkg, err)
		return ""
	}
	t.Skipf("%s is missing: install Debian's %s package (apt-get install -y %s) to run this test", name, pkg, pkg)
	return ""
}
