package engine

import (
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/vigil-project/vigil/engine/event"
)

// library holds the functions rule authors need that CEL lacks. Each is
// documented with an example in docs/rules.md. None allocates.
type library struct {
	names Names // what resolvesTo reads; nil: no name resolves to anything
}

func (library) LibraryName() string { return "vigil" }

func (library) ProgramOptions() []cel.ProgramOption { return nil }

func (l library) CompileOptions() []cel.EnvOption {
	str, list := cel.StringType, cel.ListType(cel.StringType)
	strFn := func(name, id string, f func(string, string) bool) cel.EnvOption {
		return cel.Function(name, cel.MemberOverload(id, []*cel.Type{str, str}, cel.BoolType,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val { return types.Bool(f(string(a.(types.String)), string(b.(types.String)))) })))
	}
	listFn := func(name, id string, f func(string, string) bool) cel.EnvOption {
		return cel.Function(name, cel.MemberOverload(id, []*cel.Type{str, list}, cel.BoolType,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val { return anyOf(string(a.(types.String)), b, f) })))
	}
	return []cel.EnvOption{
		strFn("glob", "string_glob_string", func(s, p string) bool { return glob(p, s) }),
		strFn("equalsIgnoreCase", "string_equalsIgnoreCase_string", strings.EqualFold),
		strFn("under", "string_under_string", underDir),
		strFn("inCidr", "string_inCidr_string", inCidr),
		listFn("underAny", "string_underAny_list", underDir),
		listFn("inCidrs", "string_inCidrs_list", inCidr),
		listFn("startsWithAny", "string_startsWithAny_list", strings.HasPrefix),
		listFn("endsWithAny", "string_endsWithAny_list", strings.HasSuffix),
		listFn("containsAny", "string_containsAny_list", strings.Contains),
		cel.Function("basename", cel.Overload("basename_string", []*cel.Type{str}, str,
			cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(basename(string(a.(types.String)))) }))),
		cel.Function("dirname", cel.Overload("dirname_string", []*cel.Type{str}, str,
			cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(dirname(string(a.(types.String)))) }))),
		cel.Function("resolvesTo", cel.MemberOverload("string_resolvesTo_string", []*cel.Type{str, str}, cel.BoolType,
			cel.BinaryBinding(func(ip, name ref.Val) ref.Val { return types.Bool(l.resolves(ip, name)) }))),
		cel.Function("resolvesToAny", cel.MemberOverload("string_resolvesToAny_list", []*cel.Type{str, list}, cel.BoolType,
			cel.BinaryBinding(func(ip, names ref.Val) ref.Val {
				for it := names.(traits.Lister).Iterator(); it.HasNext() == types.True; {
					if l.resolves(ip, it.Next()) {
						return types.True
					}
				}
				return types.False
			}))),
		cel.Function("globIndex", cel.MemberOverload("list_globIndex_string", []*cel.Type{list, str}, cel.IntType,
			cel.BinaryBinding(func(l, p ref.Val) ref.Val { return types.Int(globIndex(l, string(p.(types.String)))) }))),
		cel.ASTValidators(dnsArgs{}),
	}
}

// globIndex is the index of the first item of l that matches the glob
// pattern, or -1.
func globIndex(l ref.Val, pattern string) int {
	i := 0
	for it := l.(traits.Lister).Iterator(); it.HasNext() == types.True; i++ {
		if s, ok := it.Next().(types.String); ok && glob(pattern, string(s)) {
			return i
		}
	}
	return -1
}

// Names answers resolvesTo: whether ip is one of the addresses a DNS name
// resolved to. It is called on the event path, so it must only read what
// was resolved before (dnsnames.Cache does): the engine never resolves.
type Names interface {
	Resolves(name string, ip netip.Addr) bool
}

// WithNames returns a Compiler whose rules' resolvesTo and resolvesToAny
// ask names. Without it no name resolves to anything.
func (c *Compiler) WithNames(names Names) (*Compiler, error) {
	env, err := newEnv(names)
	if err != nil {
		return nil, err
	}
	cp := *c
	cp.base = env
	return &cp, nil
}

// resolves is resolvesTo of an address (a CEL string, "" when the event
// has none) and a name.
func (l library) resolves(ip, name ref.Val) bool {
	s, ok := name.(types.String)
	if l.names == nil || !ok {
		return false
	}
	a, err := netip.ParseAddr(string(ip.(types.String)))
	return err == nil && l.names.Resolves(string(s), a)
}

// dnsArgs checks at load time what resolvesTo and resolvesToAny are given:
// the names are resolved ahead of the events, from the rules, so they
// must be constants: a string, a list literal or a named list.
type dnsArgs struct{}

func (dnsArgs) Name() string { return "vigil.dns_names" }

func (dnsArgs) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *celast.AST, iss *cel.Issues) {
	root := celast.NavigateAST(a)
	for _, fn := range []string{"resolvesTo", "resolvesToAny"} {
		for _, call := range celast.MatchDescendants(root, celast.FunctionMatcher(fn)) {
			args := call.AsCall().Args()
			if len(args) != 1 {
				continue
			}
			arg := args[0]
			var names []celast.Expr
			switch {
			case fn == "resolvesTo" && arg.Kind() == celast.LiteralKind:
				names = []celast.Expr{arg}
			case fn == "resolvesToAny" && arg.Kind() == celast.ListKind:
				names = arg.AsList().Elements()
			case fn == "resolvesToAny" && arg.Kind() == celast.IdentKind && !isField(a, arg):
				continue // a named list: its items are constants
			default:
				what := "a string"
				if fn == "resolvesToAny" {
					what = "a list literal or a named list"
				}
				iss.ReportErrorAtID(arg.ID(), "%s takes its DNS names as constants (%s), not a field or an expression: vigil resolves them ahead of the events, when the rules load", fn, what)
				continue
			}
			for _, n := range names {
				s, ok := stringLit(n)
				if !ok {
					iss.ReportErrorAtID(n.ID(), "%s takes its DNS names as constants (%s), not a field or an expression: vigil resolves them ahead of the events, when the rules load", fn, "string literals")
					continue
				}
				if msg := dnsNameError(s); msg != "" {
					iss.ReportErrorAtID(n.ID(), "%q is not a DNS name: %s", s, msg)
				}
			}
		}
	}
}

// isField reports whether the identifier e (the checker turns proc.args
// into one) names a field rather than a list.
func isField(a *celast.AST, e celast.Expr) bool {
	name := e.AsIdent()
	if r := a.ReferenceMap()[e.ID()]; r != nil && r.Name != "" {
		name = r.Name
	}
	_, ok := event.FieldByName(name)
	return ok
}

// dnsNameError says why s is not a host name a resolver can look up, or
// "": labels of letters, digits, - and _, 1 to 63 bytes each, 253 bytes
// in all, an optional final dot. An IP address is a name that resolves
// to itself.
func dnsNameError(s string) string {
	if _, err := netip.ParseAddr(s); err == nil {
		return ""
	}
	t := strings.TrimSuffix(s, ".")
	switch {
	case t == "":
		return "it is empty"
	case len(t) > 253:
		return fmt.Sprintf("it is %d bytes long, over 253", len(t))
	}
	for i, label := range strings.Split(t, ".") {
		if label == "" {
			return fmt.Sprintf("label %d is empty", i+1)
		}
		if len(label) > 63 {
			return fmt.Sprintf("label %d is %d bytes long, over 63", i+1, len(label))
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("label %d has the byte %q", i+1, c)
			}
		}
	}
	return ""
}

// DNSNames returns the names the enabled rules give resolvesTo and
// resolvesToAny, in their conditions, their exceptions and the macros
// those name, sorted: what a Names behind the rules must keep resolved
// (dnsnames.Cache's SetNames).
func (rs *Ruleset) DNSNames() []string {
	seen := map[string]bool{}
	done := map[string]bool{}
	var walk func(a *celast.AST)
	walk = func(a *celast.AST) {
		refs := a.ReferenceMap()
		celast.PostOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
			if name := nameOf(e, refs); name != "" && !done[name] {
				if m := rs.an.macros[name]; m != nil && m.ast != nil {
					done[name] = true
					walk(m.ast.NativeRep())
				}
			}
			if e.Kind() != celast.CallKind || len(e.AsCall().Args()) != 1 {
				return
			}
			switch e.AsCall().FunctionName() {
			case "resolvesTo":
				if s, ok := stringLit(e.AsCall().Args()[0]); ok {
					seen[s] = true
				}
			case "resolvesToAny":
				if l, ok := rs.an.stringList(e.AsCall().Args()[0], refs); ok {
					for _, s := range l {
						seen[s] = true
					}
				}
			}
		}))
	}
	var parser *cel.Env
	for _, r := range rs.Rules {
		if !r.Enabled || r.cond == nil {
			continue
		}
		walk(r.cond.NativeRep())
		// The compiled exceptions keep no syntax tree: parse again the few
		// that may name one (they compiled, so they parse).
		for _, ex := range r.src.Exceptions {
			if !strings.Contains(ex.Condition.S, "resolvesTo") {
				continue
			}
			if parser == nil {
				var err error
				if parser, err = newBaseEnv(); err != nil {
					break
				}
			}
			if a, iss := parser.Parse(ex.Condition.S); iss.Err() == nil {
				walk(a.NativeRep())
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// anyOf reports whether f(s, item) holds for some item of the list l.
func anyOf(s string, l ref.Val, f func(string, string) bool) ref.Val {
	lister := l.(traits.Lister)
	it := lister.Iterator()
	for it.HasNext() == types.True {
		if item, ok := it.Next().(types.String); ok && f(s, string(item)) {
			return types.True
		}
	}
	return types.False
}

// underDir reports whether p is dir or below it. A trailing slash on dir is
// ignored; "/" contains every absolute path.
func underDir(p, dir string) bool {
	dir = strings.TrimRight(dir, "/")
	if !strings.HasPrefix(p, dir) {
		return false
	}
	return len(p) == len(dir) || p[len(dir)] == '/'
}

// inCidr reports whether ip is in the prefix cidr ("10.0.0.0/8", "fd00::/8",
// or a single address). IPv4-mapped IPv6 addresses match IPv4 prefixes.
func inCidr(ip, cidr string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	p, ok := parsePrefix(cidr)
	if !ok {
		return false
	}
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return p.Contains(a)
}

func basename(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

func dirname(p string) string {
	if p == "" {
		return ""
	}
	return path.Dir(p)
}

// glob matches s against pattern: * is any sequence (also across /), ? is
// one byte, [abc], [a-z] and [!x] are classes, \ quotes the next byte. It
// backtracks only to the last *, so it is linear in practice and never
// allocates. A pattern globError refuses matches nothing (a constant one
// is refused at load).
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				px++
				sx++
				continue
			case '[':
				n, ok := matchClass(pattern[px:], s[sx])
				if n == 0 {
					return false // never closed: see globError
				}
				if ok {
					px += n
					sx++
					continue
				}
			case '\\':
				if px+1 < len(pattern) && pattern[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			default:
				if c == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// matchClass matches c against the class at the start of p ("[...]").
// It returns the class's length (0 if p has no closing bracket) and
// whether c is in it.
func matchClass(p string, c byte) (int, bool) {
	i := 1
	negate := i < len(p) && (p[i] == '!' || p[i] == '^')
	if negate {
		i++
	}
	in := false
	for first := true; i < len(p); first = false {
		if p[i] == ']' && !first {
			return i + 1, in != negate
		}
		lo := p[i]
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			if lo <= c && c <= p[i+2] {
				in = true
			}
			i += 3
			continue
		}
		if lo == c {
			in = true
		}
		i++
	}
	return 0, false
}

// globError says what makes pattern match nothing or not what it reads
// as, or "": a class never closed, an empty range, a trailing \.
func globError(pattern string) string {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			if i+1 == len(pattern) {
				return `it ends in \, which quotes nothing (write \\ for a \)`
			}
			i++
		case '[':
			n, _ := matchClass(pattern[i:], 0)
			if n == 0 {
				return fmt.Sprintf(`the [ at byte %d opens a class that is never closed (write \[ for a [)`, i+1)
			}
			if r := emptyRange(pattern[i : i+n]); r != "" {
				return fmt.Sprintf("the range %s in the class at byte %d is empty", r, i+1)
			}
			i += n - 1
		}
	}
	return ""
}

// emptyRange returns the first range of the class p ("[...]", as
// matchClass reads it) whose end is below its start.
func emptyRange(p string) string {
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		i++
	}
	for first := true; i < len(p); first = false {
		if p[i] == ']' && !first {
			break
		}
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			if p[i] > p[i+2] {
				return p[i : i+3]
			}
			i += 3
			continue
		}
		i++
	}
	return ""
}
