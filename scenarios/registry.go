package scenarios

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
)

// Kind describes a registered kind of step action or leaf condition.
type Kind struct {
	// Name is the kind's YAML key.
	Name string
	// Type is the Go type name of the kind, whose doc comment and fields
	// document it.
	Type string
}

// registry maps YAML keys to the kinds of one family (step actions or
// leaf conditions); T is the family's interface.
type registry[T any] struct {
	family   string
	reserved []string // keys of the enclosing type, which no kind may take
	mu       sync.RWMutex
	kinds    map[string]entry[T]
}

type entry[T any] struct {
	Kind
	new func() T
}

func newRegistry[T any](family string, reserved ...string) *registry[T] {
	return &registry[T]{family: family, reserved: reserved, kinds: map[string]entry[T]{}}
}

// add registers a kind; it panics if the name is taken or newKind does
// not return a pointer, as two kinds of one name are a programming
// error.
func (r *registry[T]) add(name string, newKind func() T) {
	t := reflect.TypeOf(newKind())
	if t == nil || t.Kind() != reflect.Pointer {
		panic(fmt.Sprintf("scenarios: %s kind %q must be a pointer, got %v", r.family, name, t))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, dup := r.kinds[name]
	for _, k := range r.reserved {
		dup = dup || k == name
	}
	if dup {
		panic(fmt.Sprintf("scenarios: %s kind %q registered twice", r.family, name))
	}
	r.kinds[name] = entry[T]{Kind: Kind{Name: name, Type: t.Elem().Name()}, new: newKind}
}

// remove forgets a kind (for tests).
func (r *registry[T]) remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.kinds, name)
}

// list returns the kinds by name.
func (r *registry[T]) list() []Kind {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k.Kind)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// names returns the kinds' YAML keys, sorted.
func (r *registry[T]) names() []string {
	var names []string
	for _, k := range r.list() {
		names = append(names, k.Name)
	}
	return names
}

// make returns a new value of the named kind.
func (r *registry[T]) make(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	if !ok {
		var zero T
		return zero, false
	}
	return k.new(), true
}

// registerForTest registers a kind for the length of a test.
func (r *registry[T]) registerForTest(t interface{ Cleanup(func()) }, name string, newKind func() T) {
	r.add(name, newKind)
	t.Cleanup(func() { r.remove(name) })
}
