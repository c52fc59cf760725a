package engine

import (
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

// activation resolves field names for one event at a time. A field is
// converted to a CEL value the first time a rule reads it and then shared
// by every rule that reads it for the same event, so the cost per event is
// one conversion per distinct field used, and evaluating a rule allocates
// nothing.
type activation struct {
	ev   *event.Event
	vals []ref.Val
}

func newActivation() *activation {
	return &activation{vals: make([]ref.Val, len(event.Fields))}
}

func (a *activation) reset(ev *event.Event) {
	a.ev = ev
	clear(a.vals)
}

func (a *activation) ResolveName(name string) (any, bool) {
	i, ok := fieldIndex[name]
	if !ok {
		return nil, false
	}
	if v := a.vals[i]; v != nil {
		return v, true
	}
	v := fieldValue(&event.Fields[i], a.ev)
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
	case event.KindIP:
		ip := f.IP(ev)
		if !ip.IsValid() {
			return types.String("")
		}
		return types.String(ip.String())
	}
	return types.NullValue
}
