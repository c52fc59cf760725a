package engine

import (
	"slices"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// The kernel-side argument filters (the Filters of each type's row in the
// event-type table): what the enabled rules require of an event's command
// name, ptrace request, bpf command, prctl option and requested ids,
// derived like the open filter — sound over-approximations, so the kernel
// drops only events no rule can match.

// stringValues over-approximates the values of a string field for which e
// can be true on events of type t; all is true when e does not constrain
// the field. Each macro is analysed once per type and field (an.values):
// macros that share macros stay linear, and a cycle (reported elsewhere)
// constrains nothing. The result may be shared: callers copy, never
// modify it.
func (an *analyzer) stringValues(e ast.Expr, refs map[int64]*ast.ReferenceInfo, t event.Type, field string) (vals []string, all bool) {
	if set, c := an.eventTypes(e, refs); c && !set.Has(t) {
		return nil, false // never true for t
	}
	switch e.Kind() {
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && !bool(b) {
			return nil, false
		}
		return nil, true
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		m := an.macros[name]
		if m == nil || m.ast == nil {
			return nil, true
		}
		key := memoKey(name, t, field)
		if r, ok := an.values[key]; ok {
			return r.vals, r.all
		}
		an.values[key] = valuesResult{all: true}
		vals, all := an.stringValues(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap(), t, field)
		an.values[key] = valuesResult{vals, all}
		return vals, all
	case ast.CallKind:
	default:
		return nil, true
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		a, aAll := an.stringValues(args[0], refs, t, field)
		b, bAll := an.stringValues(args[1], refs, t, field)
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
		a, aAll := an.stringValues(args[0], refs, t, field)
		b, bAll := an.stringValues(args[1], refs, t, field)
		if aAll || bAll {
			return nil, true
		}
		return append(slices.Clone(a), b...), false
	case operators.Equals:
		for i := range 2 {
			if s, ok := stringLit(args[1-i]); ok && nameOf(args[i], refs) == field {
				return []string{s}, false
			}
		}
	case operators.In:
		if nameOf(args[0], refs) == field {
			if l, ok := an.stringList(args[1], refs); ok {
				return l, false
			}
		}
	}
	return nil, true
}

// requires reports whether e can be true on events of type t only when
// the boolean field is true. Each macro is analysed once per type and
// field (an.required); a cycle requires nothing.
func (an *analyzer) requires(e ast.Expr, refs map[int64]*ast.ReferenceInfo, t event.Type, field string) bool {
	if set, c := an.eventTypes(e, refs); c && !set.Has(t) {
		return true // never true for t
	}
	switch e.Kind() {
	case ast.LiteralKind:
		b, ok := e.AsLiteral().(types.Bool)
		return ok && !bool(b)
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		if name == field {
			return true
		}
		m := an.macros[name]
		if m == nil || m.ast == nil {
			return false
		}
		key := memoKey(name, t, field)
		if r, ok := an.required[key]; ok {
			return r
		}
		an.required[key] = false
		r := an.requires(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap(), t, field)
		an.required[key] = r
		return r
	case ast.CallKind:
	default:
		return false
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		return an.requires(args[0], refs, t, field) || an.requires(args[1], refs, t, field)
	case operators.LogicalOr:
		return an.requires(args[0], refs, t, field) && an.requires(args[1], refs, t, field)
	case operators.Equals:
		for i := range 2 {
			if b, ok := args[1-i].AsLiteral().(types.Bool); args[1-i].Kind() == ast.LiteralKind && ok && bool(b) && nameOf(args[i], refs) == field {
				return true
			}
		}
	}
	return false
}

// argFilter derives the kernel's argument filters from the enabled rules.
func (rs *Ruleset) argFilter() plan.ArgFilter {
	var f plan.ArgFilter
	cond := func(r *Rule) (ast.Expr, map[int64]*ast.ReferenceInfo) {
		return r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap()
	}
	for _, t := range event.TypesWith(event.FilterName) {
		rules := rs.byType[t]
		if len(rules) == 0 {
			continue
		}
		var names []string
		all := false
		for _, r := range rules {
			e, refs := cond(r)
			n, a := rs.an.stringValues(e, refs, t, "proc.name")
			if a {
				all = true
				break
			}
			names = append(names, n...)
		}
		if !all {
			if f.Names == nil {
				f.Names = map[event.Type][]string{}
			}
			slices.Sort(names)
			f.Names[t] = slices.Compact(names)
		}
	}
	f.PtraceRequests = rs.numberFilter(event.TypePtrace, "ptrace.request", event.ParsePtraceRequest)
	f.BPFCmds = rs.numberFilter(event.TypeBPF, "bpf.cmd", event.ParseBPFCmd)
	f.PrctlOptions = rs.numberFilter(event.TypePrctl, "prctl.option", event.ParsePrctlOption)
	f.SocketTypes = rs.socketFilter()
	f.Files = rs.files
	f.NoSetidOld = !rs.readsSetidOld()
	f.SetidToRoot = true
	for _, t := range event.TypesWith(event.FilterSetidRoot) {
		for _, r := range rs.byType[t] {
			e, refs := cond(r)
			if !rs.an.requires(e, refs, t, "setid.to_root") {
				f.SetidToRoot = false
			}
		}
	}
	return f
}

// numberFilter is the set of values (by number) of a named-constant field
// that every rule of type t requires, or nil when some rule does not
// constrain it (or the type has no rules).
func (rs *Ruleset) numberFilter(t event.Type, field string, parse func(string) (uint32, bool)) []uint32 {
	rules := rs.byType[t]
	if len(rules) == 0 {
		return nil
	}
	var names []string
	for _, r := range rules {
		v, all := rs.an.stringValues(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap(), t, field)
		if all {
			return nil
		}
		names = append(names, v...)
	}
	out := []uint32{}
	for _, name := range names {
		if n, ok := parse(name); ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// fileFilters derives, per path type, what the rules require of
// file.path or, for a rule that does not constrain it, of the second path;
// a type one of whose rules constrains neither is not filtered.
func (rs *Ruleset) fileFilters() map[event.Type]plan.FileFilter {
	out := map[event.Type]plan.FileFilter{}
types:
	for _, t := range event.TypesWith(event.FilterPath) {
		second := t.Info().SecondPath
		rules := rs.byType[t]
		if len(rules) == 0 {
			continue
		}
		var ff plan.FileFilter
		for _, r := range rules {
			e, refs := r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap()
			if p := rs.an.pathsOf(e, refs, pathQuery{t, "file.path"}); !p.isAll() && !tooLong(p) {
				ff.First = append(ff.First, p...)
				continue
			}
			if second != "" {
				if p := rs.an.pathsOf(e, refs, pathQuery{t, second}); !p.isAll() && !tooLong(p) {
					ff.Second = append(ff.Second, p...)
					continue
				}
			}
			continue types // this rule may match any path
		}
		ff.First, ff.Second = dedupe(ff.First), dedupe(ff.Second)
		out[t] = ff
	}
	return out
}

// readsSetidOld reports whether an enabled rule of the set*id types reads
// the ids before the call, in its condition or its output.
func (rs *Ruleset) readsSetidOld() bool {
	old := []string{"setid.old_real", "setid.old_effective", "setid.old_saved", "setid.old_fs"}
	for _, t := range []event.Type{event.TypeSetuid, event.TypeSetgid} {
		for _, r := range rs.byType[t] {
			for _, f := range old {
				if slices.Contains(r.outFields, f) || rs.an.reads(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap(), f) {
					return true
				}
			}
		}
	}
	return false
}

// sockCube is a set of (socket.domain, socket.type) pairs: each domain of
// one mask (bit d, domains from plan.SocketDomains-1 up in the last bit)
// with each type of the other (bit type & event.SockTypeMask).
type sockCube struct {
	domains uint64
	types   uint16
}

var allSockets = sockCube{^uint64(0), ^uint16(0)}

// maxSockCubes bounds the cubes of one condition; more (a condition that
// ands many disjunctions) are not worth a filter.
const maxSockCubes = 64

// socketFilter is the kernel's socket filter: per domain, the types some
// enabled socket rule can match; nil when one may match any pair, or no
// rule reads socket events.
func (rs *Ruleset) socketFilter() []uint16 {
	rules := rs.byType[event.TypeSocket]
	if len(rules) == 0 {
		return nil
	}
	out := make([]uint16, plan.SocketDomains)
	for _, r := range rules {
		cubes := rs.an.sockCubes(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap())
		for _, c := range cubes {
			if c == allSockets {
				return nil
			}
			for d := range plan.SocketDomains {
				if c.domains&(1<<d) != 0 {
					out[d] |= c.types
				}
			}
		}
	}
	return out
}

// sockCubes over-approximates the (socket.domain, socket.type) pairs on
// which e can be true for socket events, as a union of cubes: and
// intersects, or unites, a comparison of either field with names gives
// their bits, anything else (negations included) gives every pair.
// Macros are followed by name (an.sockets), a cycle gives every pair.
func (an *analyzer) sockCubes(e ast.Expr, refs map[int64]*ast.ReferenceInfo) []sockCube {
	if set, c := an.eventTypes(e, refs); c && !set.Has(event.TypeSocket) {
		return nil // never true for socket events
	}
	switch e.Kind() {
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && !bool(b) {
			return nil
		}
		return []sockCube{allSockets}
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		m := an.macros[name]
		if m == nil || m.ast == nil {
			return []sockCube{allSockets}
		}
		if r, ok := an.sockets[name]; ok {
			return r
		}
		an.sockets[name] = []sockCube{allSockets}
		r := an.sockCubes(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap())
		an.sockets[name] = r
		return r
	case ast.CallKind:
	default:
		return []sockCube{allSockets}
	}
	args := e.AsCall().Args()
	switch e.AsCall().FunctionName() {
	case operators.LogicalAnd:
		a, b := an.sockCubes(args[0], refs), an.sockCubes(args[1], refs)
		var out []sockCube
		for _, x := range a {
			for _, y := range b {
				if c := (sockCube{x.domains & y.domains, x.types & y.types}); c.domains != 0 && c.types != 0 && !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
		if len(out) > maxSockCubes {
			return []sockCube{allSockets}
		}
		return out
	case operators.LogicalOr:
		out := append(slices.Clone(an.sockCubes(args[0], refs)), an.sockCubes(args[1], refs)...)
		if len(out) > maxSockCubes {
			return []sockCube{allSockets}
		}
		return out
	case operators.Equals, operators.In:
		for _, f := range []struct {
			name  string
			parse func(string) (uint32, bool)
			dom   bool
		}{{"socket.domain", event.ParseSockDomain, true}, {"socket.type", event.ParseSockType, false}} {
			vals, all := an.stringValues(e, refs, event.TypeSocket, f.name)
			if all {
				continue
			}
			c := sockCube{0, ^uint16(0)}
			if !f.dom {
				c = sockCube{^uint64(0), 0}
			}
			for _, v := range vals {
				n, ok := f.parse(v)
				switch {
				case !ok:
					return []sockCube{allSockets} // a value the kernel's numbers cannot name
				case f.dom:
					c.domains |= 1 << min(n, plan.SocketDomains-1)
				default:
					c.types |= 1 << (n & event.SockTypeMask)
				}
			}
			if c.domains == 0 || c.types == 0 {
				return nil // an empty list: never true
			}
			return []sockCube{c}
		}
	}
	return []sockCube{allSockets}
}
