package engine

import (
	"fmt"
	"math"
	"strconv"
)

// The numbers loadgen prints (ops/s, latencies, GC pauses, heap sizes,
// allocs/op, ratios) all have three significant digits, and each quantity
// one unit system: SI suffixes for counts, ns/µs/ms/s for times, IEC for
// bytes. Three digits is what the latency histogram resolves (0.1%) and what
// run-to-run noise leaves meaningful.

// FormatCount formats n with three significant digits and a k, M or G
// suffix.
func FormatCount(n float64) string {
	return scaled(n, []unit{{1, ""}, {1e3, "k"}, {1e6, "M"}, {1e9, "G"}})
}

// ns formats a duration in nanoseconds with three significant digits, in
// ns, µs, ms or s.
func ns(n int64) string {
	return scaled(float64(n), []unit{{1, "ns"}, {1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}})
}

// byteSize formats a size with three significant digits, in KiB, MiB or
// GiB, or as a whole number of bytes below 1KiB.
func byteSize(n uint64) string {
	if n < 1<<10 {
		return strconv.FormatUint(n, 10) + "B"
	}
	return scaled(float64(n), []unit{{1 << 10, "KiB"}, {1 << 20, "MiB"}, {1 << 30, "GiB"}})
}

// formatRatio formats a ratio with three significant digits and an x.
func formatRatio(r float64) string { return sig3(r) + "x" }

type unit struct {
	div    float64
	suffix string
}

// scaled formats v in the largest unit of units (smallest first) in which
// it is at least 1, after rounding to three significant digits (so 999.7ns
// is 1.00µs, not 1000ns).
func scaled(v float64, units []unit) string {
	u := units[0]
	for _, c := range units[1:] {
		if round3(v/c.div) >= 1 {
			u = c
		}
	}
	return sig3(v/u.div) + u.suffix
}

// round3 rounds v to three significant digits.
func round3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}

// sig3 formats v with three significant digits and no exponent (1234 is
// 1230, 0.01234 is 0.0123); zero is 0.
func sig3(v float64) string {
	r := round3(v)
	if r == 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(math.Abs(r)))))
	return fmt.Sprintf("%.*f", decimals, r)
}
