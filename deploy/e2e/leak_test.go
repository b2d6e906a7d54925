package e2e

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the tests
// start servers, exporters and processes, and must stop them all.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
