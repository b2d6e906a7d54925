// Command pairs reads the output of rounds of benchmarks (make bench appends
// one go test run per round) and prints, for every benchmark and
// implementation, the median over rounds of its time divided by the base
// implementation's time in the same round, with the quartiles.
//
// benchstat compares all the samples of one implementation with all those of
// another. On a shared machine whose speed drifts from one round to the next
// that comparison is wide; the ratio taken within each round cancels the
// drift, since the implementations of one round run seconds apart. Beside
// the quartiles it prints an approximate 95 % confidence interval of the
// median: the order statistics n/2 ∓ 0.98·√n of the n sorted ratios.
//
// With -unit it compares another metric of the benchmarks, such as
// cpu-ns/op, the CPU time per operation that moves less than ns/op when
// other processes share the machine.
//
// Usage: go run ./cmd/pairs [-base mapx] [-unit ns/op] results.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	base := flag.String("base", "mapx", "the implementation (impl=…) that the others are divided by")
	unit := flag.String("unit", "ns/op", "the metric compared, as go test prints its unit (ns/op, cpu-ns/op, B/op…)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: pairs [-base impl] [-unit ns/op] results.txt")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pairs:", err)
		os.Exit(1)
	}
	defer f.Close()
	rounds, err := parse(f, *unit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pairs:", err)
		os.Exit(1)
	}
	rows := ratios(rounds, *base)
	if len(rows) == 0 {
		fmt.Fprintf(os.Stderr, "pairs: no benchmark with impl=%s and another implementation in the same round, reporting %s\n", *base, *unit)
		os.Exit(1)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\timpl\timpl ÷ %s\tquartiles\t95%% of median\t%s ÷ impl\t95%% of median\trounds\n", *base, *base)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f–%.3f\t%.3f–%.3f\t%.3f\t%.3f–%.3f\t%d\n",
			r.bench, r.impl, r.median, r.q1, r.q3, r.lo, r.hi, r.inv.median, r.inv.lo, r.inv.hi, r.n)
	}
	tw.Flush()
}

// A round maps a benchmark's name (with its impl=… element) to its value in
// the unit compared.
type round map[string]float64

// parse splits go test output into rounds: a round starts at each "goos:"
// header (or at a benchmark met a second time). Benchmarks run with more
// than one GOMAXPROCS (go test -cpu 1,2) are told apart by a last element
// "cpu=N" of their name; with one, the names are left as they are.
func parse(r io.Reader, unit string) ([]round, error) {
	var rounds []round
	cur := round{}
	procs := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "goos:") && len(cur) > 0 {
			rounds, cur = append(rounds, cur), round{}
			continue
		}
		name, cpu, ns, ok := benchLine(line, unit)
		if !ok {
			continue
		}
		procs[cpu] = true
		name += "/cpu=" + cpu
		if _, seen := cur[name]; seen {
			rounds, cur = append(rounds, cur), round{}
		}
		cur[name] = ns
	}
	if len(cur) > 0 {
		rounds = append(rounds, cur)
	}
	if len(procs) == 1 {
		for i, rd := range rounds {
			plain := round{}
			for name, ns := range rd {
				plain[name[:strings.LastIndex(name, "/cpu=")]] = ns
			}
			rounds[i] = plain
		}
	}
	return rounds, sc.Err()
}

// benchLine parses "BenchmarkX/impl=y-2  N  12.3 ns/op  40.1 cpu-ns/op ..."
// into the name "BenchmarkX/impl=y", its GOMAXPROCS, "2" ("1" if it has no
// suffix), and the value given in unit.
func benchLine(line, unit string) (name, cpu string, v float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return "", "", 0, false
	}
	found := false
	for i := 3; i < len(fields); i += 2 {
		if fields[i] == unit {
			var err error
			if v, err = strconv.ParseFloat(fields[i-1], 64); err != nil {
				return "", "", 0, false
			}
			found = true
			break
		}
	}
	if !found {
		return "", "", 0, false
	}
	name, cpu = fields[0], "1"
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name, cpu = name[:i], name[i+1:]
		}
	}
	return name, cpu, v, true
}

type row struct {
	bench, impl string
	summary
	inv summary // of the base's time divided by the implementation's
	n   int
}

// summary describes ratios: their median, quartiles, and an interval that
// holds the median with about 95 % confidence.
type summary struct{ median, q1, q3, lo, hi float64 }

func summarize(s []float64) summary {
	slices.Sort(s)
	lo, hi := medianInterval(s)
	return summary{quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75), lo, hi}
}

// ratios pairs every implementation with the base in each round.
func ratios(rounds []round, base string) []row {
	type key struct{ bench, impl string }
	samples := map[key][]float64{}
	var order []key
	for _, rd := range rounds {
		for name, ns := range rd {
			bench, impl, ok := splitImpl(name)
			if !ok || impl == base {
				continue
			}
			b, ok := rd[strings.Replace(name, "impl="+impl, "impl="+base, 1)]
			if !ok || b == 0 {
				continue
			}
			k := key{bench, impl}
			if _, seen := samples[k]; !seen {
				order = append(order, k)
			}
			samples[k] = append(samples[k], ns/b)
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		return strings.Compare(a.bench+"\x00"+a.impl, b.bench+"\x00"+b.impl)
	})
	rows := make([]row, 0, len(order))
	for _, k := range order {
		s := samples[k]
		inv := make([]float64, len(s))
		for i, x := range s {
			inv[i] = 1 / x
		}
		rows = append(rows, row{k.bench, k.impl, summarize(s), summarize(inv), len(s)})
	}
	return rows
}

// splitImpl returns name without its impl=… element, and the implementation.
func splitImpl(name string) (bench, impl string, ok bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if v, found := strings.CutPrefix(p, "impl="); found {
			return strings.Join(slices.Delete(parts, i, i+1), "/"), v, true
		}
	}
	return "", "", false
}

// medianInterval returns the order statistics of sorted s that bound its
// median with about 95 % confidence (the normal approximation of the
// binomial: ranks n/2 ∓ 1.96·√n/2, one-based, clamped to s).
func medianInterval(s []float64) (lo, hi float64) {
	n := float64(len(s))
	half := 1.96 * math.Sqrt(n) / 2
	i := max(int(math.Floor(n/2-half)), 1)
	j := min(int(math.Ceil(n/2+half)), len(s))
	return s[i-1], s[j-1]
}

// quantile interpolates the q-quantile of sorted s.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}
