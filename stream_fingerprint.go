package mapx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// ErrTypeMismatch is matched (with [errors.Is]) by the error of
// [Map.ReadFrom] for a stream written by a map of other key or value types.
// Such an error matches [ErrCorrupt] too, as a stream of another codec does:
// either way the stream cannot be loaded into this map as it is.
var ErrTypeMismatch = errors.New("mapx: snapshot of other types")

// A TypeMismatchError is returned by [Map.ReadFrom] for a stream recorded
// for other types of keys or values than the map's. The stream verified:
// it is intact, only not of this map's types. [AllowTypeChange] reads it
// anyway, for a deliberate change of schema.
type TypeMismatchError struct {
	Offset int64  // bytes into the stream where its types are recorded
	Stream string // the types the stream records
	Map    string // the types of the map that read it
}

func (e *TypeMismatchError) Error() string {
	return fmt.Sprintf("mapx: snapshot written for types %s cannot be read into a map of %s (mapx.AllowTypeChange reads it for a deliberate schema change)",
		clip(e.Stream), clip(e.Map))
}

// Is reports whether target is [ErrTypeMismatch] or [ErrCorrupt].
func (e *TypeMismatchError) Is(target error) bool {
	return target == ErrTypeMismatch || target == ErrCorrupt
}

func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// A ReadOption changes what [Map.ReadFromWith] accepts.
type ReadOption interface {
	applyRead(*readOptions)
}

type readOptions struct {
	allowTypeChange bool
}

type readOptionFunc func(*readOptions)

func (f readOptionFunc) applyRead(o *readOptions) { f(o) }

// AllowTypeChange makes [Map.ReadFromWith] read a stream recorded for other
// key or value types than the map's, for a deliberate schema migration: the
// codec then decodes the old entries into the new types by its own rules
// (gob and encoding/json match struct fields by name, drop fields the new
// type lacks and leave new fields zero). Everything else is still verified.
func AllowTypeChange() ReadOption {
	return readOptionFunc(func(o *readOptions) { o.allowTypeChange = true })
}

const (
	// maxFingerprintLen bounds the types field: a longer description is cut
	// and completed by its SHA-256, so equal types still compare equal.
	maxFingerprintLen = 4096
	// maxFingerprintDepth bounds how deep struct fields are described.
	maxFingerprintDepth = 6
)

var fingerprints sync.Map // reflect.Type of Pair[K, V] -> string

// typeFingerprint describes K and V for the stream's header: the name of
// each type and, for structs, the name, type and tag of each exported field,
// recursively (to maxFingerprintDepth levels, each named type once per
// path). Two maps whose codecs could decode each other's entries into
// different meanings then differ in fingerprint.
func typeFingerprint[K comparable, V any]() string {
	key := reflect.TypeFor[Pair[K, V]]()
	if s, ok := fingerprints.Load(key); ok {
		return s.(string)
	}
	var b strings.Builder
	b.WriteString("K=")
	describeType(&b, reflect.TypeFor[K](), 0, nil)
	b.WriteString(" V=")
	describeType(&b, reflect.TypeFor[V](), 0, nil)
	s := b.String()
	if len(s) > maxFingerprintLen {
		sum := sha256.Sum256([]byte(s))
		suffix := " sha256:" + hex.EncodeToString(sum[:])
		s = s[:maxFingerprintLen-len(suffix)] + suffix
	}
	fingerprints.Store(key, s)
	return s
}

func describeType(b *strings.Builder, t reflect.Type, depth int, path []reflect.Type) {
	named := t.Name() != ""
	if named {
		b.WriteString(t.String())
	}
	expand := depth < maxFingerprintDepth
	for _, p := range path {
		if p == t {
			expand = false // a recursive type
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if !named {
			b.WriteString("struct")
		}
		if !expand {
			return
		}
		path = append(path, t)
		b.WriteString("{")
		first := true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue // no codec of ours encodes it
			}
			if !first {
				b.WriteString("; ")
			}
			first = false
			b.WriteString(f.Name)
			b.WriteString(" ")
			describeType(b, f.Type, depth+1, path)
			if f.Tag != "" {
				b.WriteString(" " + strconv.Quote(string(f.Tag)))
			}
		}
		b.WriteString("}")
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		if named {
			if !expand {
				return
			}
			b.WriteString("(")
			defer b.WriteString(")")
		}
		path = append(path, t)
		switch t.Kind() {
		case reflect.Pointer:
			b.WriteString("*")
		case reflect.Slice:
			b.WriteString("[]")
		case reflect.Array:
			b.WriteString("[" + strconv.Itoa(t.Len()) + "]")
		case reflect.Map:
			b.WriteString("map[")
			describeType(b, t.Key(), depth+1, path)
			b.WriteString("]")
		}
		describeType(b, t.Elem(), depth+1, path)
	default:
		if !named {
			b.WriteString(t.String())
		}
	}
}
