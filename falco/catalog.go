package falco

import (
	"slices"
	"strings"
	"sync"

	"github.com/vigil-project/vigil/engine/event"
)

// FieldInfo is one Falco field as vigil has it: the vigil fields it reads
// (or the CEL it becomes), or what vigil would need for it.
type FieldInfo struct {
	Falco string   `json:"falco"`
	Vigil []string `json:"vigil,omitempty"` // the vigil fields it is, by event types
	CEL   []string `json:"cel,omitempty"`   // the value's CEL, per variant, when not a plain field
	Needs string   `json:"needs,omitempty"`
}

// Catalog lists every Falco field vigil knows, by name.
func Catalog() []FieldInfo { return slices.Clone(catalog()) }

// catalog is built once: the field table does not change after init.
var catalog = sync.OnceValue(func() []FieldInfo {
	var out []FieldInfo
	for name, f := range fieldTable {
		fi := FieldInfo{Falco: name, Needs: f.needs}
		arg := ""
		if f.arg == argIndex || f.arg == argKey {
			arg = "1"
		}
		for _, v := range f.variants {
			x := v.expr(arg)
			if fieldName(x) && !slices.Contains(fi.Vigil, x) {
				fi.Vigil = append(fi.Vigil, x)
			} else if !fieldName(x) && !slices.Contains(fi.CEL, x) {
				fi.CEL = append(fi.CEL, x)
			}
		}
		out = append(out, fi)
	}
	for name, what := range missingFields {
		out = append(out, FieldInfo{Falco: name, Needs: what})
	}
	for _, name := range []string{"evt.type", "evt.dir", "evt.res", "evt.num"} {
		out = append(out, FieldInfo{Falco: name, CEL: []string{specialFields[name]}})
	}
	slices.SortFunc(out, func(a, b FieldInfo) int { return strings.Compare(a.Falco, b.Falco) })
	return out
})

// specialFields are the Falco fields translation decides at load.
var specialFields = map[string]string{
	"evt.type": "evt.type and evt.syscall (Falco's event names)",
	"evt.dir":  "< is true, > false (vigil records exits)",
	"evt.res":  "evt.res (numbers: SUCCESS is >= 0, an error's name -N)",
	"evt.num":  "evt.num = 0 is never true",
}

// NamesOf returns the Falco fields that are the vigil field name on some
// event types, in name order.
func NamesOf(name string) []string {
	var out []string
	for _, fi := range catalog() {
		if slices.Contains(fi.Vigil, name) {
			out = append(out, fi.Falco)
		}
	}
	return out
}

func fieldName(x string) bool {
	_, ok := event.FieldByName(x)
	return ok
}
