package engine

import (
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

func compile(t testing.TB, files ...string) (*Ruleset, error) {
	t.Helper()
	var srcs []rules.Source
	for i, f := range files {
		srcs = append(srcs, rules.Source{Name: []string{"a.yaml", "b.yaml", "c.yaml"}[i], Data: []byte(f)})
	}
	set, err := rules.LoadSources(srcs...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c, err := NewCompiler(Options{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Compile(set)
}

func mustCompile(t testing.TB, files ...string) *Ruleset {
	t.Helper()
	rs, err := compile(t, files...)
	if err != nil {
		t.Fatalf("compile:\n%v", err)
	}
	return rs
}

func ev(t testing.TB, fields map[string]any) *event.Event {
	t.Helper()
	e, err := event.FromFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fired(rs *Ruleset, e *event.Event) []string {
	var names []string
	for _, a := range NewMatcher().Match(rs, e, nil) {
		names = append(names, a.Rule)
	}
	return names
}

const shellRules = `
- list: shell_binaries
  items: [bash, sh, zsh]
- macro: spawned_shell
  condition: evt.type == "exec" && proc.name in shell_binaries
- rule: Terminal shell in container
  desc: A shell with a terminal in a container.
  condition: >
    spawned_shell && container.id != ""
    && proc.tty != 0
  output: Shell in container (user=%user.name container=%container.id shell=%proc.name cmdline=%proc.cmdline)
  priority: warning
  tags: [container, shell, mitre_execution]
  exceptions:
    - name: tmux
      condition: 'proc.pname == "tmux: server"'
- rule: Sensitive read
  desc: x
  condition: evt.type == "open" && file.path.underAny(["/etc/shadow", "/etc/sudoers.d"]) && !(proc.name in ["sshd", "sudo"])
  output: Read of %file.path by %proc.name
  priority: error
`

func TestMatch(t *testing.T) {
	rs := mustCompile(t, shellRules)
	shell := map[string]any{"evt.type": "exec", "proc.name": "bash", "container.id": "0123456789ab", "proc.tty": 34816, "user.name": "root", "proc.args": []any{"-i"}}
	cases := []struct {
		name   string
		mutate map[string]any
		want   string
	}{
		{"shell with tty in container", nil, "Terminal shell in container"},
		{"no tty", map[string]any{"proc.tty": 0}, ""},
		{"on the host", map[string]any{"container.id": ""}, ""},
		{"not a shell", map[string]any{"proc.name": "python3"}, ""},
		{"exception", map[string]any{"proc.pname": "tmux: server"}, ""},
		{"open event", map[string]any{"evt.type": "open", "file.path": "/etc/shadow"}, "Sensitive read"},
		{"open below", map[string]any{"evt.type": "open", "file.path": "/etc/sudoers.d/x"}, "Sensitive read"},
		{"open by sshd", map[string]any{"evt.type": "open", "file.path": "/etc/shadow", "proc.name": "sshd"}, ""},
		{"open elsewhere", map[string]any{"evt.type": "open", "file.path": "/etc/shadowx"}, ""},
	}
	for _, c := range cases {
		f := map[string]any{}
		for k, v := range shell {
			f[k] = v
		}
		for k, v := range c.mutate {
			f[k] = v
		}
		got := strings.Join(fired(rs, ev(t, f)), ",")
		if got != c.want {
			t.Errorf("%s: fired %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAlert(t *testing.T) {
	rs := mustCompile(t, shellRules)
	e := ev(t, map[string]any{"evt.type": "exec", "proc.name": "bash", "container.id": "0123456789ab", "proc.tty": 1, "user.name": "root",
		"proc.args": []any{"-c", "echo x\n2026-01-01 Critical \"Fake\" \x1b[31mred\xff"}})
	alerts := NewMatcher().Match(rs, e, nil)
	if len(alerts) != 1 {
		t.Fatalf("alerts: %v", alerts)
	}
	a := alerts[0]
	want := `Shell in container (user=root container=0123456789ab shell=bash cmdline=bash -c echo x\n2026-01-01 Critical "Fake" \x1b[31mred\xff)`
	if a.Output != want {
		t.Errorf("output:\n got %s\nwant %s", a.Output, want)
	}
	if a.Priority != "Warning" || a.Level != 4 || a.Source != "syscall" || a.Hostname != "testhost" || a.Action != "alert" ||
		strings.Join(a.Fields, ",") != "user.name,container.id,proc.name,proc.cmdline" || strings.Join(a.Tags, ",") != "container,shell,mitre_execution" {
		t.Errorf("alert: %+v", a)
	}
}

func TestIndex(t *testing.T) {
	rs := mustCompile(t, shellRules)
	if rs.Candidates(event.TypeExec) != 1 || rs.Candidates(event.TypeOpen) != 1 || rs.Candidates(event.TypeConnect) != 0 {
		t.Errorf("index: exec=%d open=%d connect=%d", rs.Candidates(event.TypeExec), rs.Candidates(event.TypeOpen), rs.Candidates(event.TypeConnect))
	}
	types := rs.Types()
	if len(types) != 2 || types[0] != event.TypeExec || types[1] != event.TypeOpen {
		t.Errorf("types %v", types)
	}
}

func TestCompileErrors(t *testing.T) {
	rule := func(cond, output string) string {
		return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: " + output + "\n  priority: info\n"
	}
	cases := []struct {
		name, src, want string
	}{
		{"undefined field", rule(`evt.type == "open" && proc.nme == "x"`, "o"),
			"a.yaml:3:36: rule \"R\": undefined field, list or macro \"proc.nme\" (did you mean proc.name?) (LOAD_CONDITION)"},
		{"not bool", rule(`proc.name`, "o"),
			"a.yaml:3:14: rule \"R\": condition is of type string, not bool (LOAD_NOT_BOOL)"},
		{"no event type", rule(`proc.name == "x"`, "o"),
			"a.yaml:3:14: rule \"R\": the condition does not restrict evt.type, so it would be evaluated for every event type (exec, fork, exit, open, connect, unlink, mkdir, rename, link, symlink, chmod, ptrace, setuid, setgid, memfd_create, module_load, setns, unshare, mount, bpf, dup, accept, listen, socket, userfaultfd, truncate, chown, utimes, xattr, chattr, prctl, process_vm); add evt.type == \"...\" or evt.type in [...] (LOAD_NO_EVTTYPE)"},
		{"no event type possible", rule(`evt.type == "open" && evt.type == "exec"`, "o"),
			"a.yaml:3:14: rule \"R\": the condition can match no event type (LOAD_NO_EVTTYPE)"},
		{"unknown event type", rule(`evt.type == "opne"`, "o"),
			"a.yaml:3:26: rule \"R\": evt.type is compared with \"opne\", which is not an event type (exec, fork, exit, open, connect, unlink, mkdir, rename, link, symlink, chmod, ptrace, setuid, setgid, memfd_create, module_load, setns, unshare, mount, bpf, dup, accept, listen, socket, userfaultfd, truncate, chown, utimes, xattr, chattr, prctl, process_vm) (LOAD_BAD_EVTTYPE)"},
		{"unknown output field", rule(`evt.type == "open"`, "file %file.pth by %proc.name"),
			"a.yaml:4:16: rule \"R\": output names unknown field %file.pth (did you mean %file.path?) (LOAD_OUTPUT)"},
		{"syntax", rule(`evt.type == "open" &&`, "o"),
			"a.yaml:3:35: rule \"R\": Syntax error: mismatched input '<EOF>' expecting"},
		{"cycle", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n" + rule(`evt.type == "open" && a`, "o"),
			"a.yaml:1:10: macro \"a\": macros refer to each other in a cycle: a -> b -> a (LOAD_CYCLE)"},
		{"cost", rule(`evt.type == "exec" && proc.args.exists(a, proc.args.exists(b, a.matches(b)))`, "o"),
			"a.yaml:3:14: rule \"R\": the condition may cost up to"},
		{"list name clash", "- list: proc\n  items: [a]\n" + rule(`evt.type == "open"`, "o"),
			"a.yaml:1:9: list \"proc\": \"proc\" is the start of field names (proc.*); choose another name (LOAD_BAD_NAME)"},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, err, c.want)
		}
	}
}

// Evaluating more rules must not allocate more: conversions are per event
// and per field, never per rule.
func TestNoAllocationsPerRule(t *testing.T) {
	gen := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("- rule: R" + strings.Repeat("x", i) + "\n  desc: d\n  condition: evt.type == \"open\" && file.path.startsWith(\"/nomatch" +
				strings.Repeat("y", i) + "\") && proc.name in [\"a\", \"b\"] && !file.path.glob(\"/x/*\")\n  output: o\n  priority: info\n")
		}
		return b.String()
	}
	e := ev(t, map[string]any{"evt.type": "open", "file.path": "/etc/hosts", "proc.name": "cat"})
	allocs := func(rs *Ruleset) float64 {
		m := NewMatcher()
		return testing.AllocsPerRun(200, func() { m.Match(rs, e, nil) })
	}
	one, fifty := allocs(mustCompile(t, gen(1))), allocs(mustCompile(t, gen(50)))
	if fifty != one {
		t.Errorf("allocations per event: %v with 1 rule, %v with 50: rules allocate", one, fifty)
	}
}
