package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx/instrumented"
)

// A run prints the advisor's findings on its map and -record writes the
// history they came from.
func TestRunPrintsFindingsAndRecords(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "leak.json")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-workload", "leak", "-leak-rate", "20000", "-keys", "20000", "-rate", "50000",
		"-goroutines", "2", "-duration", "7s", "-name", "advice-test", "-record", rec, "-metrics-addr", "", "-progress", "off"}, &stdout, &stderr)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, `advisor on "advice-test"`) || !strings.Contains(out, "growth: entries grow by") {
		t.Errorf("no growth finding in the output:\n%s", out)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var h instrumented.History
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.Name != "advice-test" || len(h.Samples) < 6 || h.Samples[len(h.Samples)-1].Entries <= h.Samples[0].Entries {
		t.Errorf("recorded %q with %d samples, want the growing map's history", h.Name, len(h.Samples))
	}
}

func TestRecordNeedsOneInstrumentedRun(t *testing.T) {
	for _, args := range [][]string{
		{"-impl", "xsync", "-record", "x.json"},
		{"-demo", "-record", "x.json"},
		{"-compare", "mapx-instrumented,xsync", "-record", "x.json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr); code != ExitUsage || !strings.Contains(stderr.String(), "-record: only for a single run") {
			t.Errorf("%q: exit %d, stderr %s", args, code, stderr.String())
		}
	}
}
