package engine

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestUnits(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatCount(0), "0"}, {FormatCount(999), "999"}, {FormatCount(999.6), "1.00k"}, {FormatCount(1234), "1.23k"},
		{FormatCount(12345), "12.3k"}, {FormatCount(2.5e6), "2.50M"}, {FormatCount(3.456e9), "3.46G"},
		{ns(1), "1.00ns"}, {ns(512), "512ns"}, {ns(999_700), "1.00ms"}, {ns(1_234_567), "1.23ms"}, {ns(45_600), "45.6µs"},
		{ns(int64(90 * time.Second)), "90.0s"}, {ns(0), "0ns"},
		{byteSize(0), "0B"}, {byteSize(1023), "1023B"}, {byteSize(1024), "1.00KiB"}, {byteSize(4 << 20), "4.00MiB"}, {byteSize(123 << 20), "123MiB"},
		{sig3(2), "2.00"}, {sig3(0.012345), "0.0123"}, {sig3(123.4), "123"}, {formatRatio(0.5), "0.500x"}, {formatRatio(12.34), "12.3x"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestTableFormat checks what a reader of -compare relies on: every row has
// the header's columns, each column ends at the same place on every line,
// and each quantity has one unit system and three significant digits,
// whatever the magnitudes of the rows.
func TestTableFormat(t *testing.T) {
	fast := syntheticResult("mapx", time.Second, 2_500_000, 500_000, 80, 120, 900, 40_000)
	fast.PeakHeap, fast.GCPauseNs, fast.Mallocs = 900, 999_700, 3
	slow := syntheticResult("sync.Map-instrumented", 3*time.Second, 1000, 0, 2_000_000, 5_000_000, 1_500_000_000)
	slow.PeakHeap, slow.GCPauseNs, slow.Mallocs = 3<<30, 12_345_678, 123_456
	mid := syntheticResult("xsync", time.Second, 12_345, 0, 999, 1000, 1001)
	reps := []Report{BuildReport(fast), BuildReport(slow), BuildReport(mid)}
	SetRatios(reps)
	var buf bytes.Buffer
	if err := WriteTable(&buf, reps); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2+len(reps) {
		t.Fatalf("%d lines, want a title, a header and %d rows:\n%s", len(lines), len(reps), buf.String())
	}
	header, rows := lines[1], lines[2:]
	// Header names of two words, joined so that they are one field.
	joined := strings.NewReplacer("p99 vs first", "p99_vs_first", "vs first", "vs_first", "GC pause", "GC_pause", "peak heap", "peak_heap").Replace(header)
	want := []string{"impl", "ops/s", "vs_first", "p50", "p99", "p99_vs_first", "p99.9", "max", "allocs/op", "GC_pause", "peak_heap"}
	if got := strings.Fields(joined); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("header %q, want columns %v", header, want)
	}
	if !strings.HasPrefix(header, "impl ") {
		t.Errorf("header %q: the impl column is not left-aligned", header)
	}
	ends := columnEnds(joined)
	for _, row := range rows {
		if utf8.RuneCountInString(row) != utf8.RuneCountInString(header) {
			t.Errorf("row %q is not as wide as the header %q", row, header)
		}
		if !strings.HasPrefix(row, strings.Fields(row)[0]+" ") {
			t.Errorf("row %q: the impl column is not left-aligned", row)
		}
		if got := columnEnds(row); !equalInts(got[1:], ends[1:]) {
			t.Errorf("row %q: number columns end at %v, header's at %v", row, got, ends)
		}
	}

	count := regexp.MustCompile(`^(\d\.\d\d|\d\d\.\d|\d\d\d)[kMG]?$|^\d{1,3}$`)
	ratio := regexp.MustCompile(`^(\d\.\d\d|\d\d\.\d|[1-9]\d\d0*|0\.0*[1-9]\d\d)x$|^-$`)
	dur := regexp.MustCompile(`^((\d\.\d\d|\d\d\.\d|\d\d\d)(ns|µs|ms|s)|0ns)$`)
	plain := regexp.MustCompile(`^(\d\.\d\d|\d\d\.\d|\d\d\d|0\.0*[1-9]\d\d|0)$`)
	size := regexp.MustCompile(`^((\d\.\d\d|\d\d\.\d|\d\d\d)(KiB|MiB|GiB)|\d{1,4}B)$`)
	formats := []*regexp.Regexp{nil, count, ratio, dur, dur, ratio, dur, dur, plain, dur, size}
	for _, row := range rows {
		f := strings.Fields(row)
		if len(f) != len(formats) {
			t.Fatalf("row %q has %d fields, want %d", row, len(f), len(formats))
		}
		for i, re := range formats {
			if re != nil && !re.MatchString(f[i]) {
				t.Errorf("row %q, column %d: %q does not match %s", row, i, f[i], re)
			}
		}
	}
	for _, s := range []string{"3.00M", "333", "12.3k", "0.000111x", "37500x", "120ns", "40.0µs", "5.00ms", "1.50s", "1.00ms", "3.00GiB", "900B", "0.00000100"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
	t.Logf("\n%s", buf.String())
}

// columnEnds returns the rune offsets where the fields of line end.
func columnEnds(line string) []int {
	var ends []int
	r := []rune(line)
	for i := range r {
		if r[i] != ' ' && (i+1 == len(r) || r[i+1] == ' ') {
			ends = append(ends, i)
		}
	}
	return ends
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
