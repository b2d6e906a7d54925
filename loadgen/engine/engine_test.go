package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every workload's operation picker keeps its mix to within one percentage
// point over a million draws.
func TestMixProportionsOverAMillionDraws(t *testing.T) {
	const draws = 1_000_000
	for _, w := range Workloads {
		t.Run(w.Name, func(t *testing.T) {
			r := newRNG(42, 7)
			var got [numKinds + 1]int
			for range draws {
				got[w.pick(r)]++
			}
			share := map[Kind]float64{}
			for k, n := range got {
				if Kind(k) == opChurn {
					// A churn write is an insert or a delete, in turn.
					share[KindInsert] += float64(n) / 2 / draws
					share[KindDelete] += float64(n) / 2 / draws
				} else if n > 0 {
					share[Kind(k)] += float64(n) / draws
				}
			}
			total := 0.0
			for k, want := range w.Mix {
				total += want
				if d := math.Abs(share[k] - want); d > 0.01 {
					t.Errorf("%s: %.4f of draws, want %.4f (off by %.4f)", k, share[k], want, d)
				}
			}
			for k, s := range share {
				if _, ok := w.Mix[k]; !ok && s > 0 {
					t.Errorf("%s drawn (%.4f) but not in the mix", k, s)
				}
			}
			if math.Abs(total-1) > 1e-9 {
				t.Errorf("mix sums to %v", total)
			}
		})
	}
}

// The mix also holds for the operations a real run makes, counted by kind
// in its report, over a million operations.
func TestRunKeepsTheMix(t *testing.T) {
	if testing.Short() {
		t.Skip("a million operations")
	}
	for name, ops := range map[string]int64{"churn": 1_000_000, "ycsb-f": 300_000} {
		t.Run(name, func(t *testing.T) {
			tg := newTarget(t, "mapx", 10_000)
			res, err := Run(context.Background(), tg, RunConfig{Workload: name, Goroutines: 2, MaxOps: ops, LeakRate: 1, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			rep := BuildReport(res)
			if rep.Ops != ops {
				t.Fatalf("ops = %d, want exactly %d", rep.Ops, ops)
			}
			w, _ := LookupWorkload(name)
			for k, want := range w.Mix {
				got := float64(rep.OpsByKind[k.String()]) / float64(rep.Ops)
				if math.Abs(got-want) > 0.01 {
					t.Errorf("%s: %.4f of operations, want %.4f", k, got, want)
				}
			}
		})
	}
}

func TestZipfSkew(t *testing.T) {
	const n, draws = 1000, 1_000_000
	z := newZipf(n, ZipfTheta)
	r := newRNG(3, 3)
	counts := make([]int, n)
	for range draws {
		k := z.draw(r)
		if k >= n {
			t.Fatalf("drew %d, out of [0, %d)", k, n)
		}
		counts[k]++
	}
	// Ranks 0 and 1 have exact probabilities; allow five standard
	// deviations of the estimate.
	for rank := range 2 {
		p := z.rankProbability(rank)
		got := float64(counts[rank]) / draws
		if tol := 5 * math.Sqrt(p*(1-p)/draws); math.Abs(got-p) > tol {
			t.Errorf("rank %d: frequency %.5f, want %.5f ± %.5f", rank, got, p, tol)
		}
	}
	if counts[0] <= counts[1] || counts[1] <= counts[10] || counts[10] <= counts[500] {
		t.Errorf("frequencies do not fall with rank: %d, %d, %d, %d", counts[0], counts[1], counts[10], counts[500])
	}
	// The hottest 1% of the keys take a large share under zipf(0.99),
	// against 1% under uniform.
	top := 0
	for _, c := range counts[:n/100] {
		top += c
	}
	if share := float64(top) / draws; share < 0.35 || share > 0.5 {
		t.Errorf("hottest 1%% of keys: %.3f of draws, want between 0.35 and 0.5 (zipf 0.99 over 1000 keys)", share)
	}
	u := uniform{n}
	top = 0
	for range draws {
		if u.draw(r) < n/100 {
			top++
		}
	}
	if share := float64(top) / draws; math.Abs(share-0.01) > 0.001 {
		t.Errorf("uniform: hottest 1%% of keys take %.4f of draws, want 0.01", share)
	}
}

// fakeClock advances only when slept on or told to.
type fakeClock struct {
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(d time.Duration) {
	c.now = c.now.Add(d)
	c.slept += d
}

func TestPacerHoldsTheRateWhateverTheMachineSpeed(t *testing.T) {
	for _, work := range []time.Duration{0, 100 * time.Microsecond, 900 * time.Microsecond} {
		c := &fakeClock{now: time.Unix(1000, 0)}
		p := newPacer(1000, c.Now, c.Sleep) // 1000 events/s
		for range 1000 {
			c.now = c.now.Add(work) // the time an event takes
			p.wait(1)
		}
		if elapsed := c.now.Sub(time.Unix(1000, 0)); elapsed != time.Second {
			t.Errorf("work %v an event: 1000 events at 1000/s took %v, want 1s", work, elapsed)
		}
	}
	// A machine too slow for the rate does not sleep.
	c := &fakeClock{now: time.Unix(0, 0)}
	p := newPacer(1000, c.Now, c.Sleep)
	for range 100 {
		c.now = c.now.Add(2 * time.Millisecond)
		p.wait(1)
	}
	if c.slept != 0 {
		t.Errorf("slept %v behind schedule", c.slept)
	}
}

func TestPacerForgivesALongStall(t *testing.T) {
	c := &fakeClock{now: time.Unix(0, 0)}
	p := newPacer(100, c.Now, c.Sleep)
	p.wait(10) // 100ms of schedule
	c.now = c.now.Add(5 * time.Second)
	p.wait(1) // far behind: the debt is given up
	before := c.slept
	p.wait(100) // one more second's worth must take a second, not burst
	if d := c.slept - before; d < 990*time.Millisecond || d > time.Second {
		t.Errorf("after a stall, 100 events at 100/s slept %v, want about 1s", d)
	}
}

func TestBatchFor(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want int
	}{{0.5, 1}, {999, 1}, {5000, 5}, {1e9, 256}} {
		if got := batchFor(c.rate, 256); got != c.want {
			t.Errorf("batchFor(%v) = %d, want %d", c.rate, got, c.want)
		}
	}
}

func newTarget(t *testing.T, impl string, keys int) *Target {
	t.Helper()
	tg, err := NewTarget(impl, MapOptions{Name: t.Name()}, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}
