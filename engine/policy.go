package engine

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/rules"
)

// Compiling deny and kill rules into kernel policy (plan.Policy). The
// condition (and the negation of each exception) is put in disjunctive
// normal form per event type the rule can match: evt.type tests become
// true or false, every other test must be one the kernel can make, else
// the rule does not load and the error names the part that cannot run in
// the kernel.

// polLit is one atom of a conjunction under construction: a test, or a
// constant when it is decided by the event type alone.
type polLit struct {
	atom  plan.PolicyAtom
	konst int8 // 0: atom; 1: true; -1: false
}

type polDNF [][]polLit // an OR of ANDs

var (
	dnfTrue  = polDNF{{}}
	dnfFalse = polDNF{}
)

// maxDNF bounds a rule's conjunctions per type while expanding.
const maxDNF = plan.MaxPolicyConjs

// polError is a part of a condition that cannot run in the kernel.
type polError struct {
	expr ast.Expr
	src  *polSource
	msg  string
}

func (e *polError) Error() string { return e.msg }

// polSource is a checked expression and the text it was compiled from, to
// place errors.
type polSource struct {
	a    *cel.Ast
	text rules.Text
}

// polBuilder converts one condition for one event type.
type polBuilder struct {
	an     *analyzer
	typ    event.Type
	macros map[string]*polSource
}

// ruleConj is what a rule contributes to one type's policy.
type ruleConj struct {
	atoms [][]plan.PolicyAtom // an OR of ANDs
}

// compilePolicy converts a deny or kill rule, then refuses it if it would
// act on most of the system or on a protected process without saying it
// means to (checkReach). Errors are load errors.
func (k *compilation) compilePolicy(cr *Rule, an *analyzer, excs []polSource) {
	r := cr.src
	item := fmt.Sprintf("rule %q", r.Name)
	var acting event.TypeSet
	for _, t := range plan.PolicyTypes {
		acting |= 1 << t
	}
	if extra := cr.Types &^ acting; extra != 0 {
		k.errorf(r.Condition.Pos(0), item, rules.CodePolicyType,
			"action %s needs a kernel hook, which exists for exec, open and connect only; this condition can also match %s",
			r.Action, typeList(extra))
		return
	}
	macros := map[string]*polSource{}
	for name, m := range an.macros {
		if m.ast != nil {
			macros[name] = &polSource{a: m.ast, text: m.src.Condition}
		}
	}
	cond := &polSource{a: cr.cond, text: r.Condition}
	for _, t := range plan.PolicyTypes {
		if !cr.Types.Has(t) {
			continue
		}
		b := &polBuilder{an: an, typ: t, macros: macros}
		d, err := b.dnf(cond, cond.a.NativeRep().Expr(), false)
		for i := range excs {
			if err != nil {
				break
			}
			var ne polDNF
			ne, err = b.dnf(&excs[i], excs[i].a.NativeRep().Expr(), true)
			if err == nil {
				d, err = and(d, ne)
			}
		}
		if err != nil {
			pe := err.(*polError)
			pos := r.Condition.Pos(0)
			if pe.expr != nil && pe.src != nil {
				pos = pe.src.pos(pe.expr)
			}
			k.errorf(pos, item, rules.CodePolicy, "action %s for %s events: %s", r.Action, t, pe.msg)
			return
		}
		var rc ruleConj
		for _, conj := range d {
			var atoms []plan.PolicyAtom
			for _, l := range conj {
				atoms = append(atoms, l.atom)
			}
			rc.atoms = append(rc.atoms, atoms)
		}
		if cr.policy == nil {
			cr.policy = map[event.Type]ruleConj{}
		}
		cr.policy[t] = rc
	}
	k.checkReach(cr)
}

func (s *polSource) pos(e ast.Expr) rules.Pos {
	from, _, ok := s.span(e)
	if !ok {
		return s.text.Pos(0)
	}
	return s.text.Pos(from)
}

// span returns the byte offsets in s.text.S of the first and the last
// character of e, children included (CEL places a call at its operator).
func (s *polSource) span(e ast.Expr) (from, to int, ok bool) {
	info := s.a.NativeRep().SourceInfo()
	lo, hi := int32(math.MaxInt32), int32(-1)
	ast.PostOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		if r, found := info.GetOffsetRange(x.ID()); found {
			start := r.Start
			if x.Kind() == ast.IdentKind {
				// A qualified name (proc.cmdline) checked into one
				// identifier keeps the place of its last dot.
				if i := strings.LastIndexByte(x.AsIdent(), '.'); i > 0 && start >= int32(i) {
					start -= int32(i)
				}
			}
			lo, hi = min(lo, start), max(hi, r.Stop)
		}
	}))
	if hi < lo {
		return 0, 0, false
	}
	byteOff := func(o int32) int {
		loc := info.GetLocationByOffset(o)
		return offsetOf(s.text.S, loc.Line(), loc.Column())
	}
	return byteOff(lo), byteOff(hi), true
}

func (b *polBuilder) fail(src *polSource, e ast.Expr, format string, args ...any) error {
	return &polError{expr: e, src: src, msg: fmt.Sprintf(format, args...)}
}

// and is the product of two DNFs, with constants folded.
func and(x, y polDNF) (polDNF, error) {
	var out polDNF
	for _, a := range x {
		for _, b := range y {
			c := append(slices.Clone(a), b...)
			out = append(out, c)
			if len(out) > maxDNF {
				return nil, &polError{msg: fmt.Sprintf("more than %d alternatives once expanded; split the rule", maxDNF)}
			}
		}
	}
	return out, nil
}

func or(x, y polDNF) (polDNF, error) {
	out := append(slices.Clone(x), y...)
	if len(out) > maxDNF {
		return nil, &polError{msg: fmt.Sprintf("more than %d alternatives once expanded; split the rule", maxDNF)}
	}
	return out, nil
}

// constant returns the DNF of a boolean.
func constant(v bool) polDNF {
	if v {
		return dnfTrue
	}
	return dnfFalse
}

func atom(a plan.PolicyAtom, neg bool) polDNF {
	a.Neg = a.Neg != neg
	return polDNF{{{atom: a}}}
}

// dnf converts e (negated when neg) to disjunctive normal form.
func (b *polBuilder) dnf(src *polSource, e ast.Expr, neg bool) (polDNF, error) {
	refs := src.a.NativeRep().ReferenceMap()
	switch e.Kind() {
	case ast.LiteralKind:
		if v, ok := e.AsLiteral().(types.Bool); ok {
			return constant(bool(v) != neg), nil
		}
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		if m := b.macros[name]; m != nil {
			return b.dnf(m, m.a.NativeRep().Expr(), neg)
		}
		return nil, b.fail(src, e, "%s is not a test the kernel can make", exprText(src, e))
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case operators.LogicalNot:
			return b.dnf(src, args[0], !neg)
		case operators.LogicalAnd, operators.LogicalOr:
			x, err := b.dnf(src, args[0], neg)
			if err != nil {
				return nil, err
			}
			y, err := b.dnf(src, args[1], neg)
			if err != nil {
				return nil, err
			}
			if (call.FunctionName() == operators.LogicalAnd) != neg {
				return and(x, y)
			}
			return or(x, y)
		}
		a, konst, err := b.test(src, e)
		if err != nil {
			return nil, err
		}
		if konst != 0 {
			return constant((konst > 0) != neg), nil
		}
		return atom(a, neg), nil
	}
	return nil, b.fail(src, e, "%s is not a test the kernel can make", exprText(src, e))
}

// exprText is the source of e, for messages.
func exprText(src *polSource, e ast.Expr) string {
	from, to, ok := src.span(e)
	s := src.text.S
	to = min(to, len(s)-1)
	if !ok || from < 0 || from > to {
		return "this expression"
	}
	return "`" + s[from:to+1] + "`"
}

// test converts one comparison or function call to an atom, or to a
// constant (konst 1 true, -1 false) when the event type decides it.
func (b *polBuilder) test(src *polSource, e ast.Expr) (plan.PolicyAtom, int8, error) {
	refs := src.a.NativeRep().ReferenceMap()
	call := e.AsCall()
	args := call.Args()
	fn := call.FunctionName()
	var none plan.PolicyAtom
	unsupported := func() (plan.PolicyAtom, int8, error) {
		return none, 0, b.fail(src, e, "%s cannot run in the kernel (it can test %s: ==, !=, in, startsWith, under, inCidr(s), port comparisons; and container.id == \"\" or != \"\")",
			exprText(src, e), b.classesFor())
	}
	switch fn {
	case operators.Equals, operators.NotEquals:
		for i := range 2 {
			field, lit := args[i], args[1-i]
			name := nameOf(field, refs)
			if name == "" {
				continue
			}
			if name == "container.id" {
				// container.id != "" (in a container) and == "" (on the
				// host) are the scope tests the kernel can make.
				if s, ok := stringLit(lit); ok && s == "" {
					return plan.PolicyAtom{Class: plan.PolScope, Neg: fn == operators.Equals}, 0, nil
				}
				return unsupported()
			}
			if name == "evt.type" {
				s, ok := stringLit(lit)
				if !ok {
					return unsupported()
				}
				k := int8(-1)
				if s == b.typ.String() {
					k = 1
				}
				if fn == operators.NotEquals {
					k = -k
				}
				return none, k, nil
			}
			a, err := b.valueAtom(src, e, name, []ast.Expr{lit}, refs)
			if err != nil {
				return none, 0, err
			}
			a.Neg = fn == operators.NotEquals
			return a, 0, nil
		}
	case operators.In:
		name := nameOf(args[0], refs)
		if name == "evt.type" {
			l, ok := b.an.stringList(args[1], refs)
			if !ok {
				return unsupported()
			}
			if slices.Contains(l, b.typ.String()) {
				return none, 1, nil
			}
			return none, -1, nil
		}
		if args[1].Kind() == ast.ListKind {
			a, err := b.valueAtom(src, e, name, args[1].AsList().Elements(), refs)
			return a, 0, err
		}
		if l := b.an.lists[nameOf(args[1], refs)]; l != nil && name != "" {
			var lits []ast.Expr
			for i, s := range l.Items {
				if l.ints != nil { // a list(int): net.dport in web_ports
					lits = append(lits, ast.NewExprFactory().NewLiteral(0, types.Int(l.ints[i])))
				} else {
					lits = append(lits, stringExpr(s))
				}
			}
			a, err := b.valueAtom(src, e, name, lits, refs)
			return a, 0, err
		}
	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		return b.portRange(src, e, fn, args, refs)
	case "startsWith", "startsWithAny", "under", "underAny", "inCidr", "inCidrs":
		if !call.IsMemberFunction() || len(args) != 1 {
			return unsupported()
		}
		name := nameOf(call.Target(), refs)
		var items []string
		if s, ok := stringLit(args[0]); ok {
			items = []string{s}
		} else if l, ok := b.an.stringList(args[0], refs); ok {
			items = l
		} else {
			return unsupported()
		}
		var a plan.PolicyAtom
		switch {
		case (fn == "inCidr" || fn == "inCidrs") && name == "net.dip":
			a.Class = plan.PolDIP
			for _, s := range items {
				p, ok := parsePrefix(s)
				if !ok {
					return none, 0, b.fail(src, e, "%q is not an IP address or prefix", s)
				}
				a.Nets = append(a.Nets, p)
			}
		case name == "proc.exe" || name == "file.path":
			a.Class = plan.PolExe
			if name == "file.path" {
				a.Class = plan.PolFile
			}
			for _, s := range items {
				if !strings.HasPrefix(s, "/") {
					return none, 0, b.fail(src, e, "%q: the kernel matches absolute paths only", s)
				}
				if fn == "under" || fn == "underAny" {
					d := strings.TrimRight(s, "/")
					if d != "" {
						a.Paths = append(a.Paths, plan.PathRule{Path: d, Exact: true})
					}
					a.Paths = append(a.Paths, plan.PathRule{Path: d + "/"})
				} else {
					a.Paths = append(a.Paths, plan.PathRule{Path: s})
				}
			}
		default:
			return unsupported()
		}
		if err := b.classOK(src, e, a.Class); err != nil {
			return none, 0, err
		}
		return a, 0, nil
	}
	return unsupported()
}

func stringExpr(s string) ast.Expr {
	return ast.NewExprFactory().NewLiteral(0, types.String(s))
}

// classesFor names the fields the kernel can test for b's event type.
func (b *polBuilder) classesFor() string {
	var names []string
	for c := plan.PolicyClass(0); c < plan.PolScope; c++ {
		if classFor(b.typ, c) {
			names = append(names, c.String())
		}
	}
	return strings.Join(names, ", ")
}

// classFor reports whether the kernel can test class c on events of type t.
func classFor(t event.Type, c plan.PolicyClass) bool {
	switch c {
	case plan.PolFile:
		return t == event.TypeOpen
	case plan.PolDIP, plan.PolDPort, plan.PolFamily:
		return t == event.TypeConnect
	}
	return true
}

func (b *polBuilder) classOK(src *polSource, e ast.Expr, c plan.PolicyClass) error {
	if !classFor(b.typ, c) {
		return b.fail(src, e, "%s is not known when the kernel decides on %s events", c, b.typ)
	}
	return nil
}

// fieldClass maps a field to its atom class.
func fieldClass(name string) (plan.PolicyClass, bool) {
	switch name {
	case "proc.exe":
		return plan.PolExe, true
	case "proc.name":
		return plan.PolName, true
	case "file.path":
		return plan.PolFile, true
	case "net.dip":
		return plan.PolDIP, true
	case "net.dport":
		return plan.PolDPort, true
	case "user.uid", "proc.uid":
		return plan.PolUID, true
	case "net.family":
		return plan.PolFamily, true
	}
	return 0, false
}

// valueAtom builds "field is one of these literals".
func (b *polBuilder) valueAtom(src *polSource, e ast.Expr, field string, lits []ast.Expr, refs map[int64]*ast.ReferenceInfo) (plan.PolicyAtom, error) {
	c, ok := fieldClass(field)
	if !ok {
		return plan.PolicyAtom{}, b.fail(src, e, "%s cannot run in the kernel: it can test %s", exprText(src, e), b.classesFor())
	}
	if err := b.classOK(src, e, c); err != nil {
		return plan.PolicyAtom{}, err
	}
	a := plan.PolicyAtom{Class: c}
	for _, l := range lits {
		if l.Kind() != ast.LiteralKind {
			return a, b.fail(src, e, "%s: the kernel compares with literal values only", exprText(src, e))
		}
		switch v := l.AsLiteral().(type) {
		case types.String:
			s := string(v)
			switch c {
			case plan.PolExe, plan.PolFile:
				if !strings.HasPrefix(s, "/") {
					return a, b.fail(src, e, "%q: the kernel matches absolute paths only", s)
				}
				a.Paths = append(a.Paths, plan.PathRule{Path: s, Exact: true})
			case plan.PolFamily:
				if s != "ipv4" && s != "ipv6" && s != "unix" {
					return a, b.fail(src, e, "%q is not a family the kernel reports (ipv4, ipv6, unix)", s)
				}
				a.Names = append(a.Names, s)
			case plan.PolName:
				if len(s) > 15 {
					return a, b.fail(src, e, "%q: proc.name is at most 15 bytes (the kernel's comm), so it can never be equal", s)
				}
				a.Names = append(a.Names, s)
			case plan.PolDIP:
				ip, err := netip.ParseAddr(s)
				if err != nil {
					return a, b.fail(src, e, "%q is not an IP address", s)
				}
				ip = ip.Unmap()
				a.Nets = append(a.Nets, netip.PrefixFrom(ip, ip.BitLen()))
			default:
				return a, b.fail(src, e, "%s is a number", field)
			}
		case types.Int:
			switch c {
			case plan.PolDPort:
				if v < 0 || v > 65535 {
					return a, b.fail(src, e, "port %d out of range", v)
				}
				a.Ports = append(a.Ports, [2]uint16{uint16(v), uint16(v)})
			case plan.PolUID:
				if v < 0 || v > 0xffffffff {
					return a, b.fail(src, e, "uid %d out of range", v)
				}
				a.UIDs = append(a.UIDs, uint32(v))
			default:
				return a, b.fail(src, e, "%s is a string", field)
			}
		default:
			return a, b.fail(src, e, "%s: unsupported literal", exprText(src, e))
		}
	}
	return a, nil
}

// portRange converts net.dport >= N (and the other comparisons) to a range.
func (b *polBuilder) portRange(src *polSource, e ast.Expr, fn string, args []ast.Expr, refs map[int64]*ast.ReferenceInfo) (plan.PolicyAtom, int8, error) {
	field, lit := args[0], args[1]
	if nameOf(field, refs) == "" {
		field, lit = args[1], args[0]
		fn = map[string]string{operators.Less: operators.Greater, operators.Greater: operators.Less,
			operators.LessEquals: operators.GreaterEquals, operators.GreaterEquals: operators.LessEquals}[fn]
	}
	name := nameOf(field, refs)
	v, ok := int64(0), false
	if lit.Kind() == ast.LiteralKind {
		if n, isInt := lit.AsLiteral().(types.Int); isInt {
			v, ok = int64(n), true
		}
	}
	if (name != "net.dport") || !ok {
		return plan.PolicyAtom{}, 0, b.fail(src, e, "%s cannot run in the kernel: only net.dport can be compared with < <= > >= (and a number)", exprText(src, e))
	}
	if err := b.classOK(src, e, plan.PolDPort); err != nil {
		return plan.PolicyAtom{}, 0, err
	}
	lo, hi := int64(0), int64(65535)
	switch fn {
	case operators.Less:
		hi = v - 1
	case operators.LessEquals:
		hi = v
	case operators.Greater:
		lo = v + 1
	case operators.GreaterEquals:
		lo = v
	}
	lo, hi = max(lo, 0), min(hi, 65535)
	if lo > hi {
		return plan.PolicyAtom{}, -1, nil // never true
	}
	return plan.PolicyAtom{Class: plan.PolDPort, Ports: [][2]uint16{{uint16(lo), uint16(hi)}}}, 0, nil
}

// Policy assembles the kernel policy of the enabled deny and kill rules.
// audit makes every rule audit-only (enforcement off globally).
func (rs *Ruleset) Policy(audit bool, allow []string) (plan.Policy, error) {
	p := plan.Policy{Allow: slices.Clone(allow)}
	for _, r := range rs.Rules {
		if !r.Enabled || r.policy == nil {
			continue
		}
		for ti, t := range plan.PolicyTypes {
			rc, ok := r.policy[t]
			if !ok {
				continue
			}
			tp := &p.Types[ti]
			for _, atoms := range rc.atoms {
				c := plan.PolicyConj{Rule: r.Name, Action: string(r.Action), Enforce: r.Enforce && !audit, Fallback: string(r.Fallback)}
				for _, a := range atoms {
					c.Atoms = append(c.Atoms, tp.AddAtom(a))
				}
				tp.Conjs = append(tp.Conjs, c)
			}
			if len(tp.Atoms) > plan.MaxPolicyAtoms || len(tp.Conjs) > plan.MaxPolicyConjs {
				return p, fmt.Errorf("the deny and kill rules for %s events need %d tests in %d alternatives; the kernel holds %d and %d",
					t, len(tp.Atoms), len(tp.Conjs), plan.MaxPolicyAtoms, plan.MaxPolicyConjs)
			}
		}
	}
	return p, nil
}

// RulePos returns the file:line:col of the rule called name.
func (rs *Ruleset) RulePos(name string) string {
	for _, r := range rs.Rules {
		if r.Name == name && r.src != nil {
			return r.src.Pos.String()
		}
	}
	return name
}
