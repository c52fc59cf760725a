package engine

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// Constant arguments are checked where they are written (a macro's in the
// macro, a list's items at the list), so that a typo in a CIDR, a glob, a
// regular expression, an address, a port or a kernel constant's name is a
// load error instead of a rule that can never match:
//
//   - the arguments of inCidr and inCidrs parse as an address or prefix,
//     of glob as a glob, of matches as an RE2 regular expression;
//   - a field compared (==, !=, in, <, ...) with a constant can hold it:
//     an address field an address as the field renders it, a field of
//     kernel constants one of its names (event.Field.Values), a number
//     field a number its setter accepts (ports 0..65535, ids 0..2^32-1);
//   - an element of an in-list literal can equal the left side's type;
//   - a constant expression does not fail (timestamp("2024-13-01")).

// konst is one constant argument: a literal, or an item of a named list.
type konst struct {
	s    string
	expr ast.Expr    // the literal; nil for a list item
	list *rules.List // the list the item is written in (a list it names, maybe)
	use  ast.Expr    // where the named list is used
}

// constCheck is the state of checkConstants for one condition.
type constCheck struct {
	k    *compilation
	a    *cel.Ast
	t    rules.Text
	item string
	refs map[int64]*ast.ReferenceInfo
	ok   bool
}

// checkConstants reports every constant argument of a that a can never
// match, at the constant's file:line:col, and returns a, or nil when it
// reported one.
func (k *compilation) checkConstants(a *cel.Ast, t rules.Text, item string) *cel.Ast {
	native := a.NativeRep()
	c := &constCheck{k: k, a: a, t: t, item: item, refs: native.ReferenceMap(), ok: true}
	visit(native.Expr(), c.call)
	if c.ok {
		c.folds(native.Expr())
	}
	if !c.ok {
		return nil
	}
	return a
}

func (c *constCheck) pos(e ast.Expr) rules.Pos {
	loc := c.a.NativeRep().SourceInfo().GetStartLocation(e.ID())
	return c.t.Pos(offsetOf(c.t.S, loc.Line(), loc.Column()))
}

// report writes an error about v; msg has one %s, for the value.
func (c *constCheck) report(v konst, code, msg string) {
	c.ok = false
	if v.list == nil {
		c.k.errorf(c.pos(v.expr), c.item, code, msg, strconv.Quote(v.s))
		return
	}
	c.k.errorf(v.list.Pos, fmt.Sprintf("list %q", v.list.Name), code, msg+" (used by %[3]s at %[2]s)",
		"item "+strconv.Quote(v.s), c.pos(v.use), c.item)
}

// strings returns the string constants of e: a literal, the literal
// elements of a list literal, or the items of a named list of strings.
func (c *constCheck) strings(e ast.Expr) []konst {
	switch e.Kind() {
	case ast.LiteralKind:
		if s, ok := stringLit(e); ok {
			return []konst{{s: s, expr: e}}
		}
	case ast.ListKind:
		var out []konst
		for _, el := range e.AsList().Elements() {
			if s, ok := stringLit(el); ok {
				out = append(out, konst{s: s, expr: el})
			}
		}
		return out
	case ast.IdentKind:
		if l := c.k.lists[nameOf(e, c.refs)]; l != nil && l.ok && l.ints == nil {
			out := make([]konst, len(l.Items))
			for i, s := range l.Items {
				out[i] = konst{s: s, list: l.from[i], use: e}
			}
			return out
		}
	}
	return nil
}

// field returns the field e names, or nil.
func (c *constCheck) field(e ast.Expr) *event.Field {
	name := nameOf(e, c.refs)
	if name == "" {
		return nil
	}
	if i, ok := fieldIndex[name]; ok {
		return &event.Fields[i]
	}
	return nil
}

func (c *constCheck) call(e ast.Expr) {
	if e.Kind() != ast.CallKind {
		return
	}
	call := e.AsCall()
	args := call.Args()
	fn := call.FunctionName()
	switch fn {
	case "inCidr", "inCidrs", "glob", "matches":
		if len(args) == 0 {
			return
		}
		arg := args[len(args)-1] // s.matches(re) and matches(s, re)
		for _, v := range c.strings(arg) {
			if msg := argError(fn, v.s); msg != "" {
				c.report(v, rules.CodeBadConst, fn+": "+msg)
			}
		}
	case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		for i := range 2 {
			if f := c.field(args[i]); f != nil {
				c.compared(f, args[1-i], fn)
			}
		}
	case operators.In:
		if args[1].Kind() == ast.ListKind {
			c.elementTypes(args[0], args[1].AsList().Elements())
		}
		if f := c.field(args[0]); f != nil {
			c.compared(f, args[1], fn)
		}
		// "CAP_SYS_ADMIN" in proc.cap_effective
		if f := c.field(args[1]); f != nil && f.Kind == event.KindStrings {
			c.compared(f, args[0], fn)
		}
	}
}

// argError says what is wrong with a constant argument of fn, or "".
func argError(fn, s string) string {
	switch fn {
	case "inCidr", "inCidrs":
		if _, ok := parsePrefix(s); !ok {
			return "%s is not an IP address or prefix (" + ipReason(s) + ")"
		}
	case "glob":
		if err := globError(s); err != "" {
			return "%s is not a valid glob pattern: " + strings.ReplaceAll(err, "%", "%%")
		}
	case "matches":
		if _, err := regexp.Compile(s); err != nil {
			reason := err.Error()
			if se := (*syntax.Error)(nil); errors.As(err, &se) {
				reason = string(se.Code)
			}
			return "%s is not a valid regular expression (RE2): " + strings.ReplaceAll(reason, "%", "%%")
		}
	}
	return ""
}

// ipReason is why netip refuses s as an address or prefix.
func ipReason(s string) string {
	var err error
	if strings.Contains(s, "/") {
		_, err = netip.ParsePrefix(s)
	} else {
		_, err = netip.ParseAddr(s)
	}
	if err == nil {
		return "unknown"
	}
	msg := err.Error()
	if i := strings.Index(msg, "): "); i >= 0 {
		msg = msg[i+3:]
	}
	return strings.ReplaceAll(msg, "%", "%%")
}

// compared checks the constants a field is compared with by op.
func (c *constCheck) compared(f *event.Field, e ast.Expr, op string) {
	switch {
	case f.Kind == event.KindIP && (op == operators.Equals || op == operators.NotEquals || op == operators.In):
		for _, v := range c.strings(e) {
			if msg := ipValueError(f, v.s); msg != "" {
				c.report(v, rules.CodeBadConst, msg)
			}
		}
	case f.Values != nil && (op == operators.Equals || op == operators.NotEquals || op == operators.In):
		for _, v := range c.strings(e) {
			if msg := enumValueError(f, v.s); msg != "" {
				code := rules.CodeBadConst
				if f.Name == "evt.type" {
					code = rules.CodeBadEvtType
				}
				c.report(v, code, msg)
			}
		}
	case (f.Kind == event.KindInt || f.Kind == event.KindUint) && f.SetInt != nil:
		c.numbers(f, e)
	}
}

// ipValueError: an address field is "" or an address as netip renders it.
func ipValueError(f *event.Field, s string) string {
	if s == "" {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return f.Name + " is compared with %s, which is not an IP address (" + ipReason(s) + ")"
	}
	if a.String() != s {
		return f.Name + " is compared with %s, which it never equals: it is written " + strconv.Quote(a.String())
	}
	return ""
}

// enumValueError: a field of kernel constants holds one of its names, a
// number without a name as its prefix and the number (CAP_41), or "" where
// its setter takes "" (a value that does not apply).
func enumValueError(f *event.Field, s string) string {
	if f.Name == "evt.type" {
		if _, ok := event.ParseType(s); !ok {
			return "evt.type is compared with %s, which is not an event type (" + typeList(event.AllTypes) + ")"
		}
		return ""
	}
	if slices.Contains(f.Values, s) {
		return ""
	}
	msg := f.Name + " is compared with %s, which is not one of its values"
	for _, v := range f.Values {
		if strings.EqualFold(v, s) {
			return msg + " (did you mean " + v + "?)"
		}
	}
	if s != "" && strings.TrimRight(s, "0123456789") == s || !setterTakes(f, s) {
		if near := rules.Suggest(s, f.Values); near != "" {
			return msg + " (did you mean " + near + "?)"
		}
		if len(f.Values) <= 16 {
			return msg + " (" + strings.Join(f.Values, ", ") + ")"
		}
		return msg + " (`vigil rules fields` lists them)"
	}
	if s == "" {
		return ""
	}
	// A number its names already name renders as that name (CAP_5 is
	// CAP_KILL).
	ev := scratchEvent()
	if f.Kind == event.KindString {
		_ = f.SetStr(ev, s)
		if r := f.Str(ev); r != s && slices.Contains(f.Values, r) {
			return msg + " (it is written " + r + ")"
		}
	} else {
		_ = f.SetStrs(ev, []string{s})
		if r := f.Strs(ev); len(r) == 1 && r[0] != s && slices.Contains(f.Values, r[0]) {
			return msg + " (it is written " + r[0] + ")"
		}
	}
	return ""
}

// setterTakes reports whether f's setter accepts s: the field table's
// parser of the field's values.
func setterTakes(f *event.Field, s string) bool {
	ev := scratchEvent()
	switch {
	case f.SetStr != nil:
		return f.SetStr(ev, s) == nil
	case f.SetStrs != nil:
		return f.SetStrs(ev, []string{s}) == nil
	}
	return true
}

// numbers checks the number constants a number field is compared with:
// its setter accepts the values it can hold.
func (c *constCheck) numbers(f *event.Field, e ast.Expr) {
	if l := c.k.lists[nameOf(e, c.refs)]; e.Kind() == ast.IdentKind && l != nil && l.ints != nil {
		for i, n := range l.ints {
			if err := f.SetInt(scratchEvent(), n); err != nil {
				c.report(konst{s: l.Items[i], list: l.from[i], use: e}, rules.CodeBadConst,
					f.Name+" is compared with %s, a value it never holds ("+strings.ReplaceAll(err.Error(), "%", "%%")+")")
			}
		}
		return
	}
	lits := []ast.Expr{e}
	if e.Kind() == ast.ListKind {
		lits = e.AsList().Elements()
	}
	for _, l := range lits {
		if l.Kind() != ast.LiteralKind {
			continue
		}
		var n int64
		switch v := l.AsLiteral().(type) {
		case types.Int:
			n = int64(v)
		case types.Uint:
			if uint64(v) > math.MaxInt64 {
				n = math.MaxInt64
			} else {
				n = int64(v)
			}
		case types.Double:
			if math.IsNaN(float64(v)) {
				c.reportAt(l, f.Name+" is compared with NaN")
				continue
			}
			n = int64(max(min(math.Trunc(float64(v)), math.MaxInt64), math.MinInt64))
		default:
			continue
		}
		ev := scratchEvent()
		if err := f.SetInt(ev, n); err != nil {
			c.reportAt(l, fmt.Sprintf("%s is compared with %v, a value it never holds (%v)", f.Name, l.AsLiteral().Value(), err))
		}
	}
}

func (c *constCheck) reportAt(e ast.Expr, msg string) {
	c.ok = false
	c.k.errorf(c.pos(e), c.item, rules.CodeBadConst, "%s", msg)
}

// scratchEvent is an event for trying a field's setter on, as FromFields
// starts one.
func scratchEvent() *event.Event { return &event.Event{Proc: &event.Process{}} }

// folds reports whether e is a constant expression (no field, list,
// macro or comprehension variable in it) and evaluates each constant call
// once, reporting one that fails: timestamp("2024-13-01"), int("x"),
// [1, 2][5] or 1/0 would fail on every event. A call with a failing
// argument is not evaluated again.
func (c *constCheck) folds(e ast.Expr) bool {
	switch e.Kind() {
	case ast.LiteralKind:
		return true
	case ast.ListKind:
		return c.allFold(e.AsList().Elements())
	case ast.MapKind:
		var parts []ast.Expr
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			parts = append(parts, me.Key(), me.Value())
		}
		return c.allFold(parts)
	case ast.SelectKind:
		return !e.AsSelect().IsTestOnly() && c.folds(e.AsSelect().Operand())
	case ast.ComprehensionKind:
		x := e.AsComprehension()
		c.allFold([]ast.Expr{x.IterRange(), x.AccuInit(), x.LoopCondition(), x.LoopStep(), x.Result()})
		return false
	case ast.CallKind:
		call := e.AsCall()
		parts := call.Args()
		if call.IsMemberFunction() {
			parts = append([]ast.Expr{call.Target()}, parts...)
		}
		if !c.allFold(parts) {
			return false
		}
		if err := c.eval(e); err != nil {
			c.ok = false
			c.k.errorf(c.t.Pos(c.start(e)), c.item, rules.CodeBadConst, "this constant expression fails on every event: %v", err)
			return false
		}
		return true
	}
	return false
}

// allFold reports whether every expression of es is constant, looking
// into each.
func (c *constCheck) allFold(es []ast.Expr) bool {
	all := true
	for _, x := range es {
		if !c.folds(x) {
			all = false
		}
	}
	return all
}

// eval plans and evaluates the constant expression e as the rule's
// program would.
func (c *constCheck) eval(e ast.Expr) error {
	native := c.a.NativeRep()
	pb, err := ast.ToProto(ast.NewCheckedAST(ast.NewAST(e, native.SourceInfo()), native.TypeMap(), native.ReferenceMap()))
	if err != nil {
		return nil // not ours to judge: the rule's own planning reports it
	}
	prg, err := c.k.env.Program(cel.CheckedExprToAst(pb), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return err
	}
	v, _, err := prg.Eval(cel.NoVars())
	if err != nil {
		return err
	}
	if types.IsError(v) {
		return v.(*types.Err)
	}
	return nil
}

// start is the offset in the condition of e's first byte: CEL places a
// call at its operator or its opening parenthesis.
func (c *constCheck) start(e ast.Expr) int {
	info := c.a.NativeRep().SourceInfo()
	off := len(c.t.S)
	visit(e, func(x ast.Expr) {
		loc := info.GetStartLocation(x.ID())
		if loc.Line() < 1 {
			return
		}
		o := offsetOf(c.t.S, loc.Line(), loc.Column())
		if x.Kind() == ast.CallKind && !x.AsCall().IsMemberFunction() {
			if name := x.AsCall().FunctionName(); o >= len(name) && strings.HasSuffix(c.t.S[:o], name) {
				o -= len(name)
			}
		}
		off = min(off, o)
	})
	return off
}

// elementTypes reports the elements of a list literal that x in [...]
// compares with x and that can never equal it: the checker accepts
// proc.uid in [0, "root"] (a list(dyn)), but a string never equals an int.
func (c *constCheck) elementTypes(x ast.Expr, elems []ast.Expr) {
	tm := c.a.NativeRep().TypeMap()
	xt := tm[x.ID()]
	for _, el := range elems {
		if et := tm[el.ID()]; xt != nil && et != nil && !mayEqual(xt, et) {
			c.reportAt(el, fmt.Sprintf("in compares %s with this %s, which are never equal", xt, et))
		}
	}
}

// mayEqual reports whether values of types a and b can be equal (numbers
// compare across int, uint and double).
func mayEqual(a, b *types.Type) bool {
	vague := func(t *types.Type) bool {
		k := t.Kind()
		return k == types.DynKind || k == types.AnyKind || k == types.TypeParamKind || k == types.ErrorKind || k == types.UnknownKind
	}
	num := func(t *types.Type) bool {
		k := t.Kind()
		return k == types.IntKind || k == types.UintKind || k == types.DoubleKind
	}
	switch {
	case vague(a) || vague(b), num(a) && num(b):
		return true
	case a.Kind() != b.Kind():
		return false
	case a.Kind() == types.ListKind || a.Kind() == types.MapKind:
		ap, bp := a.Parameters(), b.Parameters()
		for i := range min(len(ap), len(bp)) {
			if !mayEqual(ap[i], bp[i]) {
				return false
			}
		}
	}
	return true
}
