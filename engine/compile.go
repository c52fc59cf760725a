package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/falco"
	"github.com/vigil-project/vigil/rules"
)

// DefaultCostLimit is the largest estimated cost of one condition
// (cel-go's cost units: roughly one per operation, one per byte compared).
// A regular expression over every argument of a long command line is
// about 10^5; the limit rejects conditions that could take milliseconds.
const DefaultCostLimit = 1_000_000

// Options configure a Compiler.
type Options struct {
	Hostname  string // reported in alerts; os.Hostname() when empty
	CostLimit uint64 // 0 means DefaultCostLimit
}

// Compiler compiles rule sets. The base CEL environment is built once.
type Compiler struct {
	base      *cel.Env
	hostname  string
	costLimit uint64
}

// NewCompiler returns a Compiler.
func NewCompiler(o Options) (*Compiler, error) {
	env, err := newBaseEnv()
	if err != nil {
		return nil, err
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.CostLimit == 0 {
		o.CostLimit = DefaultCostLimit
	}
	return &Compiler{base: env, hostname: o.Hostname, costLimit: o.CostLimit}, nil
}

// Rule is a compiled rule.
type Rule struct {
	Name     string
	Priority event.Priority
	Tags     []string
	Action   rules.Action
	Enforce  bool         // false: audit only (deny and kill rules)
	Fallback rules.Action // kill: for a deny the kernel cannot make
	Enabled  bool
	Types    event.TypeSet // the event types it can match

	src        *rules.Rule
	cond       *cel.Ast // checked, before inlining: what the analyses read
	prg        cel.Program
	exceptions []exception
	output     []outputPart
	outFields  []string
	outSources []*event.Field // for Falco rules: the field of each outFields name
	cost       uint64
	paths      pathSet                 // for open rules: what the condition requires of opens
	readsEnv   bool                    // the condition or output reads proc.env
	policy     map[event.Type]ruleConj // deny and kill rules: the kernel's form
}

type exception struct {
	name string
	prg  cel.Program
}

// Ruleset is a compiled rule set: immutable, safe to share between
// goroutines; each goroutine evaluates with its own Matcher.
type Ruleset struct {
	Rules    []*Rule // every rule, enabled or not, in definition order
	byType   [maxTypes][]*Rule
	files    map[event.Type]plan.FileFilter // path filters (event.FilterPath types), computed at compile time
	index    [maxTypes]*typeIndex           // finer index for opens and execs
	hostname string
	an       *analyzer
	// names maps every variable to its activation slot: fields first
	// (the index of event.Fields), then macros.
	names  map[string]int
	macros []cel.Program
	// Warnings are what loaded but deserves a word: Falco rules skipped
	// (a field or event vigil lacks), Falco rules that match every event
	// type.
	Warnings rules.Errors
}

const maxTypes = event.NumTypes

// compilation is the state of one Compile call.
type compilation struct {
	c      *Compiler
	set    *rules.Set
	env    *cel.Env
	errs   rules.Errors
	warns  rules.Errors
	lists  map[string]*list
	macros map[string]*macro
	inline map[string]*cel.InlineVariable // each list's literal, by name
	// copied counts the items lists take from the lists they name, all
	// lists together: expansion may add rules.MaxListItems items, the
	// work of one list at the limit, and no more.
	copied int
}

// A macro is compiled once, whatever number of conditions name it: its
// program inlines its lists and keeps the macros it names as variables,
// and its cost is that of its own expression. Nothing is ever inlined
// into its users, so the work is linear in the size of the macro graph
// (inlining macros made it exponential in sharing: d_i = d_{i-1} &&
// d_{i-1}).
type macro struct {
	src   *rules.Macro
	ast   *cel.Ast    // checked, not inlined
	prg   cel.Program // lists inlined; macros it names stay variables
	cost  uint64      // estimated cost of its own expression
	ok    bool        // it and every macro it names compiled
	index int         // its slot in the activation
	deps  []string    // macros it names
	depth int         // the longest chain of macros from it, itself included
	state int         // 0 new, 1 visiting, 2 done (cycle detection)
}

// A list is a vigil list as conditions see it: the items of the lists it
// names expanded, one pair of quotes taken off the items that had them.
// It is a list(int) when every item is an integer written without quotes,
// a list(string) otherwise (docs/rules.md, "Lists").
type list struct {
	*rules.List               // a copy of src whose Items are the expanded items
	src         *rules.List   // the list as the rule files define it
	from        []*rules.List // for each item, the list it is written in
	ints        []int64       // the items as numbers, for a list(int); else nil
	ok          bool          // expanded: no cycle, within the size limit
	state       int           // 0 new, 1 visiting, 2 done (cycle detection)
}

// celType is the type conditions see the list with. An empty list is a
// list(dyn): it may stand for strings or numbers, and matches neither.
func (l *list) celType() *cel.Type {
	switch {
	case l.ints != nil:
		return cel.ListType(cel.IntType)
	case l.ok && len(l.Items) == 0:
		return cel.ListType(cel.DynType)
	}
	return cel.ListType(cel.StringType)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldRoots are the first components of field names; a list or macro
// cannot take one of them as its name.
var fieldRoots = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range event.Fields {
		m[f.Name[:strings.IndexByte(f.Name, '.')]] = true
	}
	return m
}()

// Compile type-checks and compiles every list, macro and rule of set. It
// returns every error (a rules.Errors, each with file:line:col) or a
// Ruleset that is ready to evaluate.
func (c *Compiler) Compile(set *rules.Set) (*Ruleset, error) {
	return c.CompileContext(context.Background(), set)
}

// CompileContext is Compile that gives up, with ctx's error, once ctx is
// done: a reload past its deadline stops working rather than running on.
func (c *Compiler) CompileContext(ctx context.Context, set *rules.Set) (*Ruleset, error) {
	warns := slices.Clone(set.Warnings)
	var errs rules.Errors
	if hasFalco(set) {
		// Falco's conditions become CEL over vigil's fields first; the
		// caller's set is left as it was.
		cp := *set
		var w rules.Errors
		w, errs = falco.Translate(&cp)
		warns, set = append(warns, w...), &cp
	}
	k := &compilation{c: c, set: set, errs: errs, warns: warns, lists: map[string]*list{}, macros: map[string]*macro{}, inline: map[string]*cel.InlineVariable{}}
	var decls []cel.EnvOption
	for _, l := range set.Lists {
		if k.checkName("list", l.Name, l.Pos) {
			k.lists[l.Name] = &list{src: l}
		}
	}
	for _, l := range set.Lists {
		if ll := k.lists[l.Name]; ll != nil && ll.src == l {
			k.expand(ll, nil)
			decls = append(decls, cel.Variable(l.Name, ll.celType()))
		}
	}
	for _, m := range set.Macros {
		if k.checkName("macro", m.Name, m.Pos) {
			k.macros[m.Name] = &macro{src: m}
			decls = append(decls, cel.Variable(m.Name, cel.BoolType))
		}
	}
	env, err := c.base.Extend(decls...)
	if err != nil {
		return nil, fmt.Errorf("declare lists and macros: %w", err)
	}
	k.env = env
	for _, l := range set.Lists {
		if ll := k.lists[l.Name]; ll != nil && ll.src == l && ll.ok {
			if lit := k.listLiteral(ll); lit != nil {
				k.inline[l.Name] = cel.NewInlineVariable(l.Name, lit)
			}
		}
	}
	for _, m := range set.Macros {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if mm := k.macros[m.Name]; mm != nil && mm.src == m {
			mm.ast = k.checkBool(m.Condition, fmt.Sprintf("macro %q", m.Name))
			if mm.ast != nil {
				mm.deps = k.namedMacros(mm.ast)
			}
		}
	}
	for _, m := range set.Macros {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if mm := k.macros[m.Name]; mm != nil && mm.src == m {
			k.resolveMacro(mm, nil)
		}
	}

	rs := &Ruleset{hostname: c.hostname, names: make(map[string]int, len(fieldIndex)+len(k.macros))}
	for name, i := range fieldIndex {
		rs.names[name] = i
	}
	for _, m := range set.Macros {
		if mm := k.macros[m.Name]; mm != nil && mm.src == m && mm.ok {
			mm.index = len(event.Fields) + len(rs.macros)
			rs.names[m.Name] = mm.index
			rs.macros = append(rs.macros, mm.prg)
		}
	}
	rs.an = newAnalyzer(k.lists, k.macros)
	for _, r := range set.Rules {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cr := k.compileRule(r, rs.an); cr != nil {
			rs.Rules = append(rs.Rules, cr)
		}
	}
	if len(k.errs) > 0 {
		slices.SortStableFunc(k.errs, func(a, b *rules.Error) int { return comparePos(a.Pos, b.Pos) })
		return nil, k.errs
	}
	slices.SortStableFunc(k.warns, func(a, b *rules.Error) int { return comparePos(a.Pos, b.Pos) })
	rs.Warnings = k.warns
	for _, r := range rs.Rules {
		if !r.Enabled {
			continue
		}
		r.readsEnv = slices.Contains(r.outFields, "proc.env") ||
			rs.an.reads(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap(), "proc.env")
		for _, t := range event.Types() {
			if r.Types.Has(t) {
				rs.byType[t] = append(rs.byType[t], r)
			}
		}
	}
	var sets []pathSet
	for _, r := range rs.byType[event.TypeOpen] {
		r.paths = rs.an.openPaths(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap())
		sets = append(sets, r.paths)
	}
	rs.index[event.TypeOpen] = newOpenIndex(rs.byType[event.TypeOpen], sets)
	rs.files = rs.fileFilters() // the analyzer's memo is written only while compiling
	var names []nameResult
	for _, r := range rs.byType[event.TypeExec] {
		n, all := rs.an.execNames(r.cond.NativeRep().Expr(), r.cond.NativeRep().ReferenceMap())
		names = append(names, nameResult{n, all})
	}
	rs.index[event.TypeExec] = newExecIndex(rs.byType[event.TypeExec], names)
	return rs, nil
}

func comparePos(a, b rules.Pos) int {
	if a.File != b.File {
		return strings.Compare(a.File, b.File)
	}
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Col - b.Col
}

func (k *compilation) errorf(pos rules.Pos, item, code, format string, args ...any) {
	k.errs = append(k.errs, rules.NewError(k.set, pos, item, code, format, args...))
}

func (k *compilation) checkName(kind, name string, pos rules.Pos) bool {
	item := fmt.Sprintf("%s %q", kind, name)
	switch {
	case !identRE.MatchString(name):
		k.errorf(pos, item, rules.CodeBadName, "a %s name must be a CEL identifier (letters, digits, _)", kind)
	case fieldRoots[name]:
		k.errorf(pos, item, rules.CodeBadName, "%q is the start of field names (%s.*); choose another name", name, name)
	case kind == "macro" && k.lists[name] != nil:
		k.errorf(pos, item, rules.CodeDuplicate, "a list is already named %q (at %s)", name, k.lists[name].src.Pos)
	default:
		return true
	}
	return false
}

// expand resolves the items of l (docs/rules.md, "Lists"): an item that
// is exactly the name of another vigil list stands for that list's items,
// expanded in turn; an item in one pair of double or single quotes is the
// text inside them, taken literally. A list that names a list in a cycle,
// or that has more than rules.MaxListItems items once expanded, is an
// error at the list; a list naming a failed list fails without one of
// its own. Each list is expanded once, however many lists name it, and
// the items all lists take from the lists they name are bounded (a chain
// of lists each naming a large one would otherwise cost its length times
// the large one).
func (k *compilation) expand(l *list, path []string) {
	if l.state != 0 {
		return
	}
	l.state = 1
	path = append(path, l.src.Name)
	item := fmt.Sprintf("list %q", l.src.Name)
	if len(l.src.Items) > rules.MaxListItems {
		// Before expanding: the list alone is too large.
		k.errorf(l.src.Pos, item, rules.CodeTooLarge, "the list has %d items, over the limit of %d", len(l.src.Items), rules.MaxListItems)
		l.List, l.state = l.src, 2
		return
	}
	var items []string
	var from []*rules.List
	ok, ints := true, true
	for _, it := range l.src.Items {
		s, quoted := unquoteItem(it)
		sub := k.lists[s]
		switch {
		case quoted || sub == nil:
			items, from = append(items, s), append(from, l.src)
			ints = ints && !quoted && isInteger(s)
		case sub.state == 1:
			what := "the list names itself"
			if sub != l {
				what = "lists name each other in a cycle: " + strings.Join(append(path[slices.Index(path, s):], s), " -> ")
			}
			k.errorf(l.src.Pos, item, rules.CodeCycle, "%s (an item that is the name of a list stands for its items; write '\"%s\"' for the text %s)", what, s, s)
			ok = false
		default:
			k.expand(sub, path)
			if !sub.ok {
				ok = false // its error is reported
				break
			}
			if k.copied += len(sub.Items); k.copied > rules.MaxListItems {
				if k.copied-len(sub.Items) <= rules.MaxListItems { // once
					k.errorf(l.src.Pos, item, rules.CodeTooLarge, "lists take more than %d items from the lists they name, all lists together, the limit (here %d from %s)",
						rules.MaxListItems, len(sub.Items), s)
				}
				ok = false
				break
			}
			items, from = append(items, sub.Items...), append(from, sub.from...)
			ints = ints && (sub.ints != nil || len(sub.Items) == 0)
		}
		if ok && len(items) > rules.MaxListItems {
			k.errorf(l.src.Pos, item, rules.CodeTooLarge, "the list and the lists it names have more than %d items, the limit", rules.MaxListItems)
			ok = false
		}
		if !ok {
			break
		}
	}
	l.state = 2
	if !ok {
		l.List = l.src
		return
	}
	cp := *l.src
	cp.Items = items
	l.List, l.from, l.ok = &cp, from, true
	if ints && len(items) > 0 {
		l.ints = make([]int64, len(items))
		for i, s := range items {
			l.ints[i], _ = strconv.ParseInt(s, 10, 64) // isInteger parsed it
		}
	}
}

// unquoteItem takes one pair of surrounding double or single quotes off a
// list item; quoted reports whether it had them (the item is then
// literal text, never a list's name or a number).
func unquoteItem(s string) (text string, quoted bool) {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	return s, false
}

// isInteger reports whether a list item is an integer as vigil writes
// one: decimal, an optional minus, no leading zero (0755 is not 755), in
// int64's range.
func isInteger(s string) bool {
	d := strings.TrimPrefix(s, "-")
	if d == "" || d[0] == '0' && (len(d) > 1 || d != s) {
		return false
	}
	for i := range len(d) {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// listLiteral is the CEL list literal of an expanded list's items.
func (k *compilation) listLiteral(l *list) *cel.Ast {
	if len(l.Items) == 0 {
		// [] alone is a list(dyn), which would change the type of what
		// holds it ([l0, [1]] would become a list(list(int))): dyn([])
		// keeps every use that checked with list(string) checking.
		a, iss := k.c.base.Compile("dyn([])")
		if iss.Err() != nil {
			k.errorf(l.Pos, fmt.Sprintf("list %q", l.Name), rules.CodeInternal, "empty list: %v", iss.Err())
			return nil
		}
		return a
	}
	// Built as an expression tree, not parsed from text: parsing a
	// literal of 100,000 items took 0.8 s, checking the tree 0.25 s.
	elems := make([]*exprpb.Expr, len(l.Items))
	for i, it := range l.Items {
		c := &exprpb.Constant{ConstantKind: &exprpb.Constant_StringValue{StringValue: it}}
		if l.ints != nil {
			c = &exprpb.Constant{ConstantKind: &exprpb.Constant_Int64Value{Int64Value: l.ints[i]}}
		}
		elems[i] = &exprpb.Expr{Id: int64(i + 2), ExprKind: &exprpb.Expr_ConstExpr{ConstExpr: c}}
	}
	parsed := &exprpb.ParsedExpr{
		Expr:       &exprpb.Expr{Id: 1, ExprKind: &exprpb.Expr_ListExpr{ListExpr: &exprpb.Expr_CreateList{Elements: elems}}},
		SourceInfo: &exprpb.SourceInfo{},
	}
	a, iss := k.c.base.Check(cel.ParsedExprToAst(parsed))
	if iss.Err() != nil {
		// A list of string or int constants always checks.
		k.errorf(l.Pos, fmt.Sprintf("list %q", l.Name), rules.CodeBadList, "items do not form a CEL list: %v", iss.Err())
		return nil
	}
	return a
}

// checkBool compiles text and checks that it is a boolean condition,
// reporting errors at their place in the rule files.
func (k *compilation) checkBool(t rules.Text, item string) *cel.Ast {
	if len(t.S) > rules.MaxConditionBytes {
		k.errorf(t.Pos(0), item, rules.CodeTooLarge, "the condition is %d KiB, over the limit of %d KiB", len(t.S)>>10, rules.MaxConditionBytes>>10)
		return nil
	}
	a, iss := k.env.Compile(t.S)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			loc := e.Location
			off := offsetOf(t.S, loc.Line(), loc.Column())
			// CEL places an undeclared a.b.c at its last dot; point at a.
			if m := undeclaredRE.FindStringSubmatch(e.Message); m != nil {
				if i := strings.LastIndexByte(m[1], '.'); i >= 0 && off >= i && strings.HasPrefix(t.S[off-i:], m[1]) {
					off -= i
				}
			}
			msg := e.Message
			// proc.nosuch is an unknown field, not an unknown "proc".
			if m := undeclaredRE.FindStringSubmatch(msg); m != nil && fieldRoots[m[1]] {
				if full := dottedAt(t.S, off); strings.HasPrefix(full, m[1]+".") {
					msg = "undeclared reference to '" + full + "'"
				}
			}
			k.errorf(t.Pos(off), item, rules.CodeCondition, "%s%s", k.explain(msg), k.listHint(msg, t.S))
		}
		return nil
	}
	if !a.OutputType().IsExactType(cel.BoolType) {
		k.errorf(t.Pos(0), item, rules.CodeNotBool, "condition is of type %s, not bool", a.OutputType())
		return nil
	}
	return k.checkConstants(a, t, item)
}

// offsetOf turns CEL's (1-based line, 0-based column) into a byte offset.
func offsetOf(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	// CEL counts columns in code points.
	for n := 0; n < col && off < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return min(off, len(s))
}

var undeclaredRE = regexp.MustCompile(`undeclared reference to '([^']*)'`)

// dottedAt is the dotted name (a.b.c) that starts at byte off of s.
func dottedAt(s string, off int) string {
	end := off
	for end < len(s) && (s[end] == '.' || s[end] == '_' || 'a' <= s[end] && s[end] <= 'z' || 'A' <= s[end] && s[end] <= 'Z' || '0' <= s[end] && s[end] <= '9') {
		end++
	}
	return strings.TrimRight(s[off:end], ".")
}

// explain rewrites a CEL message for rule authors: names the missing field,
// list or macro and suggests the closest known name.
func (k *compilation) explain(msg string) string {
	if m := undeclaredRE.FindStringSubmatch(msg); m != nil {
		s := fmt.Sprintf("undefined field, list or macro %q", m[1])
		if near := k.closest(m[1]); near != "" {
			s += fmt.Sprintf(" (did you mean %s?)", near)
		}
		return s
	}
	return strings.TrimSuffix(msg, " (in container '')")
}

// listHint says, after a type error that involves lists, how the types of
// the named lists in condition s were decided: their items decide them,
// and rule authors do not declare them.
func (k *compilation) listHint(msg, s string) string {
	if !strings.Contains(msg, "no matching overload") {
		return ""
	}
	notIdent := func(r rune) bool {
		return r != '_' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	var hints, seen []string
	for _, w := range strings.FieldsFunc(s, notIdent) {
		l := k.lists[w]
		if l == nil || !l.ok || len(l.Items) == 0 || slices.Contains(seen, w) {
			continue
		}
		seen = append(seen, w)
		switch {
		case l.ints != nil && strings.Contains(msg, "list(int)"):
			hints = append(hints, fmt.Sprintf("list %q is a list(int), since every item is an integer; quote one ('\"%s\"') to make them strings", w, l.Items[0]))
		case l.ints == nil && strings.Contains(msg, "list(string)"):
			hints = append(hints, fmt.Sprintf("list %q is a list(string), since not every item is an integer without quotes", w))
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}

func (k *compilation) closest(name string) string {
	cands := make([]string, 0, len(event.Fields)+len(k.lists)+len(k.macros))
	for _, f := range event.Fields {
		cands = append(cands, f.Name)
	}
	for n := range k.lists {
		cands = append(cands, n)
	}
	for n := range k.macros {
		cands = append(cands, n)
	}
	slices.Sort(cands) // deterministic among equally close names
	return rules.Suggest(name, cands)
}

// identNames lists the identifiers a checked expression names, as
// resolved (fields, lists, macros), each once.
func identNames(a *cel.Ast) []string {
	var out []string
	refs := a.NativeRep().ReferenceMap()
	visit(a.NativeRep().Expr(), func(e ast.Expr) {
		if e.Kind() != ast.IdentKind {
			return
		}
		name := e.AsIdent()
		if r := refs[e.ID()]; r != nil && r.Name != "" {
			name = r.Name
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	})
	return out
}

// namedMacros lists the macros an expression names.
func (k *compilation) namedMacros(a *cel.Ast) []string {
	return slices.DeleteFunc(identNames(a), func(n string) bool { return k.macros[n] == nil })
}

// resolveMacro compiles a macro after the macros it names, depth first,
// reporting cycles and chains over rules.MaxMacroDepth.
func (k *compilation) resolveMacro(m *macro, path []string) {
	switch m.state {
	case 2:
		return
	case 1:
		cycle := append(path[slices.Index(path, m.src.Name):], m.src.Name)
		k.errorf(m.src.Pos, fmt.Sprintf("macro %q", m.src.Name), rules.CodeCycle, "macros refer to each other in a cycle: %s", strings.Join(cycle, " -> "))
		m.state = 2
		return
	}
	m.state = 1
	path = append(path, m.src.Name)
	for _, d := range m.deps {
		k.resolveMacro(k.macros[d], path)
	}
	m.state = 2
	if m.ast == nil {
		return
	}
	m.depth = 1
	for _, d := range m.deps {
		if !k.macros[d].ok {
			return // a dependency failed; its error is reported
		}
		m.depth = max(m.depth, k.macros[d].depth+1)
	}
	item := fmt.Sprintf("macro %q", m.src.Name)
	if m.depth > rules.MaxMacroDepth {
		k.errorf(m.src.Pos, item, rules.CodeTooLarge, "macros name macros more than %d deep here", rules.MaxMacroDepth)
		return
	}
	m.prg, m.cost, _, m.ok = k.program(m.ast, m.deps, m.src.Condition, item)
}

// inlineLists replaces the lists a names by their literals and folds
// constants; a names no list, it is returned as it is.
//
// Empty lists are inlined last, and not folded: folding turns their
// dyn([]) into [], and an empty list a names twice (bound once by the
// inliner) would take the type of its first use, so that
// net.dport in none && proc.name in none would no longer check.
func (k *compilation) inlineLists(a *cel.Ast, t rules.Text, item string) *cel.Ast {
	var vars, empty []*cel.InlineVariable
	for _, name := range identNames(a) {
		switch v := k.inline[name]; {
		case v == nil:
		case len(k.lists[name].Items) == 0:
			empty = append(empty, v)
		default:
			vars = append(vars, v)
		}
	}
	if len(vars) > 0 {
		fold, err := cel.NewConstantFoldingOptimizer()
		if err != nil {
			k.errorf(t.Pos(0), item, rules.CodeInternal, "constant folding: %v", err)
			return nil
		}
		if a = k.optimize(a, t, item, cel.NewInliningOptimizer(vars...), fold); a == nil {
			return nil
		}
	}
	if len(empty) > 0 {
		a = k.optimize(a, t, item, cel.NewInliningOptimizer(empty...))
	}
	return a
}

func (k *compilation) optimize(a *cel.Ast, t rules.Text, item string, opts ...any) *cel.Ast {
	opt, err := cel.NewStaticOptimizer(opts...)
	if err != nil {
		k.errorf(t.Pos(0), item, rules.CodeInternal, "optimizer: %v", err)
		return nil
	}
	out, iss := opt.Optimize(k.env, a)
	if iss != nil && iss.Err() != nil {
		k.errorf(t.Pos(0), item, rules.CodeInternal, "inline lists: %v", iss.Err())
		return nil
	}
	return out
}

func (k *compilation) compileRule(r *rules.Rule, an *analyzer) *Rule {
	item := fmt.Sprintf("rule %q", r.Name)
	n := len(k.errs)
	cr := &Rule{Name: r.Name, Priority: r.Priority, Tags: r.Tags, Action: r.Action, Enforce: r.Enforce, Fallback: r.Fallback, Enabled: r.Enabled, src: r}
	cr.cond = k.checkBool(r.Condition, item)
	if cr.cond != nil && k.depsOK(cr.cond) {
		native := cr.cond.NativeRep()
		bad := unknownTypes(native.Expr(), native.ReferenceMap(), k.lists)
		for id, name := range bad {
			loc := native.SourceInfo().GetStartLocation(id)
			k.errorf(r.Condition.Pos(offsetOf(r.Condition.S, loc.Line(), loc.Column())), item, rules.CodeBadEvtType,
				"evt.type is compared with %q, which is not an event type (%s)", name, typeList(event.AllTypes))
		}
		types, constrained := an.eventTypes(native.Expr(), native.ReferenceMap())
		switch {
		case len(bad) > 0:
		case !constrained && r.Dialect == rules.DialectFalco:
			// Falco runs such a rule on every event, and warns.
			cr.Types = event.AllTypes
			if r.WarnEvttypes {
				k.warns = append(k.warns, &rules.Error{Pos: r.Condition.Pos(0), Item: item, Code: rules.CodeNoEvtType,
					Msg: "the condition does not restrict evt.type, so it is evaluated for every event type (warn_evttypes: false silences this)"})
			}
		case !constrained:
			k.errorf(r.Condition.Pos(0), item, rules.CodeNoEvtType,
				"the condition does not restrict evt.type, so it would be evaluated for every event type (%s); add evt.type == \"...\" or evt.type in [...]", typeList(event.AllTypes))
		case types == 0 && r.Dialect == rules.DialectFalco:
			// Falco loads a rule that is false on every event (its rules
			// files have some: "not (container.id exists)"); so does
			// vigil, with a word.
			k.warns = append(k.warns, &rules.Error{Pos: r.Condition.Pos(0), Item: item, Code: rules.CodeNoEvtType,
				Msg: "the condition is false on every event, in Falco too: the rule never fires"})
		case types == 0:
			k.errorf(r.Condition.Pos(0), item, rules.CodeNoEvtType, "the condition can match no event type")
		default:
			cr.Types = types
		}
		cr.prg, _, cr.cost, _ = k.program(cr.cond, k.namedMacros(cr.cond), r.Condition, item)
	}
	var excs []polSource
	for _, e := range r.Exceptions {
		eitem := fmt.Sprintf("%s exception %q", item, e.Name)
		if a := k.checkBool(e.Condition, eitem); a != nil && k.depsOK(a) {
			excs = append(excs, polSource{a: a, text: e.Condition})
			if prg, _, _, ok := k.program(a, k.namedMacros(a), e.Condition, eitem); ok {
				cr.exceptions = append(cr.exceptions, exception{name: e.Name, prg: prg})
			}
		}
	}
	cr.output, cr.outFields, cr.outSources = k.parseOutput(r.Output, item, r.Dialect)
	if len(k.errs) == n && (r.Action == rules.ActionDeny || r.Action == rules.ActionKill) {
		k.compilePolicy(cr, an, excs)
	}
	if len(k.errs) > n {
		return nil
	}
	return cr
}

// depsOK reports whether every macro a names compiled.
func (k *compilation) depsOK(a *cel.Ast) bool {
	for _, d := range k.namedMacros(a) {
		if !k.macros[d].ok {
			return false
		}
	}
	return true
}

// program plans a with its lists inlined and checks the cost budget.
// Macros stay variables: the activation evaluates each at most once per
// event and shares the result between the rules that name it, so what a
// condition may cost is its own expression plus each macro it reaches
// (deps, and theirs), counted once. It returns the cost of a's own
// expression and that total.
func (k *compilation) program(a *cel.Ast, deps []string, t rules.Text, item string) (prg cel.Program, own, total uint64, ok bool) {
	in := k.inlineLists(a, t, item)
	if in == nil {
		return nil, 0, 0, false
	}
	est, err := k.env.EstimateCost(in, estimator{})
	if err != nil {
		k.errorf(t.Pos(0), item, rules.CodeCost, "estimate cost: %v", err)
		return nil, 0, 0, false
	}
	if total = satAdd(est.Max, k.reachedCost(deps)); total > k.c.costLimit {
		k.errorf(t.Pos(0), item, rules.CodeCost, "the condition may cost up to %d, over the budget of %d (regular expressions or comprehensions over long lists?)", total, k.c.costLimit)
		return nil, 0, 0, false
	}
	prg, err = k.env.Program(in, cel.EvalOptions(cel.OptOptimize), cel.CustomDecorator(specialize))
	if err != nil {
		k.errorf(t.Pos(0), item, rules.CodeCondition, "plan: %v", err)
		return nil, 0, 0, false
	}
	return prg, est.Max, total, true
}

// reachedCost sums the own costs of the macros deps name, directly or
// through each other, each once.
func (k *compilation) reachedCost(deps []string) uint64 {
	seen := map[string]bool{}
	var total uint64
	var walk func([]string)
	walk = func(ds []string) {
		for _, d := range ds {
			if seen[d] {
				continue
			}
			seen[d] = true
			m := k.macros[d]
			total = satAdd(total, m.cost)
			walk(m.deps)
		}
	}
	walk(deps)
	return total
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

func typeList(s event.TypeSet) string {
	var names []string
	for _, t := range event.Types() {
		if s.Has(t) {
			names = append(names, t.String())
		}
	}
	return strings.Join(names, ", ")
}

// visit calls f on every node of e, depth first.
func visit(e ast.Expr, f func(ast.Expr)) {
	f(e)
	switch e.Kind() {
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			visit(c.Target(), f)
		}
		for _, a := range c.Args() {
			visit(a, f)
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			visit(el, f)
		}
	case ast.SelectKind:
		visit(e.AsSelect().Operand(), f)
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		for _, x := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			visit(x, f)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			visit(me.Key(), f)
			visit(me.Value(), f)
		}
	}
}

// hasFalco reports whether set has items of Falco's dialect.
func hasFalco(set *rules.Set) bool {
	for _, r := range set.Rules {
		if r.Dialect == rules.DialectFalco {
			return true
		}
	}
	for _, m := range set.Macros {
		if m.Dialect == rules.DialectFalco {
			return true
		}
	}
	for _, l := range set.Lists {
		if l.Dialect == rules.DialectFalco {
			return true
		}
	}
	return false
}

// Skipped is the number of Falco rules left out because vigil cannot
// evaluate them (each has its warning).
func (rs *Ruleset) Skipped() int {
	n := 0
	for _, w := range rs.Warnings {
		if w.Code == falco.CodeSkipped {
			n++
		}
	}
	return n
}
