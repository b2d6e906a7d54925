package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkMix/loads=100/impl=mapx-2   	 100	        10.0 ns/op	       0 B/op
BenchmarkMix/loads=100/impl=xsync-2  	 100	        20.0 ns/op	       0 B/op
PASS
goos: linux
BenchmarkMix/loads=100/impl=mapx-2   	 100	        30.0 ns/op	       0 B/op
BenchmarkMix/loads=100/impl=xsync-2  	 100	        30.0 ns/op	       0 B/op
PASS
goos: linux
BenchmarkMix/loads=100/impl=mapx-2   	 100	        10.0 ns/op	       0 B/op
BenchmarkMix/loads=100/impl=xsync-2  	 100	        40.0 ns/op	       0 B/op
BenchmarkChurn/impl=xsync-2  	 100	        40.0 ns/op	       0 B/op
`

// TestRatiosArePairedByRound: the medians are of the ratios within each
// round (2, 1, 4 → 2), not the ratio of the medians (30/10 = 3), and a
// benchmark without its base in the round is left out.
func TestRatiosArePairedByRound(t *testing.T) {
	rows := ratios(mustParse(t, sample, 3), "mapx")
	if len(rows) != 1 {
		t.Fatalf("rows = %+v, want one (Mix/loads=100, xsync)", rows)
	}
	r := rows[0]
	if r.bench != "BenchmarkMix/loads=100" || r.impl != "xsync" || r.n != 3 {
		t.Errorf("row = %+v", r)
	}
	if r.median != 2 || r.q1 != 1.5 || r.q3 != 3 {
		t.Errorf("median %v, quartiles %v–%v; want 2, 1.5–3", r.median, r.q1, r.q3)
	}
	if r.lo != 1 || r.hi != 4 { // three rounds: the interval is the whole range
		t.Errorf("interval %v–%v, want 1–4", r.lo, r.hi)
	}
	if r.inv.median != 0.5 || r.inv.lo != 0.25 || r.inv.hi != 1 {
		t.Errorf("mapx ÷ xsync: median %v, interval %v–%v; want 0.5, 0.25–1", r.inv.median, r.inv.lo, r.inv.hi)
	}
}

// TestMedianInterval: for 40 ratios 1..40 the interval is ranks 13 and 27 (20 ∓ 6.2, rounded outwards).
func TestMedianInterval(t *testing.T) {
	s := make([]float64, 40)
	for i := range s {
		s[i] = float64(i + 1)
	}
	if lo, hi := medianInterval(s); lo != 13 || hi != 27 {
		t.Errorf("medianInterval = %v–%v, want 13–27", lo, hi)
	}
}

// TestRoundsWithoutHeaders: a benchmark met a second time starts a round.
func TestRoundsWithoutHeaders(t *testing.T) {
	mustParse(t, strings.ReplaceAll(sample, "goos: linux\n", ""), 3)
}

// TestProcsAreToldApart: with go test -cpu 1,2 each GOMAXPROCS gets its own
// rows, named by a last element cpu=N, and its own rounds.
func TestProcsAreToldApart(t *testing.T) {
	in := `goos: linux
BenchmarkChurn/impl=mapx     	 100	        30.0 ns/op
BenchmarkChurn/impl=mapx-2   	 100	        20.0 ns/op
BenchmarkChurn/impl=xsync    	 100	        10.0 ns/op
BenchmarkChurn/impl=xsync-2  	 100	        40.0 ns/op
`
	rows := ratios(mustParse(t, in, 1), "mapx")
	if len(rows) != 2 || rows[0].bench != "BenchmarkChurn/cpu=1" || rows[0].median != 1.0/3 ||
		rows[1].bench != "BenchmarkChurn/cpu=2" || rows[1].median != 2 {
		t.Errorf("rows = %+v, want BenchmarkChurn/cpu=1 at 1/3 and BenchmarkChurn/cpu=2 at 2", rows)
	}
}

// TestOtherUnit: -unit compares the metric given, wherever it is on the line,
// and a line without it is left out.
func TestOtherUnit(t *testing.T) {
	in := `goos: linux
BenchmarkLoad/impl=mapx-2  	 100	  10.0 ns/op	  30.0 cpu-ns/op	  0 B/op
BenchmarkLoad/impl=wrap-2  	 100	  40.0 ns/op	  45.0 cpu-ns/op	  0 B/op
BenchmarkOther/impl=wrap-2 	 100	  40.0 ns/op
`
	rounds, err := parse(strings.NewReader(in), "cpu-ns/op")
	if err != nil {
		t.Fatal(err)
	}
	rows := ratios(rounds, "mapx")
	if len(rows) != 1 || rows[0].bench != "BenchmarkLoad" || rows[0].median != 1.5 {
		t.Errorf("rows = %+v, want BenchmarkLoad at 1.5 (cpu-ns/op), not 4 (ns/op)", rows)
	}
}

// mustParse parses in and checks that it holds want rounds.
func mustParse(t *testing.T, in string, want int) []round {
	t.Helper()
	rounds, err := parse(strings.NewReader(in), "ns/op")
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != want {
		t.Fatalf("%d rounds, want %d", len(rounds), want)
	}
	return rounds
}
