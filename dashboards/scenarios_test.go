package dashboards

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The series of the 48-hour scenarios, as the formulas their headers
// describe: t is the minute (0 to 2880), a value is a sample, NaN a missing
// one and stale a staleness marker. TestScenarioSeriesFollowTheirFormulas
// checks the committed values against them, so that a header cannot say one
// thing while the file holds another.
const scenarioMinutes = 48 * 60

var (
	missing = math.NaN()
	stale   = math.Inf(-1) // a marker for "stale"; no sample is -Inf
)

type scenarioSeries map[string]func(t int) float64

func scenarioInputs() map[string]scenarioSeries {
	const inst = `job="api", instance="10.0.0.7:9464"`
	mapx := func(metric, name string, more ...string) string {
		return metric + "{" + strings.Join(append([]string{inst, `mapx_name="` + name + `"`}, more...), ", ") + "}"
	}
	proc := func(metric string, more ...string) string {
		return metric + "{" + strings.Join(append([]string{inst}, more...), ", ") + "}"
	}
	constant := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	ops := func(t int) float64 { return 60000 * float64(t) } // 1000 operations/s
	loads := func(name string) string {
		return mapx("mapx_operations_total", name, `mapx_operation="load"`, `mapx_result="hit"`)
	}
	stores := func(name string) string {
		return mapx("mapx_operations_total", name, `mapx_operation="store"`, `mapx_result="ok"`)
	}
	up := proc("up")
	const h = 60

	leakStart := 37 * h
	fastEntries := func(t int) float64 { return 100000 + 120000*float64(max(t-leakStart, 0)) }
	slowEntries := func(t int) float64 { return 100000 + 30*float64(max(t-24*h, 0)) }
	crash := func(t int) float64 { return 60000 * float64(t%40) }
	warm := func(t int) float64 { return 6700 * float64(min(t, 30)) }
	knot := func(k int) float64 {
		return math.Round(1e6 * (1 + 0.3*math.Sin(2*math.Pi*float64(k*15%1440)/1440)))
	}
	daily := func(t int) float64 {
		k, r := t/15, t%15
		a, b := knot(k), knot(k+1)
		return a + (b-a)*float64(r)/15
	}
	downAt24h := func(f func(int) float64) func(int) float64 {
		return func(t int) float64 {
			switch {
			case t < 24*h:
				return f(t)
			case t == 24*h:
				return stale
			}
			return missing
		}
	}
	return map[string]scenarioSeries{
		"fast-leak": {
			mapx("mapx_entries", "sessions"):       fastEntries,
			mapx("mapx_dirty_entries", "sessions"): func(t int) float64 { return fastEntries(t) - 100000 },
			stores("sessions"):                     ops,
			mapx("mapx_entries", "config"):         constant(5000),
			mapx("mapx_dirty_entries", "config"):   constant(0),
			loads("config"):                        ops,
			proc("go_memory_used_bytes", `go_memory_type="other"`): func(t int) float64 {
				return 5e8 + 100*(fastEntries(t)-100000)
			},
			proc("go_memory_used_bytes", `go_memory_type="stack"`): constant(4e6),
			proc("go_memory_limit_bytes"):                          constant(8 << 30),
			up:                                                     constant(1),
		},
		"slow-leak": {
			mapx("mapx_entries", "sessions"):       slowEntries,
			mapx("mapx_dirty_entries", "sessions"): constant(0),
			stores("sessions"):                     ops,
			up:                                     constant(1),
		},
		"crash-loop": {
			mapx("mapx_entries", "sessions"):       crash,
			mapx("mapx_dirty_entries", "sessions"): crash,
			stores("sessions"):                     crash, // the counter restarts with the process
			up:                                     constant(1),
		},
		"warm-up": {
			mapx("mapx_entries", "sessions"): warm,
			mapx("mapx_dirty_entries", "sessions"): func(t int) float64 {
				if t < 35 {
					return warm(t)
				}
				return 0
			},
			loads("sessions"): ops,
			up:                constant(1),
		},
		"daily-cycle": {
			mapx("mapx_entries", "sessions"):                       daily,
			mapx("mapx_dirty_entries", "sessions"):                 func(t int) float64 { return daily(t) / 5 },
			loads("sessions"):                                      ops,
			proc("go_memory_used_bytes", `go_memory_type="other"`): func(t int) float64 { return 2e8 + 500*daily(t) },
			proc("go_memory_limit_bytes"):                          constant(4 << 30),
			up:                                                     constant(1),
		},
		"steady-12m": {
			mapx("mapx_entries", "sessions"):                       constant(12e6),
			mapx("mapx_dirty_entries", "sessions"):                 constant(12e6),
			loads("sessions"):                                      ops,
			proc("go_memory_used_bytes", `go_memory_type="other"`): constant(3e9),
			proc("go_memory_limit_bytes"):                          constant(4 << 30),
			up:                                                     constant(1),
		},
		"bounded-churn": {
			mapx("mapx_entries", "sessions"):                constant(1e6),
			mapx("mapx_dirty_entries", "sessions"):          func(t int) float64 { return 1.5e6 + 1e6*float64(t%30)/30 },
			mapx("mapx_dirty_promotions_total", "sessions"): func(t int) float64 { return float64(t / 30 * 16) },
			mapx("mapx_read_misses_total", "sessions"):      func(t int) float64 { return 6000 * float64(t) },
			stores("sessions"):                              func(t int) float64 { return 33333 * float64(t) },
			mapx("mapx_operations_total", "sessions", `mapx_operation="delete"`, `mapx_result="ok"`): func(t int) float64 {
				return 33333 * float64(t)
			},
			loads("sessions"): ops,
			up:                constant(1),
		},
		"overlapping-snapshots": {
			mapx("mapx_entries", "sessions"):                     constant(1e6),
			mapx("mapx_snapshots_active", "sessions"):            constant(2),
			mapx("mapx_snapshot_oldest_age_seconds", "sessions"): func(t int) float64 { return float64(600 + 60*(t%10)) },
			loads("sessions"):                                    ops,
			up:                                                   constant(1),
		},
		"leaked-snapshot": {
			mapx("mapx_entries", "sessions"): constant(1e6),
			mapx("mapx_snapshots_active", "sessions"): func(t int) float64 {
				if t >= 12*h {
					return 1
				}
				return 0
			},
			mapx("mapx_snapshot_oldest_age_seconds", "sessions"): func(t int) float64 { return 60 * float64(max(t-12*h, 0)) },
			loads("sessions"): ops,
			up:                constant(1),
		},
		"entry-limit": {
			mapx("mapx_entries", "sessions"):       func(t int) float64 { return min(500000+300*float64(t), 1e6) },
			mapx("mapx_entry_limit", "sessions"):   constant(1e6),
			mapx("mapx_dirty_entries", "sessions"): constant(0),
			mapx("mapx_backpressure_rejections_total", "sessions", `mapx_reason="capacity"`): func(t int) float64 {
				return 600 * float64(max(t-1667, 0))
			},
			mapx("mapx_operations_total", "sessions", `mapx_operation="try_store"`, `mapx_result="ok"`): ops,
			up: constant(1),
		},
		"deleted-keys": {
			mapx("mapx_entries", "sessions"): constant(100000),
			mapx("mapx_dirty_entries", "sessions"): func(t int) float64 {
				if t >= 12*h {
					return 0
				}
				return 100000 + 6000*float64(min(t, 2*h))
			},
			loads("sessions"): ops,
			up:                constant(1),
		},
		"target-down": {
			mapx("mapx_entries", "sessions"):       downAt24h(constant(1e6)),
			mapx("mapx_dirty_entries", "sessions"): downAt24h(constant(0)),
			loads("sessions"):                      downAt24h(ops),
			up: func(t int) float64 {
				if t < 24*h {
					return 1
				}
				return 0
			},
		},
		"metrics-absent": {
			mapx("mapx_entries", "sessions"): downAt24h(constant(1e6)),
			loads("sessions"):                downAt24h(ops),
			mapx("mapx_entries", "config"):   constant(5000),
			loads("config"):                  ops,
			up:                               constant(1),
		},
	}
}

// expandValues expands the parts of promtool's notation the scenarios use:
// "a", "a+bxn", "a-bxn", "_", "_xn" and "stale".
func expandValues(values string) ([]float64, error) {
	var out []float64
	for _, tok := range strings.Fields(values) {
		switch {
		case tok == "stale":
			out = append(out, stale)
			continue
		case tok == "_":
			out = append(out, missing)
			continue
		case strings.HasPrefix(tok, "_x"):
			n, err := strconv.Atoi(tok[2:])
			if err != nil {
				return nil, fmt.Errorf("%q: %v", tok, err)
			}
			for range n {
				out = append(out, missing)
			}
			continue
		}
		head, times, ok := strings.Cut(tok, "x")
		if !ok {
			v, err := strconv.ParseFloat(tok, 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", tok, err)
			}
			out = append(out, v)
			continue
		}
		n, err := strconv.Atoi(times)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", tok, err)
		}
		i := strings.LastIndexAny(head, "+-")
		if i <= 0 {
			return nil, fmt.Errorf("%q: no step", tok)
		}
		start, err1 := strconv.ParseFloat(head[:i], 64)
		step, err2 := strconv.ParseFloat(head[i:], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q: %v %v", tok, err1, err2)
		}
		for k := 0; k <= n; k++ {
			out = append(out, start+step*float64(k))
		}
	}
	return out, nil
}

func TestScenarioSeriesFollowTheirFormulas(t *testing.T) {
	inputs := scenarioInputs()
	if got, want := slices.Sorted(maps.Keys(inputs)), slices.Sorted(slices.Values(scenarios)); !slices.Equal(got, want) {
		t.Fatalf("formulas for %v, scenarios %v", got, want)
	}
	for name, formulas := range inputs {
		path := "prometheus/tests/scenario-" + name + ".test.yaml"
		seen := map[string]bool{}
		for _, ut := range readUnitTests(t, path).Tests {
			for _, s := range ut.InputSeries {
				seen[s.Series] = true
				f, ok := formulas[s.Series]
				if !ok {
					t.Errorf("%s: %s has no formula", path, s.Series)
					continue
				}
				got, err := expandValues(s.Values)
				if err != nil {
					t.Fatalf("%s: %s: %v", path, s.Series, err)
				}
				if len(got) != scenarioMinutes+1 {
					t.Errorf("%s: %s has %d samples, want %d", path, s.Series, len(got), scenarioMinutes+1)
				}
				for m, v := range got {
					w := f(m)
					same := v == w || math.IsNaN(v) && math.IsNaN(w) || math.Abs(v-w) <= 1e-6*math.Max(1, math.Abs(w))
					if !same {
						t.Errorf("%s: %s at minute %d is %v, its formula gives %v", path, s.Series, m, v, w)
						break
					}
				}
			}
		}
		for s := range formulas {
			if !seen[s] {
				t.Errorf("%s: no series %s", path, s)
			}
		}
	}
}
