package impls

import (
	"sync"

	"github.com/mapx-dev/mapx/instrumented"
)

// SyncMap is a sync.Map with the types of its keys and values, as its users
// write it: boxing on Store, a type assertion on Load.
type SyncMap[K comparable, V any] struct{ m sync.Map }

// Unwrap returns the sync.Map itself.
func (s *SyncMap[K, V]) Unwrap() *sync.Map { return &s.m }

func (s *SyncMap[K, V]) Load(k K) (V, bool)          { return typed[V](s.m.Load(k)) }
func (s *SyncMap[K, V]) Store(k K, v V)              { s.m.Store(k, v) }
func (s *SyncMap[K, V]) LoadAndDelete(k K) (V, bool) { return typed[V](s.m.LoadAndDelete(k)) }
func (s *SyncMap[K, V]) Delete(k K)                  { s.m.Delete(k) }
func (s *SyncMap[K, V]) Range(f func(K, V) bool) {
	s.m.Range(func(k, v any) bool { return f(k.(K), v.(V)) })
}

// InstrumentedSyncMap is an [instrumented.SyncMap] with the types of its
// keys and values.
type InstrumentedSyncMap[K comparable, V any] struct{ w *instrumented.SyncMap }

// Unwrap returns the instrumented.SyncMap itself.
func (s *InstrumentedSyncMap[K, V]) Unwrap() *instrumented.SyncMap { return s.w }

// Close releases the map's instruments.
func (s *InstrumentedSyncMap[K, V]) Close() error { return s.w.Close() }

func (s *InstrumentedSyncMap[K, V]) Load(k K) (V, bool) { return typed[V](s.w.Load(k)) }
func (s *InstrumentedSyncMap[K, V]) Store(k K, v V)     { s.w.Store(k, v) }
func (s *InstrumentedSyncMap[K, V]) LoadAndDelete(k K) (V, bool) {
	return typed[V](s.w.LoadAndDelete(k))
}
func (s *InstrumentedSyncMap[K, V]) Delete(k K) { s.w.Delete(k) }
func (s *InstrumentedSyncMap[K, V]) Range(f func(K, V) bool) {
	s.w.Range(func(k, v any) bool { return f(k.(K), v.(V)) })
}

func typed[V any](v any, ok bool) (V, bool) {
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}
