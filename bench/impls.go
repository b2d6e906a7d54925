package bench

import (
	"sync"

	"github.com/mapx-dev/mapx"
	"github.com/puzpuzpuz/xsync/v4"
)

// Map is what every implementation under comparison offers.
type Map interface {
	Load(key string) (int, bool)
	Store(key string, value int)
	Delete(key string)
	Range(f func(key string, value int) bool)
}

// Impl names an implementation and makes an empty one.
type Impl struct {
	Name string
	New  func() Map
}

// Impls are the implementations, ours first: benchstat compares the others
// with the first column.
var Impls = []Impl{
	{"mapx", func() Map { return mapx.New[string, int]() }},
	{"sync.Map", func() Map { return new(syncMap) }},
	{"xsync", func() Map { return xsync.NewMap[string, int]() }},
	{"rwmutex", func() Map { return &rwMap{m: map[string]int{}} }},
}

type syncMap struct{ m sync.Map }

func (s *syncMap) Load(k string) (int, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}
func (s *syncMap) Store(k string, v int) { s.m.Store(k, v) }
func (s *syncMap) Delete(k string)       { s.m.Delete(k) }
func (s *syncMap) Range(f func(string, int) bool) {
	s.m.Range(func(k, v any) bool { return f(k.(string), v.(int)) })
}

type rwMap struct {
	mu sync.RWMutex
	m  map[string]int
}

func (r *rwMap) Load(k string) (int, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}
func (r *rwMap) Store(k string, v int) { r.mu.Lock(); r.m[k] = v; r.mu.Unlock() }
func (r *rwMap) Delete(k string)       { r.mu.Lock(); delete(r.m, k); r.mu.Unlock() }
func (r *rwMap) Range(f func(string, int) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for k, v := range r.m {
		if !f(k, v) {
			return
		}
	}
}
