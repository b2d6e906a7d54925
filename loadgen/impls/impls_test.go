package impls

import (
	"io"
	"strings"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"github.com/puzpuzpuz/xsync/v4"
)

// TestEveryImpl makes every entry of All with two key types and checks that
// it behaves as a map and has the dynamic type New documents.
func TestEveryImpl(t *testing.T) {
	if All[0].Name != "mapx" {
		t.Errorf("first implementation %q, want mapx (the others are compared with the first)", All[0].Name)
	}
	seen := map[string]bool{}
	for _, im := range All {
		if seen[im.Name] {
			t.Errorf("%s listed twice", im.Name)
		}
		seen[im.Name] = true
		t.Run(im.Name, func(t *testing.T) {
			m, err := New[string, int](im.Name, Options{Name: "impls-test"})
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, m, "a", "b", 1, 2)
			u, err := New[uint64, uint64](im.Name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, u, 7, 8, 70, 80)
			var typeOK bool
			switch u.(type) {
			case *mapx.Map[uint64, uint64]:
				typeOK = im.Name == "mapx"
			case *instrumented.Map[uint64, uint64]:
				typeOK = im.Name == "mapx-instrumented"
			case *SyncMap[uint64, uint64]:
				typeOK = im.Name == "sync.Map"
			case *InstrumentedSyncMap[uint64, uint64]:
				typeOK = im.Name == "sync.Map-instrumented"
			case *xsync.Map[uint64, uint64]:
				typeOK = im.Name == "xsync"
			case *RWMap[uint64, uint64]:
				typeOK = im.Name == "rwmutex"
			}
			if !typeOK {
				t.Errorf("New(%q) made a %T", im.Name, u)
			}
			if im.Instrumented != strings.HasSuffix(im.Name, "-instrumented") {
				t.Errorf("%s: Instrumented %v", im.Name, im.Instrumented)
			}
			for _, m := range []any{m, u} {
				if c, ok := m.(io.Closer); ok {
					if err := c.Close(); err != nil {
						t.Error(err)
					}
				} else if im.Instrumented {
					t.Errorf("%s has no Close", im.Name)
				}
			}
		})
	}
}

func exercise[K comparable, V comparable](t *testing.T, m Map[K, V], k1, k2 K, v1, v2 V) {
	t.Helper()
	if _, ok := m.Load(k1); ok {
		t.Errorf("a new map holds %v", k1)
	}
	m.Store(k1, v1)
	m.Store(k2, v2)
	if v, ok := m.Load(k1); !ok || v != v1 {
		t.Errorf("Load(%v) = %v, %v; want %v, true", k1, v, ok, v1)
	}
	got := map[K]V{}
	m.Range(func(k K, v V) bool { got[k] = v; return true })
	if len(got) != 2 || got[k1] != v1 || got[k2] != v2 {
		t.Errorf("Range saw %v", got)
	}
	if v, ok := m.LoadAndDelete(k1); !ok || v != v1 {
		t.Errorf("LoadAndDelete(%v) = %v, %v; want %v, true", k1, v, ok, v1)
	}
	m.Delete(k2)
	if _, ok := m.Load(k2); ok {
		t.Errorf("%v still there after Delete", k2)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New[int, int]("btree", Options{}); err == nil || !strings.Contains(err.Error(), "valid: mapx, mapx-instrumented") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := New[int, int]("sync.Map", Options{MaxEntries: 10}); err == nil || !strings.Contains(err.Error(), "-max-entries") {
		t.Errorf("admission without admission control: %v", err)
	}
	m, err := New[int, int]("mapx", Options{MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.(*mapx.Map[int, int]).TryStore(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := m.(*mapx.Map[int, int]).TryStore(2, 2); err == nil {
		t.Error("MaxEntries 1 admitted a second entry")
	}
}

func TestRWMapCompute(t *testing.T) {
	m := &RWMap[string, int]{m: map[string]int{}}
	inc := func(old int, _ bool) int { return old + 1 }
	m.Compute("a", inc)
	m.Compute("a", inc)
	if v, _ := m.Load("a"); v != 2 || m.Len() != 1 {
		t.Errorf("a = %d, len %d; want 2, 1", v, m.Len())
	}
}
