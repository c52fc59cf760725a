package engine

import (
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
