package engine

import (
	"slices"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
)

// gate is a rule's path-and-flags index for open events: the same sound
// over-approximation the kernel filter uses (prefilter.go), checked before
// the condition runs, so an open meets only the rules that name its path.
type gate struct {
	exact    map[string]uint32 // path -> any-of flags (0: any)
	prefixes []event.PathRule
}

func newGate(s pathSet) *gate {
	if s.isAll() {
		return nil
	}
	g := &gate{exact: map[string]uint32{}}
	for _, r := range s {
		if r.Exact {
			need, seen := g.exact[r.Path]
			g.exact[r.Path] = mergeAnyOf(need, seen, r.AnyFlags)
			continue
		}
		g.prefixes = append(g.prefixes, r)
	}
	return g
}

func mergeAnyOf(cur uint32, seen bool, add uint32) uint32 {
	if !seen {
		return add
	}
	if cur == 0 || add == 0 {
		return 0
	}
	return cur | add
}

// admits reports whether the rule may match an open of path with flags.
func (g *gate) admits(path string, flags uint32) bool {
	if need, ok := g.exact[path]; ok && (need == 0 || flags&need != 0) {
		return true
	}
	for _, p := range g.prefixes {
		if (p.AnyFlags == 0 || flags&p.AnyFlags != 0) && strings.HasPrefix(path, p.Path) {
			return true
		}
	}
	return false
}

// nameGate is a rule's index on proc.name for exec events: the names its
// condition can be true for (nil: any name).
type nameGate map[string]struct{}

// execNames over-approximates the proc.name values an expression can be
// true for on exec events; all is true when it does not constrain them.
func (an *analyzer) execNames(e ast.Expr, refs map[int64]*ast.ReferenceInfo) (names []string, all bool) {
	if set, c := an.eventTypes(e, refs); c && !set.Has(event.TypeExec) {
		return nil, false
	}
	switch e.Kind() {
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && !bool(b) {
			return nil, false
		}
		return nil, true
	case ast.IdentKind, ast.SelectKind:
		m := an.macros[nameOf(e, refs)]
		if m == nil || m.ast == nil {
			return nil, true
		}
		if r, ok := an.names[m.src.Name]; ok {
			return r.names, r.all
		}
		an.names[m.src.Name] = nameResult{all: true} // cycles are reported elsewhere
		n, a := an.execNames(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap())
		an.names[m.src.Name] = nameResult{n, a}
		return n, a
	case ast.CallKind:
	default:
		return nil, true
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		a, aAll := an.execNames(args[0], refs)
		b, bAll := an.execNames(args[1], refs)
		switch {
		case aAll && bAll:
			return nil, true
		case aAll:
			return b, false
		case bAll:
			return a, false
		}
		var out []string
		for _, x := range a {
			if slices.Contains(b, x) {
				out = append(out, x)
			}
		}
		return out, false
	case operators.LogicalOr:
		a, aAll := an.execNames(args[0], refs)
		b, bAll := an.execNames(args[1], refs)
		if aAll || bAll {
			return nil, true
		}
		return append(slices.Clone(a), b...), false
	case operators.Equals:
		for i := range 2 {
			if s, ok := stringLit(args[1-i]); ok && nameOf(args[i], refs) == "proc.name" {
				return []string{s}, false
			}
		}
	case operators.In:
		if nameOf(args[0], refs) == "proc.name" {
			if l, ok := an.stringList(args[1], refs); ok {
				return l, false
			}
		}
	}
	return nil, true
}

type nameResult struct {
	names []string
	all   bool
}

func newNameGate(names []string, all bool) nameGate {
	if all {
		return nil
	}
	g := nameGate{}
	for _, n := range names {
		g[n] = struct{}{}
	}
	return g
}
