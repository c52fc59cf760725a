package engine

import (
	"strings"
	"testing"
)

// Output tokens that are not a known field are errors at the %, with the
// line and column of the output.
func TestOutputErrors(t *testing.T) {
	rule := func(output string) string {
		return "- rule: R\n  desc: d\n  condition: evt.type == \"open\"\n  output: " + output + "\n  priority: info\n"
	}
	cases := []struct{ name, output, want string }{
		{"unknown field", "file %file.pth by %proc.name",
			`a.yaml:4:16: rule "R": output names unknown field %file.pth (did you mean %file.path?) (LOAD_OUTPUT)`},
		{"percent at the end", "read at 100%",
			`a.yaml:4:22: rule "R": the output ends in a % that starts no field name (write %% for a literal %) (LOAD_OUTPUT)`},
		{"unterminated %(", "'file %(file.path by %proc.name'",
			`a.yaml:4:17: rule "R": "%(" starts no field name (write %field, or %% for a literal %) (LOAD_OUTPUT)`},
		{"percent and space", "'50% of %proc.name'",
			`a.yaml:4:14: rule "R": "% " starts no field name (write %field, or %% for a literal %) (LOAD_OUTPUT)`},
		{"percent on a later line", "|\n    first line\n    then %",
			`a.yaml:6:10: rule "R": the output ends in a % that starts no field name (write %% for a literal %) (LOAD_OUTPUT)`},
	}
	for _, c := range cases {
		_, err := compile(t, rule(c.output))
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		if got, _, _ := strings.Cut(err.Error(), "\n"); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestOutputLiterals(t *testing.T) {
	src := "- rule: R\n  desc: d\n  condition: evt.type == \"open\"\n  output: 100%% of %file.path. (%proc.name)\n  priority: info\n"
	rs := mustCompile(t, src)
	a := NewMatcher().Match(rs, ev(t, map[string]any{"evt.type": "open", "file.path": "/etc/x", "proc.name": "cat"}), nil)
	if len(a) != 1 || a[0].Output != "100% of /etc/x. (cat)" {
		t.Fatalf("alerts %+v", a)
	}
}
