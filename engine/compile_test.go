package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/rules"
)

func compileWith(t *testing.T, o Options, src string) (*Ruleset, error) {
	t.Helper()
	set, err := rules.LoadSources(rules.Source{Name: "a.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c, err := NewCompiler(o)
	if err != nil {
		t.Fatal(err)
	}
	return c.Compile(set)
}

// Macros are never inlined into the conditions that name them: a
// condition costs its own expression plus each macro it reaches, once,
// however many paths lead there (the activation evaluates a macro once
// per event). Two different expensive macros add up and can go over the
// budget that one of them fits in.
func TestCostCountsEachMacroOnce(t *testing.T) {
	const macros = `
- macro: heavy
  condition: evt.type == "exec" && proc.cmdline.matches("^-[a-z]+x$")
- macro: heavy2
  condition: evt.type == "exec" && proc.cmdline.matches("^-[a-z]+y$")
- macro: left
  condition: heavy && proc.name != "a"
- macro: right
  condition: heavy && proc.name != "b"
`
	rule := func(name, cond string) string {
		return "- rule: " + name + "\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: info\n"
	}
	rs, err := compileWith(t, Options{Hostname: "h"}, macros+rule("one", "heavy"))
	if err != nil {
		t.Fatal(err)
	}
	one := rs.Rules[0].cost
	if one < 1000 {
		t.Fatalf("cost of a rule naming heavy = %d; the test needs an expensive macro", one)
	}
	limit := one + one/2
	rs, err = compileWith(t, Options{Hostname: "h", CostLimit: limit}, macros+rule("diamond", "left && right"))
	if err != nil {
		t.Fatalf("heavy reached twice counted twice: %v", err)
	}
	if c := rs.Rules[0].cost; c < one || c > one+100 {
		t.Errorf("diamond costs %d, want heavy's %d plus a few", c, one)
	}
	_, err = compileWith(t, Options{Hostname: "h", CostLimit: limit}, macros+rule("both", "heavy || heavy2"))
	if err == nil || !strings.Contains(err.Error(), `a.yaml:12:14: rule "both": the condition may cost up to`) {
		t.Errorf("two heavy macros under a budget for one: %v", err)
	}
}

// Limits apply before CEL sees the text, with the position of what is
// over them; what is under them compiles, beyond cel-go's own defaults
// (100,000 code points, 100,000 nodes).
func TestLimits(t *testing.T) {
	rule := func(cond string) string {
		return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: info\n"
	}
	var ors []string
	for i := range 5000 {
		ors = append(ors, fmt.Sprintf("proc.name == \"n%d\"", i))
	}
	items := make([]string, 100_000)
	for i := range items {
		items[i] = fmt.Sprint("i", i)
	}
	list := func(n int) string {
		return "- list: big\n  items: [" + strings.Join(items[:n], ", ") + "]\n"
	}
	rs := mustCompile(t, rule(`evt.type == "exec" && (`+strings.Join(ors, " || ")+`)`))
	if got := fired(rs, ev(t, map[string]any{"evt.type": "exec", "proc.name": "n4999"})); len(got) != 1 {
		t.Errorf("5000 ORs: fired %v", got)
	}
	rs = mustCompile(t, list(100_000)+rule(`evt.type == "exec" && proc.name in big`))
	if got := fired(rs, ev(t, map[string]any{"evt.type": "exec", "proc.name": "i99999"})); len(got) != 1 {
		t.Errorf("100,000-item list: fired %v", got)
	}

	var chain strings.Builder
	chain.WriteString("- macro: m0\n  condition: evt.type == \"exec\"\n")
	for i := 1; i <= rules.MaxMacroDepth+5; i++ {
		fmt.Fprintf(&chain, "- macro: m%d\n  condition: m%d\n", i, i-1)
	}
	long := strings.Repeat(`proc.name == "x" || `, rules.MaxConditionBytes/20) + `proc.name == "y"`
	cases := []struct{ name, src, want string }{
		{"condition", rule(`evt.type == "exec" && (` + long + `)`),
			`a.yaml:3:14: rule "R": the condition is 1024 KiB, over the limit of 1024 KiB (LOAD_TOO_LARGE)`},
		{"list", "- list: big\n  items: [" + strings.Repeat("a, ", rules.MaxListItems) + "a]\n" + rule(`evt.type == "exec" && proc.name in big`),
			`a.yaml:1:9: list "big": the list has 200001 items, over the limit of 200000 (LOAD_TOO_LARGE)`},
		{"list too large, its items analysed", "- list: big\n  items: [" + strings.Repeat("exec, ", rules.MaxListItems) + "a]\n" + rule(`evt.type in big`),
			`a.yaml:1:9: list "big": the list has 200001 items, over the limit of 200000 (LOAD_TOO_LARGE)`},
		{"macro depth", chain.String() + rule(fmt.Sprintf(`m%d`, rules.MaxMacroDepth+5)),
			`a.yaml:201:10: macro "m100": macros name macros more than 100 deep here (LOAD_TOO_LARGE)`},
		{"unknown field of a known root", rule(`evt.type == "exec" && proc.nosuch == "a"`),
			`a.yaml:3:36: rule "R": undefined field, list or macro "proc.nosuch" (LOAD_CONDITION)`},
		{"unknown field, close to one", rule(`evt.type == "exec" && proc.pnam == "a"`),
			`a.yaml:3:36: rule "R": undefined field, list or macro "proc.pnam" (did you mean proc.pname?) (LOAD_CONDITION)`},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		if got, _, _ := strings.Cut(err.Error(), "\n"); got != c.want {
			t.Errorf("%s:\n got %.300s\nwant %s", c.name, got, c.want)
		}
	}
}

// A compile whose context is done gives up with the context's error.
func TestCompileContextCancelled(t *testing.T) {
	set, err := rules.LoadSources(rules.Source{Name: "a.yaml", Data: []byte(sharedRules(10, 5))})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCompiler(Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rs, err := c.CompileContext(ctx, set); rs != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("CompileContext(cancelled) = %v, %v", rs, err)
	}
}

// An empty list is a list of strings like any other: it matches nothing,
// wherever it is used, and does not change the type of what holds it.
func TestEmptyList(t *testing.T) {
	rs := mustCompile(t, `
- list: none
  items: []
- rule: In
  desc: d
  condition: evt.type == "exec" && (proc.name in none || "a" in [none, [1]][0])
  output: o
  priority: info
- rule: Prefix
  desc: d
  condition: evt.type == "exec" && proc.exe.startsWithAny(none)
  output: o
  priority: info
- rule: NotIn
  desc: d
  condition: evt.type == "exec" && !(proc.name in none)
  output: o
  priority: info
`)
	got := fired(rs, ev(t, map[string]any{"evt.type": "exec", "proc.name": "a", "proc.exe": "/bin/a"}))
	if !slices.Equal(got, []string{"NotIn"}) {
		t.Errorf("fired %v, want [NotIn]", got)
	}
}

// The end of a block scalar's condition is just after its last
// character, on its line, not past the line break.
func TestErrorAtEndOfBlockScalar(t *testing.T) {
	_, err := compile(t, "- rule: R\n  desc: d\n  condition: >\n   evt.type == \"exec\" &&\n  output: o\n  priority: info\n")
	want := `a.yaml:4:25: rule "R": Syntax error: mismatched input '<EOF>'`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant %s...", err, want)
	}
}

// A list item that is exactly the name of another list stands for that
// list's items, expanded in turn, whatever the order of definition and
// after appends; one pair of surrounding quotes makes an item literal
// text. A list whose items are all integers without quotes is a
// list(int).
func TestListItems(t *testing.T) {
	rs := mustCompile(t, `
- list: all_shells
  items: [shells, zsh, '"shells"', "'zsh'"]
- list: shells
  items: [bash, sh]
- list: shells
  items: [more_shells]
  override:
    items: append
- list: more_shells
  items: [dash]
- list: quoted
  items: ['"sh -c uname -p 2> /dev/null"', "'single'", '"unbalanced', '""', '""x""', "'a\"", '"''"', x"]
- list: ports
  items: [80, 443, "8080", 0]
- list: signed
  items: [-1, 7]
- list: more_ports
  items: [ports, 22, empty]
- list: empty
  items: []
- list: texts
  items: [80, '"443"']
- list: octal
  items: [0755, "007", "-0", "+1", 1e3, 99999999999999999999]
- list: mixed
  items: [ports, http]
- rule: R
  desc: d
  condition: evt.type == "connect" && net.dport in more_ports && proc.name in all_shells && !(net.dport in empty) && !(proc.name in empty)
  output: o
  priority: info
`)
	cases := []struct {
		list  string
		items []string
		ints  []int64
	}{
		{"all_shells", []string{"bash", "sh", "dash", "zsh", "shells", "zsh"}, nil},
		{"shells", []string{"bash", "sh", "dash"}, nil},
		{"quoted", []string{"sh -c uname -p 2> /dev/null", "single", `"unbalanced`, "", `"x"`, `'a"`, `'`, `x"`}, nil},
		{"ports", []string{"80", "443", "8080", "0"}, []int64{80, 443, 8080, 0}},
		{"signed", []string{"-1", "7"}, []int64{-1, 7}},
		{"more_ports", []string{"80", "443", "8080", "0", "22"}, []int64{80, 443, 8080, 0, 22}},
		{"empty", nil, nil},
		{"texts", []string{"80", "443"}, nil},
		{"octal", []string{"0755", "007", "-0", "+1", "1e3", "99999999999999999999"}, nil},
		{"mixed", []string{"80", "443", "8080", "0", "http"}, nil},
	}
	for _, c := range cases {
		l := rs.an.lists[c.list]
		if !slices.Equal(l.Items, c.items) || !slices.Equal(l.ints, c.ints) || (l.ints == nil) != (c.ints == nil) {
			t.Errorf("list %s: items %q ints %v, want %q %v", c.list, l.Items, l.ints, c.items, c.ints)
		}
	}
	if got := rs.an.lists["shells"].from[2].Pos.Line; got != 10 {
		t.Errorf("dash is written in the list at line %d, want 10", got)
	}
	conn := func(port int, name string) []string {
		return fired(rs, ev(t, map[string]any{"evt.type": "connect", "net.dport": port, "proc.name": name}))
	}
	for _, c := range []struct {
		port int
		name string
		want []string
	}{
		{22, "dash", []string{"R"}}, {8080, "shells", []string{"R"}}, {443, "zsh", []string{"R"}},
		{23, "bash", nil}, {80, "more_shells", nil}, {80, "'zsh'", nil},
	} {
		if got := conn(c.port, c.name); !slices.Equal(got, c.want) {
			t.Errorf("port %d, %s: fired %v, want %v", c.port, c.name, got, c.want)
		}
	}
}

// The errors of lists: at the list, with how to mean the text when an
// item names a list by accident; constants checked at the list that
// writes them; types explained where a list is used with the other type.
func TestListErrors(t *testing.T) {
	rule := func(cond string) string {
		return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: info\n"
	}
	cases := []struct {
		name, src string
		want      []string
	}{
		{"names itself", "- list: sudo\n  items: [sudo, su]\n" + rule(`evt.type == "exec" && proc.name in sudo`),
			[]string{`a.yaml:1:9: list "sudo": the list names itself (an item that is the name of a list stands for its items; write '"sudo"' for the text sudo) (LOAD_CYCLE)`}},
		{"cycle", "- list: a\n  items: [x, b]\n- list: b\n  items: [c]\n- list: c\n  items: [a, y]\n- list: d\n  items: [b]\n" + rule(`evt.type == "exec" && proc.name in d`),
			[]string{`a.yaml:5:9: list "c": lists name each other in a cycle: a -> b -> c -> a (an item that is the name of a list stands for its items; write '"a"' for the text a) (LOAD_CYCLE)`}},
		{"constant in a named list", "- list: nets\n  items: [10.0.0.0/8, 10.0.0.0/33]\n- list: all_nets\n  items: [nets]\n" + rule(`evt.type == "connect" && net.dip.inCidrs(all_nets)`),
			[]string{`a.yaml:1:9: list "nets": inCidrs: item "10.0.0.0/33" is not an IP address or prefix (prefix length out of range) (used by rule "R" at a.yaml:7:55) (LOAD_BAD_CONSTANT)`}},
		{"port out of range", "- list: ports\n  items: [80, 70000, -1]\n- list: all_ports\n  items: [ports]\n" + rule(`evt.type == "connect" && net.dport in all_ports`),
			[]string{
				`a.yaml:1:9: list "ports": net.dport is compared with item "70000", a value it never holds (port 70000 out of range) (used by rule "R" at a.yaml:7:52) (LOAD_BAD_CONSTANT)`,
				`a.yaml:1:9: list "ports": net.dport is compared with item "-1", a value it never holds (port -1 out of range) (used by rule "R" at a.yaml:7:52) (LOAD_BAD_CONSTANT)`,
			}},
		{"int list with a string field", "- list: ports\n  items: [80, 443]\n" + rule(`evt.type == "exec" && proc.name in ports`),
			[]string{`a.yaml:5:46: rule "R": found no matching overload for '@in' applied to '(string, list(int))' (list "ports" is a list(int), since every item is an integer; quote one ('"80"') to make them strings) (LOAD_CONDITION)`}},
		{"string list with a number field", "- list: ports\n  items: [80, http]\n" + rule(`evt.type == "connect" && net.dport in ports`),
			[]string{`a.yaml:5:49: rule "R": found no matching overload for '@in' applied to '(int, list(string))' (list "ports" is a list(string), since not every item is an integer without quotes) (LOAD_CONDITION)`}},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		var errs rules.Errors
		if !errors.As(err, &errs) {
			t.Errorf("%s: err = %v", c.name, err)
			continue
		}
		var got []string
		for _, e := range errs {
			line, _, _ := strings.Cut(e.Error(), "\n")
			got = append(got, line)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// Expansion applies the size limit to the expanded list, and bounds the
// items all lists take from the lists they name: a chain of lists naming
// a large one stops at the list past the bound.
func TestListLimitAfterExpansion(t *testing.T) {
	names := func(prefix string, n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return strings.Join(items, ", ")
	}
	rule := "- rule: R\n  desc: d\n  condition: evt.type == \"exec\" && proc.name in uses\n  output: o\n  priority: info\n"
	cases := []struct{ name, src, want string }{
		{"expanded list", "- list: half\n  items: [" + names("a", rules.MaxListItems/2+1) + "]\n- list: big\n  items: [half, " + names("b", rules.MaxListItems/2) + "]\n- list: uses\n  items: [big]\n" + rule,
			`a.yaml:3:9: list "big": the list and the lists it names have more than 200000 items, the limit (LOAD_TOO_LARGE)`},
		{"all lists", "- list: l0\n  items: [" + names("a", 60_000) + "]\n- list: l1\n  items: [l0]\n- list: l2\n  items: [l1]\n- list: l3\n  items: [l2]\n- list: uses\n  items: [l3]\n" + rule,
			`a.yaml:9:9: list "uses": lists take more than 200000 items from the lists they name, all lists together, the limit (here 60000 from l3) (LOAD_TOO_LARGE)`},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		if got, _, _ := strings.Cut(fmt.Sprint(err), "\n"); got != c.want {
			t.Errorf("%s: err = %v\nwant %s", c.name, err, c.want)
		}
	}
}
