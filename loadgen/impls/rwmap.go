package impls

import "sync"

// RWMap is a Go map behind a sync.RWMutex, the usual hand-written baseline.
type RWMap[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (r *RWMap[K, V]) Load(k K) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}
func (r *RWMap[K, V]) Store(k K, v V) { r.mu.Lock(); r.m[k] = v; r.mu.Unlock() }
func (r *RWMap[K, V]) Delete(k K)     { r.mu.Lock(); delete(r.m, k); r.mu.Unlock() }

func (r *RWMap[K, V]) LoadAndDelete(k K) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[k]
	delete(r.m, k)
	return v, ok
}

// Range holds the read lock throughout: writers wait for it.
func (r *RWMap[K, V]) Range(f func(K, V) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for k, v := range r.m {
		if !f(k, v) {
			return
		}
	}
}

// Len returns the number of entries.
func (r *RWMap[K, V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

// Compute sets the value of k to f of its old value (the zero value and
// false if absent), under the write lock.
func (r *RWMap[K, V]) Compute(k K, f func(old V, loaded bool) V) {
	r.mu.Lock()
	old, ok := r.m[k]
	r.m[k] = f(old, ok)
	r.mu.Unlock()
}

// View calls f with the map under the read lock, for reads that must be
// consistent (a scan of many keys); f must not keep or modify the map.
func (r *RWMap[K, V]) View(f func(m map[K]V)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f(r.m)
}
