package ruletest

import (
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/rules"
)

// compileBuiltin compiles the built-in rule set.
func compileBuiltin(t *testing.T) *engine.Ruleset {
	t.Helper()
	rs, err := engine.CompilePaths(engine.Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// builtinCases are the cases of the built-in rules' tests.
func builtinCases(t *testing.T) []Case {
	t.Helper()
	var cases []Case
	for _, src := range rules.BuiltinTests() {
		cs, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, cs...)
	}
	return cases
}

// Every built-in rule fires where its tests say and stays quiet where they
// say, and each has both kinds of case.
func TestBuiltinRules(t *testing.T) {
	rs := compileBuiltin(t)
	cases := builtinCases(t)
	for _, r := range Run(rs, cases) {
		if len(r.Failures) > 0 {
			t.Errorf("%s: %s: %s (fired: %s)", r.Case.Pos, r.Case.Name, strings.Join(r.Failures, "; "), strings.Join(r.Fired, ", "))
		}
	}
	noFire, noMiss := Uncovered(rs, cases)
	for _, n := range noFire {
		t.Errorf("rule %q has no case where it fires", n)
	}
	for _, n := range noMiss {
		t.Errorf("rule %q has no case where it must not fire", n)
	}
	t.Logf("%d rules, %d cases", len(rs.Rules), len(cases))
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"- case: x\n  event: {evt.type: open}\n  fire: [R]\n  bogus: 1\n", `t.yaml:1:3: line 4: unknown key "bogus" (want case, event, event_json, fire, no_fire)`},
		{"- case: x\n  event: {evt.type: open, file.name: a}\n  fire: [R]\n", `t.yaml:1:3: case "x": file.name is derived from file.path; set file.path instead`},
		{"- case: x\n  event: {evt.type: open}\n", `t.yaml:1:3: case "x": expects nothing (fire, no_fire)`},
		{"- event: {evt.type: open}\n  fire: [R]\n", `t.yaml:1:3: case "": a case needs a name (case:)`},
		{"case: x\n", `t.yaml:1:1: a test file is a list of cases`},
	}
	for _, c := range cases {
		_, err := Parse(rules.Source{Name: "t.yaml", Data: []byte(c.src)})
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

// The kernel's path filters of issue 7's types never drop an event a
// built-in rule fires on: every test case of a path type that fires some
// rule passes the Go model of file_wanted, its paths passed as they are.
func TestBuiltinFileFiltersSound(t *testing.T) {
	rs := compileBuiltin(t)
	files := rs.Prefilter().Args.Files
	checked := 0
	for _, r := range Run(rs, builtinCases(t)) {
		ff, filtered := files[r.Case.Event.Type]
		if len(r.Fired) == 0 || !filtered {
			continue
		}
		e := r.Case.Event
		checked++
		if !ff.Wants(e.File.RawPath, e.File.Target) {
			t.Errorf("%s: %s: fires %v but the kernel would drop it (path %q, second %q)", r.Case.Pos, r.Case.Name, r.Fired, e.File.RawPath, e.File.Target)
		}
	}
	if checked < 8 { // the firing cases of 50-system.yaml's path rules
		t.Errorf("only %d firing cases of filtered path types checked", checked)
	}
}
