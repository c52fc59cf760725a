package falco

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// MacroName is the CEL name of Falco macro name: Falco's macros live in a
// namespace of their own, beside vigil's.
func MacroName(name string) string { return "falco__" + name }

// tri is what translation knows of a condition's value on every event.
type tri uint8

const (
	unknown tri = iota
	always
	never
)

// piece is CEL text that came from byte off of the Falco condition.
type piece struct {
	s   string
	off int
	// at, when set, is the piece's place in another condition (a macro
	// inlined here).
	at *rules.Pos
}

// Need is a part of a Falco condition vigil cannot evaluate: the rule that
// reaches it is skipped with a warning, as Falco skips a rule with
// skip-if-unknown-filter.
type Need struct {
	Pos   rules.Pos
	Field string // the Falco field, or evt.type
	What  string // what vigil would need
}

// frag is the translation of one node.
type frag struct {
	ps    []piece
	c     tri
	needs []Need
	// lacks are Falco events vigil lacks that a part of the condition can
	// only match (that part is false in vigil).
	lacks []string
	// lackNever says c is never because of events vigil lacks (rather
	// than false in Falco too).
	lackNever bool
	// cost estimates the work of evaluating ps, for ordering the terms
	// of and and or: cheap tests first.
	cost int
	// refs says ps names a macro.
	refs bool
	// errs are the errors of the macros ps names.
	errs []*rules.Error
	// conj, when set, are the terms whose conjunction ps is: an and that
	// holds it splices them, so that a test written twice (the evt.type
	// guard of every check on an open) is evaluated once.
	conj []frag
}

// key is the text of f, for finding a term written twice.
func (f frag) key() string {
	var b strings.Builder
	for _, p := range f.ps {
		b.WriteString(p.s)
	}
	return b.String()
}

// conjunction is the frag of terms joined by &&, at off.
func conjunction(terms []frag, off int) frag {
	var out frag
	out.ps = append(out.ps, piece{s: "(", off: off})
	for i, t := range terms {
		if i > 0 {
			out.ps = append(out.ps, piece{s: " && ", off: off})
		}
		out.ps = append(out.ps, t.ps...)
		out.cost += t.cost
		out.refs = out.refs || t.refs
	}
	out.ps = append(out.ps, piece{s: ")", off: off})
	out.conj = terms
	return out
}

// placed is f with every piece placed in src (a macro written in place).
func placed(f frag, src rules.Text) frag {
	ps := make([]piece, len(f.ps))
	for i, p := range f.ps {
		if p.at == nil {
			pos := src.Pos(p.off)
			p.at = &pos
		}
		ps[i] = p
	}
	f.ps = ps
	if f.conj != nil {
		conj := make([]frag, len(f.conj))
		for i, t := range f.conj {
			conj[i] = placed(t, src)
		}
		f.conj = conj
	}
	return f
}

// inlineCost is the largest cost of a macro written in place.
const inlineCost = 12

func constFrag(c tri, off int) frag {
	s := "true"
	if c == never {
		s = "false"
	}
	return frag{ps: []piece{{s: s, off: off}}, c: c}
}

func (f *frag) add(g frag) {
	f.refs = f.refs || g.refs
	f.errs = append(f.errs, g.errs...)
	f.needs = append(f.needs, g.needs...)
	for _, l := range g.lacks {
		if !slices.Contains(f.lacks, l) {
			f.lacks = append(f.lacks, l)
		}
	}
}

// transError is a problem in a Falco condition at a byte offset of it.
type transError struct {
	Off  int
	Code string
	Msg  string
}

// cond is the translation of one condition: its text (for positions), the
// errors found, and the macros it refers to.
type cond struct {
	t    rules.Text
	errs []transError
	tr   *translator
}

func (c *cond) errorf(off int, code, format string, args ...any) frag {
	c.errs = append(c.errs, transError{Off: off, Code: code, Msg: fmt.Sprintf(format, args...)})
	return constFrag(unknown, off)
}

func (c *cond) need(off int, field, what string) frag {
	f := constFrag(unknown, off)
	f.needs = []Need{{Pos: c.t.Pos(off), Field: field, What: what}}
	return f
}

// node translates n.
func (c *cond) node(n Node) frag {
	switch n := n.(type) {
	case *And:
		return c.join(n.Off, n.Terms, " && ", never)
	case *Or:
		return c.join(n.Off, n.Terms, " || ", always)
	case *Not:
		x := c.node(n.X)
		out := frag{ps: append(append([]piece{{s: "!(", off: n.Off}}, x.ps...), piece{s: ")", off: n.Off}), cost: x.cost}
		out.add(x)
		switch x.c {
		case always:
			out = withConst(out, never, n.Off)
		case never:
			out = withConst(out, always, n.Off)
		}
		return out
	case *Ident:
		return c.macro(n)
	case *Check:
		return c.check(n)
	}
	return c.errorf(n.Offset(), rules.CodeInternal, "unexpected node %T", n)
}

// withConst is f with its text replaced by the constant c (its needs and
// lacks kept).
func withConst(f frag, c tri, off int) frag {
	g := constFrag(c, off)
	g.add(f)
	return g
}

// join translates terms joined by op; absorb is the constant that decides
// the whole (false for and, true for or). Terms with the other constant are
// dropped, as they change nothing.
func (c *cond) join(off int, terms []Node, op string, absorb tri) frag {
	var out frag
	var kept []frag
	lackAll := true
	for _, t := range terms {
		f := c.node(t)
		out.add(f)
		switch f.c {
		case absorb:
			r := withConst(out, absorb, off)
			r.lackNever = f.lackNever
			return r
		case unknown:
			kept = append(kept, f)
			out.cost += f.cost
		default:
			lackAll = lackAll && f.lackNever
		}
	}
	if absorb == never { // and: splice conjunctions, drop repeated terms
		var flat []frag
		seen := map[string]bool{}
		for _, k := range kept {
			terms := k.conj
			if terms == nil {
				terms = []frag{k}
			}
			for _, t := range terms {
				if key := t.key(); !seen[key] {
					seen[key] = true
					flat = append(flat, t)
				}
			}
		}
		kept = flat
	}
	// and and or give the same answer in any order (CEL's too: an error
	// is absorbed by the deciding side), so the cheapest tests go first
	// and decide most events before the costly ones run.
	slices.SortStableFunc(kept, func(a, b frag) int { return a.cost - b.cost })
	switch len(kept) {
	case 0:
		other := always
		if absorb == always {
			other = never
		}
		r := withConst(out, other, off)
		r.lackNever = other == never && lackAll
		return r
	case 1:
		out.ps, out.conj = kept[0].ps, kept[0].conj
		return out
	}
	if absorb == never {
		c := conjunction(kept, off)
		c.needs, c.lacks, c.errs = out.needs, out.lacks, out.errs
		return c
	}
	out.ps = append(out.ps, piece{s: "(", off: off})
	for i, k := range kept {
		if i > 0 {
			out.ps = append(out.ps, piece{s: op, off: off})
		}
		out.ps = append(out.ps, k.ps...)
	}
	out.ps = append(out.ps, piece{s: ")", off: off})
	return out
}

// macro translates a reference to a Falco macro.
func (c *cond) macro(n *Ident) frag {
	tr := c.tr
	if _, isList := tr.lists[n.Name]; isList && tr.macros[n.Name] == nil {
		return c.errorf(n.Off, rules.CodeCondition, "%s is a list, not a macro: a list is used as the values of in, intersects or pmatch, as in (%s)", n.Name, n.Name)
	}
	if tr.macros[n.Name] == nil {
		msg := fmt.Sprintf("undefined macro %s", n.Name)
		if _, ok := fieldTable[n.Name]; ok || strings.Contains(n.Name, ".") {
			msg = fmt.Sprintf("%s is a field: a field needs an operator and a value", n.Name)
		}
		return c.errorf(n.Off, rules.CodeCondition, "%s", msg)
	}
	r := tr.macro(n.Name)
	out := frag{c: r.c, errs: r.errs}
	out.add(r.f)
	if r.c != unknown {
		w := withConst(out, r.c, n.Off)
		w.lackNever = r.f.lackNever
		return w
	}
	if len(r.f.needs) > 0 {
		out.ps = []piece{{s: "false", off: n.Off}}
		return out
	}
	// A small macro that names no other is written in place: it costs
	// no lookup and no program of its own, and the text can only grow by
	// its size at each use (inlining macros that name macros is what made
	// loading exponential).
	if r.leaf && r.f.cost <= inlineCost {
		in := placed(r.f, tr.macros[n.Name].Condition)
		if in.conj != nil {
			c := conjunction(in.conj, n.Off)
			c.needs, c.lacks, c.errs = out.needs, out.lacks, out.errs
			return c
		}
		out.ps = append(append([]piece{{s: "(", off: n.Off}}, in.ps...), piece{s: ")", off: n.Off})
		out.cost = in.cost
		return out
	}
	out.ps = []piece{{s: MacroName(n.Name), off: n.Off}}
	out.cost = r.f.cost
	out.refs = true
	return out
}

// check translates field op value.
func (c *cond) check(n *Check) frag {
	name := n.Field.Name
	switch name {
	case "evt.type":
		return c.evtType(n)
	case "evt.dir":
		return c.evtDir(n)
	case "evt.res":
		return c.evtRes(n)
	case "evt.num":
		return c.evtNum(n)
	}
	f, ok := fieldTable[name]
	if !ok {
		if what, ok := missingFields[name]; ok {
			return c.need(n.Field.Off, name, what)
		}
		if strings.HasPrefix(name, "evt.arg.") || name == "evt.arg" || name == "evt.rawarg" || strings.HasPrefix(name, "evt.rawarg.") {
			return c.need(n.Field.Off, fieldLabel(n.Field), "the argument as Falco's driver records it for this event")
		}
		return c.errorf(n.Field.Off, CodeUnknownField, "unknown field %s%s", name, suggestField(name))
	}
	if f.needs != "" {
		return c.need(n.Field.Off, name, f.needs)
	}
	arg, ok := c.fieldArg(n.Field, f)
	if !ok {
		return constFrag(unknown, n.Off)
	}
	kind := f.kind
	var wrap []string
	for i := len(n.Field.Transformers) - 1; i >= 0; i-- {
		switch tf := n.Field.Transformers[i]; tf {
		case "tolower", "toupper", "basename":
			if kind != event.KindString {
				return c.errorf(n.Field.Off, rules.CodeCondition, "%s() takes a string field; %s is %s", tf, name, kind)
			}
			wrap = append(wrap, tf)
		case "len":
			if kind != event.KindString && kind != event.KindStrings {
				return c.errorf(n.Field.Off, rules.CodeCondition, "len() takes a string or list field; %s is %s", name, kind)
			}
			wrap = append(wrap, tf)
			kind = event.KindInt
		default:
			return c.need(n.Field.Off, tf+"("+name+")", "the "+tf+" transformer")
		}
	}
	if n.Value != nil && n.Value.Field != nil {
		return c.need(n.Value.Off, "val("+n.Value.Field.Name+")", "comparing two fields (val)")
	}
	if n.List != nil && n.List.Field != nil {
		return c.need(n.List.Off, "val("+n.List.Field.Name+")", "comparing two fields (val)")
	}
	// A list field Falco renders as one string of names joined by spaces
	// (thread.cap_*): contains a name (no space in it) holds when one
	// name contains it; anything else compares the joined string.
	words, joined := false, false
	if kind == event.KindStrings && !f.many {
		kind = event.KindString
		v := ""
		if n.Value != nil {
			v = n.Value.Text
		}
		if (n.Op == "contains" || n.Op == "icontains") && !strings.Contains(v, " ") {
			words = true
		} else {
			joined = true
		}
	}
	if f.many && len(wrap) > 0 {
		return c.need(n.Field.Off, name, "a transformer on a field of many values")
	}
	consts, ok := c.operands(n, f, kind)
	if !ok {
		return constFrag(unknown, n.Off)
	}
	many := (f.many && arg == "") || words
	var out frag
	var alts [][]frag
	for _, v := range f.variants {
		x := v.expr(arg)
		if joined {
			x += `.join(" ")`
		}
		for _, w := range wrap {
			switch w {
			case "tolower":
				x += ".lowerAscii()"
			case "toupper":
				x += ".upperAscii()"
			case "basename":
				x = "basename(" + x + ")"
			case "len":
				x = "size(" + x + ")"
			}
		}
		var guards []string
		if v.types != event.AllTypes {
			guards = append(guards, typeGuard(v.types))
		}
		if v.cond != "" {
			guards = append(guards, v.cond)
		}
		if (f.arg == argIndexAny || f.arg == argIndex) && arg != "" && arg != "0" && arg != "1" && strings.HasPrefix(f.name, "proc.a") {
			k, _ := strconv.Atoi(arg)
			guards = append(guards, fmt.Sprintf("proc.ancestors.size() >= %d", k-1))
		}
		var cmp string
		if n.Op == "exists" {
			cmp = ""
		} else {
			var err string
			if f.dns {
				cmp, err = compareName(n.Op, x, consts)
			} else {
				cmp, err = compare(n.Op, x, kind, f.network, many, consts)
			}
			if err != "" {
				return c.errorf(n.OpOff, rules.CodeCondition, "%s", err)
			}
			// A plain vigil field is its kind's zero value where the
			// variant does not apply; a comparison false on the zero
			// value needs no guard.
			// With several variants, each keeps its type guard: the
			// analysis that derives the kernel's filters then sees that
			// net.path's variant cannot match an open.
			if len(guards) > 0 && !many && f.arg == argNone && zeroOutside(x, v) && !holdsOnZero(n.Op, kind, f.network, consts) {
				guards = nil
				if len(f.variants) > 1 && v.types != event.AllTypes {
					guards = []string{typeGuard(v.types)}
				}
			}
		}
		// A variant whose value is a constant (fd.typechar's "f") is
		// decided here: it drops out, or its guards alone remain.
		if u, err := strconv.Unquote(x); err == nil && cmp != "" && len(wrap) == 0 && !many {
			if h, known := constHolds(n.Op, u, consts); known {
				if !h {
					continue
				}
				cmp = ""
			}
		}
		terms := append(guards, cmp)
		if cmp == "" {
			terms = guards
		}
		if len(terms) == 0 {
			return constFrag(always, n.Off) // exists, on every event
		}
		var conj []frag
		for i, t := range terms {
			cost := 1
			if i == len(terms)-1 && cmp != "" {
				cost = opCost(n.Op, len(consts), many)
			}
			conj = append(conj, frag{ps: []piece{{s: t, off: n.Off}}, cost: cost})
		}
		alts = append(alts, conj)
	}
	if len(alts) == 0 {
		return constFrag(never, n.Off)
	}
	if len(alts) == 1 {
		if len(alts[0]) == 1 {
			return alts[0][0]
		}
		return conjunction(alts[0], n.Off)
	}
	out.cost = len(alts) * opCost(n.Op, len(consts), many)
	out.ps = append(out.ps, piece{s: "(", off: n.Off})
	for i, a := range alts {
		if i > 0 {
			out.ps = append(out.ps, piece{s: " || ", off: n.Off})
		}
		if len(a) == 1 {
			out.ps = append(out.ps, a[0].ps...)
		} else {
			out.ps = append(out.ps, conjunction(a, n.Off).ps...)
		}
	}
	out.ps = append(out.ps, piece{s: ")", off: n.Off})
	return out
}

// fieldLabel is a field as written: name and argument.
func fieldLabel(f Field) string {
	if f.HasArg {
		return f.Name + "[" + f.Arg + "]"
	}
	return f.Name
}

// zeroOutside reports whether x, in variant v, is its kind's zero value on
// every event v does not cover: a vigil field that only v's types carry,
// and that is zero where v's condition fails.
func zeroOutside(x string, v variant) bool {
	f, ok := event.FieldByName(x)
	return ok && f.Types&^v.types == 0 && (v.cond == "" || v.condZero)
}

// fieldArg checks the field's argument against what it takes.
func (c *cond) fieldArg(fl Field, f field) (string, bool) {
	switch f.arg {
	case argNone:
		if fl.HasArg {
			c.errorf(fl.ArgOff, rules.CodeCondition, "%s takes no argument", fl.Name)
			return "", false
		}
		return "", true
	case argIndex, argIndexAny:
		if !fl.HasArg {
			if f.arg == argIndex {
				c.errorf(fl.Off, rules.CodeCondition, "%s needs an index: %s[N]", fl.Name, fl.Name)
				return "", false
			}
			return "", true
		}
		n, err := strconv.Atoi(fl.Arg)
		if err != nil || n < 0 || n > 1000 {
			c.errorf(fl.ArgOff, rules.CodeCondition, "%s[%s]: the index must be a number from 0", fl.Name, fl.Arg)
			return "", false
		}
		return strconv.Itoa(n), true
	case argKey:
		if !fl.HasArg || fl.Arg == "" {
			c.errorf(fl.Off, rules.CodeCondition, "%s needs an argument: %s[NAME]", fl.Name, fl.Name)
			return "", false
		}
	}
	return fl.Arg, true
}

// operands returns the constant operands of n as CEL literals of kind, or
// for the list operators the list items; lists named are expanded.
func (c *cond) operands(n *Check, f field, kind event.Kind) ([]string, bool) {
	if n.Op == "exists" {
		return nil, true
	}
	raw, ok := c.values(n)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if f.numName != nil {
			if u, err := strconv.ParseUint(v.Text, 10, 32); err == nil {
				v.Text = f.numName(uint32(u))
			}
		}
		if f.nameNum != nil {
			if _, err := strconv.ParseInt(v.Text, 10, 64); err != nil {
				// A name no user has here matches no id: -2 is none.
				id, ok := f.nameNum(v.Text)
				if !ok {
					id = -2
				}
				v.Text = strconv.FormatInt(id, 10)
			}
		}
		lit, err := literal(v.Text, kind, f.network, n.Op)
		if err != "" {
			c.errorf(v.Off, CodeBadValue, "%s %s: %s", n.Field.Name, n.Op, err)
			return nil, false
		}
		if f.duration {
			lit = fmt.Sprintf("duration(%q)", lit+"ns")
		}
		out = append(out, lit)
	}
	return out, true
}

// literal is the CEL literal of a Falco value for a field of kind.
func literal(s string, kind event.Kind, network bool, op string) (string, string) {
	switch kind {
	case event.KindInt, event.KindUint:
		if op == "contains" || op == "startswith" || op == "endswith" || op == "glob" {
			return "", "a number field takes =, !=, <, <=, >, >= and in"
		}
		n, err := parseNumber(s)
		if err != nil {
			return "", fmt.Sprintf("%q is not a number", s)
		}
		return strconv.FormatInt(n, 10), ""
	case event.KindBool:
		switch strings.ToLower(s) {
		case "true":
			return "true", ""
		case "false":
			return "false", ""
		}
		return "", fmt.Sprintf("%q is not true or false", s)
	case event.KindIP:
		if network {
			if p, err := netip.ParsePrefix(s); err == nil {
				return strconv.Quote(p.Masked().String()), ""
			}
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", fmt.Sprintf("%q is not an IP address", s)
		}
		return strconv.Quote(a.String()), ""
	}
	if op == "icontains" || op == "iglob" {
		s = strings.ToLower(s)
	}
	if op == "bcontains" || op == "bstartswith" {
		b, err := hexBytes(s)
		if err != "" {
			return "", err
		}
		s = b
	}
	return strconv.Quote(s), ""
}

// parseNumber parses Falco's numbers: decimal only (Falco refuses 0x10
// as "not a valid number").
func parseNumber(s string) (int64, error) {
	return strconv.ParseInt(s, 10, 64)
}

func hexBytes(s string) (string, string) {
	if len(s)%2 != 0 {
		return "", fmt.Sprintf("%q is not an even number of hex digits", s)
	}
	var b []byte
	for i := 0; i < len(s); i += 2 {
		v, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			return "", fmt.Sprintf("%q is not hex bytes", s)
		}
		if v >= 0x80 {
			return "", "bytes above 0x7f are not supported (vigil compares text)"
		}
		b = append(b, byte(v))
	}
	return string(b), ""
}

// compareName compares the names of the address x with consts: = and in
// hold when x is one of the addresses a name resolves to.
func compareName(op, x string, consts []string) (string, string) {
	switch op {
	case "=", "in", "intersects":
		if len(consts) == 1 {
			return x + ".resolvesTo(" + consts[0] + ")", ""
		}
		return x + ".resolvesToAny([" + strings.Join(consts, ", ") + "])", ""
	case "!=":
		return "!" + x + ".resolvesTo(" + consts[0] + ")", ""
	}
	return "", op + " on a DNS name needs the address's own name (reverse DNS), which vigil does not look up; use = or in"
}

// compare is the CEL comparison x op consts.
func compare(op, x string, kind event.Kind, network, many bool, consts []string) (string, string) {
	if many {
		inner, err := compare(op, "a", kind, network, false, consts)
		if err != "" {
			return "", err
		}
		// One value that matches is enough, but != needs every one to
		// differ (Falco's fd.ip != x is false if either end is x).
		if op == "!=" {
			return x + ".all(a, " + inner + ")", ""
		}
		return x + ".exists(a, " + inner + ")", ""
	}
	one := func() string {
		if len(consts) == 0 {
			return `""`
		}
		return consts[0]
	}
	list := "[" + strings.Join(consts, ", ") + "]"
	isStr := kind == event.KindString
	switch op {
	case "=", "!=":
		cel := "=="
		if op == "!=" {
			cel = "!="
		}
		if kind == event.KindBool {
			if (one() == "true") == (op == "=") {
				return x, ""
			}
			return "!" + x, ""
		}
		if network {
			if op == "=" {
				return x + ".inCidr(" + one() + ")", ""
			}
			return "!" + x + ".inCidr(" + one() + ")", ""
		}
		return x + " " + cel + " " + one(), ""
	case "<", "<=", ">", ">=":
		if kind != event.KindInt && kind != event.KindUint {
			return "", fmt.Sprintf("%s compares numbers; this field is %s", op, kind)
		}
		return x + " " + op + " " + one(), ""
	case "in", "intersects":
		if kind == event.KindBool {
			return "", op + " does not take a bool field"
		}
		if network {
			return x + ".inCidrs(" + list + ")", ""
		}
		// A few items compare faster one by one than through CEL's set.
		if len(consts) > 0 && len(consts) <= 3 {
			eqs := make([]string, len(consts))
			for i, c := range consts {
				eqs[i] = x + " == " + c
			}
			if len(eqs) == 1 {
				return eqs[0], ""
			}
			return "(" + strings.Join(eqs, " || ") + ")", ""
		}
		return x + " in " + list, ""
	case "pmatch":
		if !isStr {
			return "", "pmatch takes a path field"
		}
		return x + ".underAny(" + list + ")", ""
	}
	if !isStr {
		return "", fmt.Sprintf("%s takes a string field; this field is %s", op, kind)
	}
	switch op {
	case "contains", "bcontains":
		return x + ".contains(" + one() + ")", ""
	case "icontains":
		return x + ".lowerAscii().contains(" + one() + ")", ""
	case "startswith", "bstartswith":
		return x + ".startsWith(" + one() + ")", ""
	case "endswith":
		return x + ".endsWith(" + one() + ")", ""
	case "glob":
		return x + ".glob(" + one() + ")", ""
	case "iglob":
		return x + ".lowerAscii().glob(" + one() + ")", ""
	case "regex":
		return x + ".matches(" + one() + ")", ""
	}
	return "", "unknown operator " + op
}

// opCost estimates a comparison's work (an equality is 1).
func opCost(op string, items int, many bool) int {
	c := 1
	switch op {
	case "contains", "startswith", "endswith", "bcontains", "bstartswith":
		c = 2
	case "icontains", "glob", "iglob", "regex":
		c = 4
	case "in", "intersects":
		c = 1 + items/8
	case "pmatch":
		c = 2 + items
	}
	if many {
		c *= 8
	}
	return c + 1 // and its guards
}

// constHolds decides op consts for the constant value v, when it can.
func constHolds(op, v string, consts []string) (holds, known bool) {
	var cs []string
	for _, c := range consts {
		u, err := strconv.Unquote(c)
		if err != nil {
			return false, false
		}
		cs = append(cs, u)
	}
	if len(cs) == 0 {
		return false, false
	}
	switch op {
	case "=", "in", "intersects":
		return slices.Contains(cs, v), true
	case "!=":
		return v != cs[0], true
	case "contains":
		return strings.Contains(v, cs[0]), true
	case "startswith":
		return strings.HasPrefix(v, cs[0]), true
	case "endswith":
		return strings.HasSuffix(v, cs[0]), true
	}
	return false, false
}

// holdsOnZero reports whether op consts may hold for the zero value of
// kind ("" or 0 or false); true when unsure.
func holdsOnZero(op string, kind event.Kind, network bool, consts []string) bool {
	unq := func(s string) string {
		u, err := strconv.Unquote(s)
		if err != nil {
			return s
		}
		return u
	}
	switch kind {
	case event.KindString:
		switch op {
		case "=", "in", "intersects":
			for _, s := range consts {
				if unq(s) == "" {
					return true
				}
			}
			return false
		case "contains", "icontains", "startswith", "endswith", "bcontains", "bstartswith":
			return len(consts) == 0 || unq(consts[0]) == ""
		case "glob", "iglob":
			return len(consts) == 0 || strings.Trim(unq(consts[0]), "*") == ""
		case "pmatch":
			for _, s := range consts {
				if strings.TrimRight(unq(s), "/") == "" {
					return true
				}
			}
			return false
		}
		return true
	case event.KindIP:
		return op == "!="
	case event.KindBool:
		return op != "=" || len(consts) == 0 || consts[0] != "true"
	case event.KindInt, event.KindUint:
		for _, s := range consts {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return true
			}
			switch op {
			case "=", "in", "intersects":
				if n == 0 {
					return true
				}
			case "!=":
				if n != 0 {
					return true
				}
			case "<":
				return 0 < n
			case "<=":
				return 0 <= n
			case ">":
				return 0 > n
			case ">=":
				return 0 >= n
			}
		}
		return false
	}
	return true
}

// typeGuard is the CEL condition that evt.type is one of the set.
func typeGuard(s event.TypeSet) string {
	ts := s.Types()
	if len(ts) == 1 {
		return fmt.Sprintf("evt.type == %q", ts[0].String())
	}
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = strconv.Quote(t.String())
	}
	return "evt.type in [" + strings.Join(q, ", ") + "]"
}

// values returns the texts of a check's value or list, lists expanded.
func (c *cond) values(n *Check) ([]Value, bool) {
	if n.Value != nil {
		return []Value{*n.Value}, true
	}
	if n.List == nil {
		return nil, true
	}
	if n.List.Ref != "" {
		items, ok := c.tr.list(n.List.Ref)
		if !ok {
			c.errorf(n.List.RefOff, rules.CodeCondition, "undefined list %s", n.List.Ref)
			return nil, false
		}
		var out []Value
		for _, it := range items {
			out = append(out, Value{Off: n.List.RefOff, Text: it})
		}
		return out, true
	}
	var out []Value
	for _, v := range n.List.Items {
		if items, ok := c.tr.list(v.Text); ok {
			for _, it := range items {
				out = append(out, Value{Off: v.Off, Text: it})
			}
			continue
		}
		out = append(out, v)
	}
	return out, true
}

// evtType translates a comparison of evt.type with Falco's event names.
func (c *cond) evtType(n *Check) frag {
	switch n.Op {
	case "=", "!=", "in", "intersects":
	default:
		return c.errorf(n.OpOff, rules.CodeBadEvtType, "evt.type takes =, != and in, not %s", n.Op)
	}
	vals, ok := c.values(n)
	if !ok {
		return constFrag(unknown, n.Off)
	}
	var names []string
	for _, v := range vals {
		if !knownEvent(v.Text) {
			msg := fmt.Sprintf("%q is not an event Falco has", v.Text)
			if s := rules.Suggest(v.Text, eventNameList()); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return c.errorf(v.Off, rules.CodeBadEvtType, "%s", msg)
		}
		names = append(names, v.Text)
	}
	set, _ := resolveEvents(names)
	var out frag
	out.lacks = set.lacking
	var alts []string
	var lastType, lastSC string
	for _, t := range set.sorted() {
		if set.whole[t] {
			alts = append(alts, fmt.Sprintf("evt.type == %q", t.String()))
			continue
		}
		scs := set.types[t]
		// The syscalls named, or those not named when fewer.
		var rest []string
		for _, s := range t.Info().Syscalls {
			if !slices.Contains(scs, s.Name) {
				rest = append(rest, strconv.Quote(s.Name))
			}
		}
		q := make([]string, len(scs))
		for i, s := range scs {
			q[i] = strconv.Quote(s)
		}
		var sc string
		switch {
		case len(rest) < len(q) && len(rest) == 1:
			sc = "evt.syscall != " + rest[0]
		case len(rest) < len(q):
			sc = "!(evt.syscall in [" + strings.Join(rest, ", ") + "])"
		case len(q) == 1:
			sc = "evt.syscall == " + q[0]
		default:
			sc = "evt.syscall in [" + strings.Join(q, ", ") + "]"
		}
		alts = append(alts, fmt.Sprintf("(evt.type == %q && %s)", t.String(), sc))
		lastType, lastSC = fmt.Sprintf("evt.type == %q", t.String()), sc
	}
	neg := n.Op == "!="
	if len(alts) == 1 && lastSC != "" && !neg && !strings.HasPrefix(alts[0], "evt.type ==") {
		c := conjunction([]frag{{ps: []piece{{s: lastType, off: n.Off}}, cost: 1}, {ps: []piece{{s: lastSC, off: n.Off}}, cost: 2}}, n.Off)
		c.lacks = out.lacks
		return c
	}
	if len(alts) == 0 {
		if neg {
			return withConst(out, always, n.Off)
		}
		r := withConst(out, never, n.Off)
		r.lackNever = true
		return r
	}
	s := strings.Join(alts, " || ")
	if len(alts) > 1 {
		s = "(" + s + ")"
	}
	if neg {
		s = "!" + s
		if len(alts) == 1 && !strings.HasPrefix(alts[0], "(") {
			s = "!(" + alts[0] + ")"
		}
	}
	out.ps = []piece{{s: s, off: n.Off}}
	return out
}

// evtNum: Falco numbers events from 1; vigil does not number them, so only
// the comparisons whose answer that alone decides translate (Falco's
// rules use evt.num=0 as a condition that is never true).
func (c *cond) evtNum(n *Check) frag {
	if n.Value != nil && n.Value.Text == "0" {
		switch n.Op {
		case "=":
			return constFrag(never, n.Off)
		case "!=", ">":
			return constFrag(always, n.Off)
		}
	}
	if n.Op == "exists" {
		return constFrag(always, n.Off)
	}
	return c.need(n.Field.Off, "evt.num", "event numbers")
}

// evtDir: vigil's records are syscall exits, Falco's "<".
func (c *cond) evtDir(n *Check) frag {
	if n.Op != "=" && n.Op != "!=" || n.Value == nil {
		return c.errorf(n.OpOff, rules.CodeCondition, "evt.dir takes = or != and < or >")
	}
	var exit bool
	switch n.Value.Text {
	case "<":
		exit = true
	case ">":
	default:
		return c.errorf(n.Value.Off, CodeBadValue, "evt.dir is < (exit) or > (enter), not %q", n.Value.Text)
	}
	if exit == (n.Op == "=") {
		return constFrag(always, n.Off)
	}
	return constFrag(never, n.Off)
}

// evtRes: Falco's evt.res is SUCCESS or the error's name; vigil's is the
// number (Falco's evt.rawres), so the names become numbers here.
func (c *cond) evtRes(n *Check) frag {
	if n.Field.HasArg || len(n.Field.Transformers) > 0 {
		return c.errorf(n.Field.Off, rules.CodeCondition, "evt.res takes no argument or transformer here")
	}
	if n.Op == "exists" {
		return frag{ps: []piece{{s: `evt.type != "exit"`, off: n.Off}}}
	}
	vals, ok := c.values(n)
	if !ok {
		return constFrag(unknown, n.Off)
	}
	// Which of Falco's renderings (SUCCESS, or an error's name) the
	// comparison holds for, decided here: the condition tests numbers.
	var texts []string
	// A value that is neither (evt.res != -1) is a text evt.res never
	// is, as in Falco, which compares the text.
	for _, v := range vals {
		texts = append(texts, v.Text)
	}
	holds := func(name string) (bool, bool) {
		switch n.Op {
		case "=", "in", "intersects":
			return slices.Contains(texts, name), true
		case "!=":
			return name != texts[0], true
		case "contains":
			return strings.Contains(name, texts[0]), true
		case "icontains":
			return strings.Contains(strings.ToLower(name), strings.ToLower(texts[0])), true
		case "startswith":
			return strings.HasPrefix(name, texts[0]), true
		case "endswith":
			return strings.HasSuffix(name, texts[0]), true
		}
		return false, false
	}
	success, ok := holds("SUCCESS")
	if !ok {
		return c.errorf(n.OpOff, rules.CodeCondition, "evt.res takes =, !=, in, contains, startswith and endswith; use evt.rawres to compare numbers")
	}
	var errnos []string
	all := true
	for _, num := range errnoList() {
		if h, _ := holds(errnoName(num)); h {
			errnos = append(errnos, strconv.FormatInt(-num, 10))
		} else {
			all = false
		}
	}
	var s string
	switch {
	case success && all:
		return constFrag(always, n.Off)
	case all:
		s = "evt.res < 0"
	case len(errnos) == 0 && !success:
		return constFrag(never, n.Off)
	case len(errnos) == 0:
		s = "evt.res >= 0"
	default:
		s = "evt.res in [" + strings.Join(errnos, ", ") + "]"
		if len(errnos) == 1 {
			s = "evt.res == " + errnos[0]
		}
		if success {
			s = "(evt.res >= 0 || " + s + ")"
		}
	}
	// A process's exit has no evt.res in Falco (vigil's is the exit code).
	return conjunction([]frag{{ps: []piece{{s: `evt.type != "exit"`, off: n.Off}}, cost: 1}, {ps: []piece{{s: s, off: n.Off}}, cost: 1}}, n.Off)
}

func eventNameList() []string {
	out := slices.Clone(lacking)
	for n := range eventNames {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func suggestField(name string) string {
	names := make([]string, 0, len(fieldTable))
	for n := range fieldTable {
		names = append(names, n)
	}
	slices.Sort(names)
	if s := rules.Suggest(name, names); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}
