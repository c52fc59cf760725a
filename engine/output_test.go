package engine

import (
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
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
		{"index on a string", "name %proc.name[1] x",
			`a.yaml:4:26: rule "R": %proc.name is not a list: it takes no index (put a space before a [ that is text) (LOAD_OUTPUT)`},
		{"index on a map", "env %proc.env[HOME]",
			`a.yaml:4:24: rule "R": %proc.env is not a list: it takes no index (put a space before a [ that is text) (LOAD_OUTPUT)`},
		{"index not closed", "up %proc.ancestors[1 and more",
			`a.yaml:4:29: rule "R": the index of %proc.ancestors is not closed with ] (LOAD_OUTPUT)`},
		{"index not a number", "up %proc.ancestors[x]",
			`a.yaml:4:29: rule "R": the index of %proc.ancestors must be a number from 0, not "x" (LOAD_OUTPUT)`},
		{"negative index", "up %proc.ancestors[-1]",
			`a.yaml:4:29: rule "R": the index of %proc.ancestors must be a number from 0, not "-1" (LOAD_OUTPUT)`},
		{"empty index", "arg %proc.args[]",
			`a.yaml:4:25: rule "R": the index of %proc.args must be a number from 0, not "" (LOAD_OUTPUT)`},
		{"index past the most ancestors", "up %proc.ancestors[16]",
			`a.yaml:4:29: rule "R": %proc.ancestors holds at most 16 items, so [16] is never there (the first is [0]) (LOAD_OUTPUT)`},
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

// An index on a list field renders one element: proc.ancestors[0] is the
// parent; an element that is not there is "" in the output and in
// output_fields, whose key is the token as written.
func TestOutputIndex(t *testing.T) {
	src := "- rule: R\n  desc: d\n  condition: evt.type == \"exec\"\n" +
		"  output: up=%proc.ancestors[0],%proc.ancestors[1],%proc.ancestors[2] all=%proc.ancestors arg=%proc.args[1]|%proc.args[5]| again=%proc.ancestors[1]\n  priority: info\n"
	rs := mustCompile(t, src)
	a := NewMatcher().Match(rs, ev(t, map[string]any{"evt.type": "exec", "proc.name": "sh",
		"proc.ancestors": []any{"bash", "sshd"}, "proc.args": []any{"-c", "uname\n-p"}}), nil)
	if len(a) != 1 {
		t.Fatalf("alerts %+v", a)
	}
	if want := `up=bash,sshd, all=bash sshd arg=uname\n-p|| again=sshd`; a[0].Output != want {
		t.Errorf("output\n got %s\nwant %s", a[0].Output, want)
	}
	js := string(event.AppendAlertJSON(nil, a[0]))
	want := `"output_fields":{"proc.ancestors[0]":"bash","proc.ancestors[1]":"sshd","proc.ancestors[2]":"","proc.ancestors":["bash","sshd"],"proc.args[1]":"uname\n-p","proc.args[5]":""}`
	if !strings.Contains(js, want) {
		t.Errorf("alert JSON\n%s\nwant it to hold\n%s", js, want)
	}
}
