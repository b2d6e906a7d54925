//go:build race

package mapx

// touch is a prefetch; the race detector would report the unlocked read, so
// its build does without.
func touch(*uint64) {}

const raceBuild = true
