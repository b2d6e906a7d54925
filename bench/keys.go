package bench

import "fmt"

// Keys returns n keys with a long common prefix, as session or cache keys
// tend to have; the prefix makes hashing and comparing keys cost what it
// costs in services.
func Keys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant/eu-west-1/service/checkout/session/%012d", i)
	}
	return keys
}

// rng is a xorshift generator, one per goroutine: cheaper than math/rand in
// a loop that measures nanoseconds.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}
