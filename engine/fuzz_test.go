package engine

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// The compiler's fuzz targets: whatever the rule file, Compile returns a
// Ruleset or rules.Errors, each inside the file (a line and column of it)
// and none an internal error; a compiled set evaluates without a panic.

// FuzzCompile builds a rule file from the input: lists, macros and rules
// whose conditions come from a grammar of fields, operators, vigil's and
// CEL's functions and constants (malformed ones among them: CIDRs, globs,
// regular expressions, addresses, ports, names), with raw input bytes
// spliced in, so that most inputs reach the engine instead of stopping at
// the YAML or CEL parser.
func FuzzCompile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := (&ruleGen{b: data}).file()
		compileChecked(t, src)
	})
}

// FuzzCompileFile compiles the input as one rules file.
func FuzzCompileFile(f *testing.F) {
	f.Add([]byte(shellRules))
	f.Fuzz(func(t *testing.T, data []byte) {
		compileChecked(t, string(data))
	})
}

var compiler = func() *Compiler {
	c, err := NewCompiler(Options{Hostname: "fuzz"})
	if err != nil {
		panic(err)
	}
	return c
}()

// compileChecked compiles src as fuzz.yaml and checks the invariants.
func compileChecked(t *testing.T, src string) {
	const name = "fuzz.yaml"
	lines := strings.Split(src, "\n")
	check := func(err error) {
		var errs rules.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("not a rules.Errors: %v\n%s", err, src)
		}
		for _, e := range errs {
			line := ""
			if e.Pos.Line >= 1 && e.Pos.Line <= len(lines) {
				line = strings.TrimSuffix(lines[e.Pos.Line-1], "\r")
			}
			if e.Pos.File != name || e.Pos.Line < 1 || e.Pos.Line > len(lines) || e.Pos.Col < 1 || e.Pos.Col > utf8.RuneCountInString(line)+1 {
				t.Errorf("error outside the file (%d lines): %v\n%s", len(lines), e, src)
			}
			if e.Code == "" || e.Code == rules.CodeInternal || e.Msg == "" {
				t.Errorf("internal or uncoded error: %v\n%s", e, src)
			}
		}
	}
	set, err := rules.LoadSources(rules.Source{Name: name, Data: []byte(src)})
	if err != nil {
		check(err)
		return
	}
	rs, err := compiler.Compile(set)
	if err != nil {
		check(err)
		return
	}
	m := NewMatcher()
	for _, ev := range fuzzEvents {
		m.Match(rs, ev, nil)
	}
}

var fuzzEvents = func() []*event.Event {
	var out []*event.Event
	for _, fields := range []map[string]any{
		{"evt.type": "exec", "proc.name": "bash", "proc.args": []any{"-c", "x"}, "proc.cap_effective": []any{"CAP_SYS_ADMIN"}},
		{"evt.type": "open", "file.path": "/etc/[abc", "proc.name": "cat"},
		{"evt.type": "connect", "net.dip": "10.0.0.1", "net.dport": 443, "net.family": "ipv4"},
		{"evt.type": "connect", "net.dip": "fd00::1", "net.dport": 65535},
	} {
		e, err := event.FromFields(fields)
		if err != nil {
			panic(err)
		}
		out = append(out, e)
	}
	return out
}()

// ruleGen turns input bytes into a rule file. Each choice reads one byte;
// at the end of the input every choice is 0, which always ends the
// recursion.
type ruleGen struct {
	b      []byte
	i      int
	lists  []string
	macros []string
}

func (g *ruleGen) next() byte {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return c
}

func (g *ruleGen) pick(n int) int { return int(g.next()) % n }

// raw is up to n input bytes, on one line; invalid UTF-8 and control
// characters (which the reader refuses: FuzzCompileFile covers them) are
// replaced.
func (g *ruleGen) raw(n int) string {
	n = g.pick(n + 1)
	end := min(g.i+n, len(g.b))
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(g.b[g.i:end]), "?"))
	g.i = end
	return s
}

var fuzzStrings = []string{
	"", "exec", "open", "opn", "connect", "bash", "/etc", "/etc/", "/etc/*", "/etc/[abc", "[z-a]", "[!a-c]*",
	`\`, `a\`, "10.0.0.0/8", "10.0.0.0/99", "10.0.0.1/8", "not-an-ip", "1.2.3.999", "fd00::1", "fd00:0::1",
	"::ffff:10.0.0.1", "fe80::1%eth0", "^a(b", "a.*", "(?<=a)b", "[[:alpha:]]", "CAP_SYS_ADMIN", "CAP_5", "CAP_41",
	"cap_kill", "PTRACE_ATTACH", "PTRACE_99", "BPF_PROG_LOAD", "kprobe", "prog_type_99", "net", "NET", "%", "%(",
	"\x00", "\xff", "é", "\u202e", "'", `"`, "a\nb", "2024-01-01T00:00:00Z", "2024-13-01", "1h", "1x", "7", "x",
}

var fuzzNumbers = []string{
	"0", "-1", "1", "80", "65535", "65536", "4294967295", "4294967296", "9223372036854775807",
	"-9223372036854775808", "1u", "1.5", "-0.5", "1e300", "0x10",
}

var fuzzConstExprs = []string{
	"1/0", "1 % 0", `timestamp("2024-13-01")`, `timestamp("2024-01-01T00:00:00Z")`, `duration("1x")`,
	`duration("1h")`, `int("7")`, `int("x")`, "[1, 2][5]", `{"a": 1}["b"]`, `"a" + "b"`,
	"9223372036854775807 + 1", `size("abc")`, `"abc".matches("[")`, `"10.0.0.1".inCidr("10.0.0.0/8")`,
}

var fuzzStrFns = []string{"glob", "inCidr", "matches", "under", "startsWith", "endsWith", "contains", "equalsIgnoreCase"}
var fuzzListFns = []string{"inCidrs", "underAny", "startsWithAny", "endsWithAny", "containsAny"}
var fuzzOps = []string{"==", "!=", "<", "<=", ">", ">=", "in"}

func (g *ruleGen) str() string {
	if g.pick(8) == 7 {
		return strconv.Quote(g.raw(8))
	}
	return strconv.Quote(fuzzStrings[g.pick(len(fuzzStrings))])
}

func (g *ruleGen) num() string {
	if g.pick(6) == 5 {
		return fuzzConstExprs[g.pick(len(fuzzConstExprs))]
	}
	return fuzzNumbers[g.pick(len(fuzzNumbers))]
}

// strList is a list literal or a list's name.
func (g *ruleGen) strList() string {
	if len(g.lists) > 0 && g.pick(2) == 0 {
		return g.lists[g.pick(len(g.lists))]
	}
	n := g.pick(4)
	items := make([]string, n)
	for i := range items {
		items[i] = g.str()
	}
	return "[" + strings.Join(items, ", ") + "]"
}

func (g *ruleGen) field() *event.Field { return &event.Fields[g.pick(len(event.Fields))] }

// fieldOf is a field of one of the kinds, mostly.
func (g *ruleGen) fieldOf(kinds ...event.Kind) *event.Field {
	for range 4 {
		if f := g.field(); slices.Contains(kinds, f.Kind) {
			return f
		}
	}
	return g.field()
}

// value is a constant for f, mostly of its type.
func (g *ruleGen) value(f *event.Field) string {
	if g.pick(12) == 0 {
		return []string{g.str(), g.num(), "true", g.strList(), "[1, 2]"}[g.pick(5)]
	}
	switch f.Kind {
	case event.KindInt, event.KindUint:
		return g.num()
	case event.KindBool:
		return []string{"true", "false"}[g.pick(2)]
	case event.KindTime:
		return `timestamp(` + g.str() + `)`
	case event.KindStrings, event.KindMap:
		return g.str()
	}
	if len(f.Values) > 0 && g.pick(2) == 0 {
		return strconv.Quote(f.Values[g.pick(len(f.Values))])
	}
	return g.str()
}

func (g *ruleGen) expr(depth int) string {
	if depth > 5 {
		return g.leaf()
	}
	switch g.pick(15) {
	case 12:
		return "size(" + g.strList() + ") > " + g.num()
	case 13:
		return g.strList() + "[" + g.num() + "] == " + g.str()
	case 14:
		return "(" + g.expr(depth+1) + " ? " + g.strList() + " : " + g.strList() + ").exists(x, x == " + g.str() + ")"
	case 1:
		return g.expr(depth+1) + " && " + g.expr(depth+1)
	case 2:
		return "(" + g.expr(depth+1) + " || " + g.expr(depth+1) + ")"
	case 3:
		return "!(" + g.expr(depth+1) + ")"
	case 4:
		if len(g.macros) > 0 {
			return g.macros[g.pick(len(g.macros))]
		}
	case 5:
		f := g.fieldOf(event.KindString, event.KindIP)
		return f.Name + "." + fuzzStrFns[g.pick(len(fuzzStrFns))] + "(" + g.str() + ")"
	case 6:
		f := g.fieldOf(event.KindString, event.KindIP)
		return f.Name + "." + fuzzListFns[g.pick(len(fuzzListFns))] + "(" + g.strList() + ")"
	case 7:
		f := g.fieldOf(event.KindString, event.KindIP)
		if len(f.Values) > 0 && g.pick(2) == 0 {
			return f.Name + " in [" + g.value(f) + ", " + g.value(f) + "]"
		}
		return f.Name + " in " + g.strList()
	case 8:
		return "proc.args.exists(a, a." + fuzzStrFns[g.pick(len(fuzzStrFns))] + "(" + g.str() + "))"
	case 9:
		if g.pick(4) == 0 {
			return g.raw(16)
		}
	case 10:
		return `matches(` + g.fieldOf(event.KindString).Name + `, ` + g.str() + `)`
	case 11:
		f := g.fieldOf(event.KindStrings, event.KindMap)
		return g.value(f) + " in " + f.Name
	}
	return g.leaf()
}

func (g *ruleGen) leaf() string {
	f := g.field()
	var ops []string
	switch f.Kind {
	case event.KindBool:
		if g.pick(2) == 0 {
			return f.Name
		}
		ops = fuzzOps[:2]
	case event.KindInt, event.KindUint, event.KindTime:
		ops = fuzzOps[:6]
	case event.KindStrings, event.KindMap:
		return g.value(f) + " in " + f.Name
	default:
		ops = fuzzOps[:2]
	}
	if g.pick(10) == 0 {
		ops = fuzzOps
	}
	return f.Name + " " + ops[g.pick(len(ops))] + " " + g.value(f)
}

// cond is a condition as a YAML block scalar.
func cond(s string) string { return "|-\n    " + s + "\n" }

func (g *ruleGen) file() string {
	var b strings.Builder
	for i := range g.pick(3) {
		name := "l" + strconv.Itoa(i)
		b.WriteString("- list: " + name + "\n  items: [")
		for j := range g.pick(4) {
			if j > 0 {
				b.WriteString(", ")
			}
			// A string, a list's name (itself or a later list too: cycles),
			// a number (integer lists), or a quoted, literal item.
			switch k := g.pick(8); {
			case k == 5:
				b.WriteString("l" + strconv.Itoa(g.pick(3)))
			case k == 6:
				b.WriteString(fuzzNumbers[g.pick(len(fuzzNumbers))])
			case k == 7:
				b.WriteString(strconv.Quote("'" + fuzzStrings[g.pick(len(fuzzStrings))] + "'"))
			default:
				b.WriteString(strconv.Quote(fuzzStrings[g.pick(len(fuzzStrings))]))
			}
		}
		b.WriteString("]\n")
		g.lists = append(g.lists, name)
	}
	for i := range g.pick(3) {
		name := "m" + strconv.Itoa(i)
		b.WriteString("- macro: " + name + "\n  condition: " + cond(g.expr(0)))
		g.macros = append(g.macros, name) // later ones may name earlier ones
	}
	for i := range 1 + g.pick(2) {
		c := g.expr(0)
		if g.pick(4) != 0 {
			c = "evt.type == " + strconv.Quote(event.Types()[g.pick(len(event.Types()))].String()) + " && (" + c + ")"
		}
		b.WriteString("- rule: R" + strconv.Itoa(i) + "\n  desc: d\n  condition: " + cond(c))
		out := []string{"o %proc.name", "%proc.name %net.dip", "%proc.name.", "100%% %evt.type", "%", "%(", "%file.pth",
			"%proc.ancestors[1] %proc.args[0]", "%proc.name[1]", "%proc.args[", g.raw(12)}[max(0, g.pick(15)-4)]
		b.WriteString("  output: " + strconv.Quote(out) + "\n  priority: info\n")
		if a := g.pick(6); a >= 4 {
			b.WriteString("  action: " + []string{"deny", "kill"}[a-4] + "\n")
		}
		if g.pick(3) == 0 {
			b.WriteString("  exceptions:\n    - name: e\n      condition: " + strings.ReplaceAll(cond(g.expr(2)), "\n    ", "\n        "))
		}
	}
	return b.String()
}
