package engine

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// ZipfTheta is the skew of the zipf distribution, YCSB's default: the key
// of rank i (from 0) is drawn with a probability proportional to
// 1/(i+1)^ZipfTheta.
const ZipfTheta = 0.99

// rng is a goroutine's own random source: a PCG called directly, without
// the interface call and lock of a shared math/rand source.
type rng struct{ pcg rand.PCG }

func newRNG(seed, stream uint64) *rng {
	r := new(rng)
	r.pcg.Seed(seed, stream)
	return r
}

// below returns a number in [0, n), n > 0 (Lemire's multiply-shift; the bias
// is below n/2^64).
func (r *rng) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.pcg.Uint64(), n)
	return hi
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.pcg.Uint64()>>11) * 0x1p-53 }

// A chooser draws ranks in [0, n); rank 0 is the hottest key of a skewed
// distribution. A chooser is immutable and shared by the workers.
type chooser interface {
	draw(r *rng) uint64
	size() uint64
}

type uniform struct{ n uint64 }

func (u uniform) draw(r *rng) uint64 { return r.below(u.n) }
func (u uniform) size() uint64       { return u.n }

// zipf is the generator of Gray et al., "Quickly generating billion-record
// synthetic databases" (SIGMOD 1994), as YCSB's ZipfianGenerator uses it: the
// probabilities of ranks 0 and 1 are exact, 1/ζ(n,θ) and 2^-θ/ζ(n,θ); the
// rest follow the zipf law approximately. Making one costs O(n) (ζ is a sum
// over every rank); drawing costs one math.Pow.
type zipf struct {
	n            uint64
	theta, alpha float64
	zetan, eta   float64
	half         float64 // 1 + 0.5^θ
}

func newZipf(n uint64, theta float64) *zipf {
	z := &zipf{n: n, theta: theta, alpha: 1 / (1 - theta), zetan: zeta(n, theta)}
	z.half = 1 + math.Pow(0.5, theta)
	z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta(2, theta)/z.zetan)
	return z
}

// zeta returns ζ(n, θ) = Σ_{i=1..n} 1/i^θ.
func zeta(n uint64, theta float64) float64 {
	var s float64
	for i := uint64(1); i <= n; i++ {
		s += 1 / math.Pow(float64(i), theta)
	}
	return s
}

func (z *zipf) size() uint64 { return z.n }

func (z *zipf) draw(r *rng) uint64 {
	uz := r.float() * z.zetan
	if uz < 1 || z.n == 1 {
		return 0
	}
	if uz < z.half {
		return 1
	}
	u := uz / z.zetan
	k := uint64(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(k, z.n-1)
}

// rankProbability returns the exact probability of rank 0 or 1 under zipf;
// the tests check the generator against it.
func (z *zipf) rankProbability(rank int) float64 {
	return 1 / math.Pow(float64(rank+1), z.theta) / z.zetan
}
