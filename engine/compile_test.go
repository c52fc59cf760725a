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
