package engine

import (
	"slices"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
)

// analyzer reads checked conditions (macros not inlined: it follows them
// by name) to learn what they can match: the event types for the index,
// and (prefilter.go) what the kernel may drop.
//
// Every analysis follows a macro by name and remembers its answer per
// macro (and per type and field where it depends on them), so the work is
// linear in the size of the macro graph however much macros share: the
// first visit of a macro records a conservative answer, which is what a
// cycle (reported elsewhere) gets.
type analyzer struct {
	lists    map[string]*list
	macros   map[string]*macro
	types    map[string]typeResult   // eventTypes, per macro
	paths    map[string]pathSet      // pathsOf, per macro, type and field (prefilter.go)
	values   map[string]valuesResult // stringValues, per macro, type and field (argfilter.go)
	required map[string]bool         // requires, per macro, type and field
	readsOf  map[string]bool         // reads, per macro and field
	sockets  map[string][]sockCube   // sockCubes, per macro (argfilter.go)
}

func newAnalyzer(lists map[string]*list, macros map[string]*macro) *analyzer {
	return &analyzer{lists: lists, macros: macros, types: map[string]typeResult{}, paths: map[string]pathSet{},
		values: map[string]valuesResult{}, required: map[string]bool{}, readsOf: map[string]bool{},
		sockets: map[string][]sockCube{}}
}

type valuesResult struct {
	vals []string
	all  bool
}

// memoKey names an analysis of a macro for one event type and field.
func memoKey(macro string, t event.Type, field string) string {
	return macro + "\x00" + t.String() + "\x00" + field
}

type typeResult struct {
	set         event.TypeSet
	constrained bool
}

// nameOf returns the variable (field, list or macro) an identifier or a
// qualified select (evt.type) refers to.
func nameOf(e ast.Expr, refs map[int64]*ast.ReferenceInfo) string {
	if e.Kind() != ast.IdentKind && e.Kind() != ast.SelectKind {
		return ""
	}
	if r := refs[e.ID()]; r != nil && r.Name != "" && r.Value == nil {
		return r.Name
	}
	if e.Kind() == ast.IdentKind {
		return e.AsIdent()
	}
	return ""
}

// reads reports whether an expression reads a field, itself or through
// the macros it uses.
func (an *analyzer) reads(e ast.Expr, refs map[int64]*ast.ReferenceInfo, field string) bool {
	found := false
	ast.PostOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		name := nameOf(x, refs)
		if found || name == "" {
			return
		}
		if name == field {
			found = true
			return
		}
		m := an.macros[name]
		if m == nil || m.ast == nil {
			return
		}
		key := name + "\x00" + field
		r, ok := an.readsOf[key]
		if !ok {
			an.readsOf[key] = false
			r = an.reads(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap(), field)
			an.readsOf[key] = r
		}
		found = r
	}))
	return found
}

func stringLit(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// stringList returns the strings of a list literal or a named list of
// strings; a list(int) has none.
func (an *analyzer) stringList(e ast.Expr, refs map[int64]*ast.ReferenceInfo) ([]string, bool) {
	if e.Kind() == ast.ListKind {
		var out []string
		for _, el := range e.AsList().Elements() {
			s, ok := stringLit(el)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	if l := an.lists[nameOf(e, refs)]; l != nil && l.ints == nil {
		return l.Items, true
	}
	return nil, false
}

// eventTypes over-approximates the event types e can be true for. A false
// "constrained" means any type.
func (an *analyzer) eventTypes(e ast.Expr, refs map[int64]*ast.ReferenceInfo) (event.TypeSet, bool) {
	switch e.Kind() {
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && !bool(b) {
			return 0, true
		}
		return 0, false
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		m := an.macros[name]
		if m == nil {
			// A guard field (file.modified) is true only on its types.
			if f, ok := event.FieldByName(name); ok && f.Guard {
				return f.Types, true
			}
		}
		if m == nil || m.ast == nil {
			return 0, false
		}
		if r, ok := an.types[m.src.Name]; ok {
			return r.set, r.constrained
		}
		an.types[m.src.Name] = typeResult{} // a cycle is reported elsewhere
		set, c := an.eventTypes(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap())
		an.types[m.src.Name] = typeResult{set, c}
		return set, c
	case ast.CallKind:
	default:
		return 0, false
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		a, ac := an.eventTypes(args[0], refs)
		b, bc := an.eventTypes(args[1], refs)
		switch {
		case ac && bc:
			return a & b, true
		case ac:
			return a, true
		case bc:
			return b, true
		}
		return 0, false
	case operators.LogicalOr:
		a, ac := an.eventTypes(args[0], refs)
		b, bc := an.eventTypes(args[1], refs)
		if ac && bc {
			return a | b, true
		}
		return 0, false
	case operators.Equals, operators.NotEquals:
		for i := range 2 {
			if call.FunctionName() == operators.Equals && nameOf(args[i], refs) == "file.change" {
				if s, ok := stringLit(args[1-i]); ok && s != "" {
					return event.TypesChanging(s), true
				}
			}
			if nameOf(args[i], refs) != "evt.type" {
				continue
			}
			if s, ok := stringLit(args[1-i]); ok {
				set := typeSetOf(s)
				if call.FunctionName() == operators.NotEquals {
					set = event.AllTypes &^ set
				}
				return set, true
			}
		}
	case operators.In:
		if nameOf(args[0], refs) == "file.change" {
			if l, ok := an.stringList(args[1], refs); ok && !slices.Contains(l, "") {
				var set event.TypeSet
				for _, s := range l {
					set |= event.TypesChanging(s)
				}
				return set, true
			}
		}
		if nameOf(args[0], refs) == "evt.type" {
			if l, ok := an.stringList(args[1], refs); ok {
				var set event.TypeSet
				for _, s := range l {
					set |= typeSetOf(s)
				}
				return set, true
			}
		}
	}
	return 0, false
}

func typeSetOf(name string) event.TypeSet {
	if t, ok := event.ParseType(name); ok {
		return 1 << t
	}
	return 0
}

// unknownTypes reports string literals compared with evt.type that name no
// event type, with their expression ids.
func unknownTypes(e ast.Expr, refs map[int64]*ast.ReferenceInfo, lists map[string]*list) map[int64]string {
	out := map[int64]string{}
	visit(e, func(x ast.Expr) {
		if x.Kind() != ast.CallKind {
			return
		}
		c := x.AsCall()
		args := c.Args()
		check := func(lit ast.Expr) {
			if s, ok := stringLit(lit); ok {
				if _, known := event.ParseType(s); !known {
					out[lit.ID()] = s
				}
			}
		}
		switch c.FunctionName() {
		case operators.Equals, operators.NotEquals:
			for i := range 2 {
				if nameOf(args[i], refs) == "evt.type" {
					check(args[1-i])
				}
			}
		case operators.In:
			if nameOf(args[0], refs) == "evt.type" && args[1].Kind() == ast.ListKind {
				for _, el := range args[1].AsList().Elements() {
					check(el)
				}
			}
		}
	})
	return out
}
