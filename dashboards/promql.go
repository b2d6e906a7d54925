package dashboards

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// promDuration writes d as a Prometheus duration in its largest exact unit.
func promDuration(d time.Duration) string {
	if d <= 0 {
		panic(fmt.Sprintf("dashboards: duration %v is not positive", d))
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// promNumber writes v as a PromQL number literal.
func promNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// sumBy writes a "sum by (labels)" aggregation of expr.
func sumBy(labels []string, expr string) string {
	return aggBy("sum", labels, expr)
}

// aggBy writes an "op by (labels)" aggregation of expr.
func aggBy(op string, labels []string, expr string) string {
	return fmt.Sprintf("%s by (%s) (%s)", op, strings.Join(labels, ", "), expr)
}

// with returns labels followed by more, in a new slice.
func with(labels []string, more ...string) []string {
	return append(append([]string(nil), labels...), more...)
}
