package engine

import (
	"fmt"
	"io"
	"strings"

	"github.com/mapx-dev/mapx/instrumented"
)

// WriteFindings prints the advisor's findings on a map, one a line.
func WriteFindings(w io.Writer, name string, fs []instrumented.Finding) {
	if len(fs) == 0 {
		fmt.Fprintf(w, "advisor on %q: too little history to judge (it needs 5 s)\n", name)
		return
	}
	fmt.Fprintf(w, "advisor on %q:\n", name)
	for _, f := range fs {
		var nums []string
		for _, n := range f.Numbers {
			nums = append(nums, fmt.Sprintf("%s %.4g%s", n.Name, n.Value, n.Unit))
		}
		fmt.Fprintf(w, "  %-8s %s\n           (%s) %s\n", f.Severity, f.Verdict, strings.Join(nums, ", "), f.Runbook)
	}
}

// WriteFastest names the implementation with the highest throughput of a
// -compare run.
func WriteFastest(w io.Writer, reps []Report) {
	if len(reps) < 2 {
		return
	}
	best := 0
	for i, r := range reps {
		if r.OpsPerSec > reps[best].OpsPerSec {
			best = i
		}
	}
	b := reps[best]
	line := fmt.Sprintf("fastest for %s: %s, %s ops/s", b.Workload, b.Impl, FormatCount(b.OpsPerSec))
	var others []string
	for i, r := range reps {
		if i != best && r.OpsPerSec > 0 {
			others = append(others, formatRatio(b.OpsPerSec/r.OpsPerSec)+" "+r.Impl)
		}
	}
	if len(others) > 0 {
		line += " (" + strings.Join(others, ", ") + ")"
	}
	fmt.Fprintln(w, line)
}
