package engine

import (
	"unsafe"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/vigil-project/vigil/engine/event"
)

// fieldIndex maps a field name to its position in event.Fields.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(event.Fields))
	for i, f := range event.Fields {
		m[f.Name] = i
	}
	return m
}()

// activation resolves names for one event at a time. A field is converted
// to a CEL value the first time a rule reads it, and a macro evaluated the
// first time a rule names it; both are then shared by every rule for the
// same event. So the cost per event is one conversion per distinct field
// and one evaluation per distinct macro used, and evaluating a rule
// allocates nothing.
type activation struct {
	rs    *Ruleset
	ev    *event.Event
	vals  []ref.Val
	slots [256]slotCache
}

// slotCache remembers the slot of a name by the address of its bytes:
// cel-go resolves an attribute with the same string every time, so a
// pointer compare replaces a map lookup. Equal address and length mean
// the same (immutable) bytes.
type slotCache struct {
	ptr  *byte
	n    int
	slot int
}

func newActivation() *activation { return &activation{} }

func (a *activation) reset(rs *Ruleset, ev *event.Event) {
	if a.rs != rs {
		a.slots = [256]slotCache{}
	}
	a.rs, a.ev = rs, ev
	if n := len(event.Fields) + len(rs.macros); cap(a.vals) < n {
		a.vals = make([]ref.Val, n)
	} else {
		a.vals = a.vals[:n]
		clear(a.vals)
	}
}

func (a *activation) ResolveName(name string) (any, bool) {
	p := unsafe.StringData(name)
	c := &a.slots[(uintptr(unsafe.Pointer(p))>>3)&255]
	i := c.slot
	if c.ptr != p || c.n != len(name) || p == nil {
		var ok bool
		if i, ok = a.rs.names[name]; !ok {
			return nil, false
		}
		*c = slotCache{ptr: p, n: len(name), slot: i}
	}
	if v := a.vals[i]; v != nil {
		return v, true
	}
	var v ref.Val
	if i < len(event.Fields) {
		v = fieldValue(&event.Fields[i], a.ev)
	} else {
		out, _, err := a.rs.macros[i-len(event.Fields)].Eval(a)
		if err != nil {
			out = types.WrapErr(err)
		}
		v = out
	}
	a.vals[i] = v
	return v, true
}

func (a *activation) Parent() interpreter.Activation { return nil }

// fieldValue converts one field of ev to its CEL value.
func fieldValue(f *event.Field, ev *event.Event) ref.Val {
	switch f.Kind {
	case event.KindString:
		return types.String(f.Str(ev))
	case event.KindInt:
		return types.Int(f.Int(ev))
	case event.KindUint:
		return types.Int(int64(f.Uint(ev)))
	case event.KindBool:
		return types.Bool(f.Bool(ev))
	case event.KindTime:
		return types.Timestamp{Time: f.Time(ev)}
	case event.KindStrings:
		return types.NewStringList(types.DefaultTypeAdapter, f.Strs(ev))
	case event.KindMap:
		m := f.Map(ev)
		if m == nil {
			m = map[string]string{}
		}
		return types.NewStringStringMap(types.DefaultTypeAdapter, m)
	case event.KindIP:
		ip := f.IP(ev)
		if !ip.IsValid() {
			return types.String("")
		}
		return types.String(ip.String())
	}
	return types.NullValue
}
