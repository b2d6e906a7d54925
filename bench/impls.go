package bench

import "github.com/mapx-dev/mapx/loadgen/impls"

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

// Impls are the bare (uninstrumented) implementations of the list that
// loadgen uses too (impls.All), in its order, ours first: benchstat
// compares the others with the first column. A map's dynamic type is the
// implementation's own (*mapx.Map[string, int], ...), so the benchmarks
// make the same interface call on it as they did on their own wrappers.
var Impls = bareImpls()

func bareImpls() []Impl {
	var list []Impl
	for _, im := range impls.All {
		if im.Instrumented {
			continue
		}
		name := im.Name
		list = append(list, Impl{Name: name, New: func() Map {
			m, err := impls.New[string, int](name, impls.Options{})
			if err != nil {
				panic(err) // a name of impls.All that impls.New refuses
			}
			return m
		}})
	}
	return list
}
