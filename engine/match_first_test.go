package engine

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// rule_matching first: only the first matching rule, in definition order,
// alerts; all (the default) alerts every one.
func TestMatchFirst(t *testing.T) {
	rs := mustCompile(t, `
- rule: Never
  desc: d
  condition: evt.type == "exec" && proc.name == "nope"
  output: o
  priority: warning
- rule: One
  desc: d
  condition: evt.type == "exec" && proc.name == "sh"
  output: o
  priority: warning
- rule: Two
  desc: d
  condition: evt.type == "exec" && proc.name.startsWith("s")
  output: o
  priority: warning
`)
	ev, err := event.FromFields(map[string]any{"evt.type": "exec", "proc.name": "sh"})
	if err != nil {
		t.Fatal(err)
	}
	names := func(as []*event.Alert) (out []string) {
		for _, a := range as {
			out = append(out, a.Rule)
		}
		return out
	}
	m := NewMatcher()
	if got := names(m.Match(rs, ev, nil)); len(got) != 2 || got[0] != "One" || got[1] != "Two" {
		t.Errorf("all: %v", got)
	}
	m.First = true
	if got := names(m.Match(rs, ev, nil)); len(got) != 1 || got[0] != "One" {
		t.Errorf("first: %v", got)
	}
}
