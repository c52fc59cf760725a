package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

const base = `
- list: shells
  items: [bash, sh]
- macro: spawned_shell
  condition: evt.type == "exec" && proc.name in shells
- rule: Shell
  desc: a shell started
  condition: spawned_shell
  output: shell (proc=%proc.name)
  priority: warning
  tags: [shell, mitre_execution]
  exceptions:
    - name: ssh
      condition: proc.pname == "sshd"
`

func src(name, data string) Source { return Source{Name: name, Data: []byte(data)} }

func exceptionNames(r *Rule) []string {
	var s []string
	for _, e := range r.Exceptions {
		s = append(s, e.Name)
	}
	return s
}

func TestDefinitions(t *testing.T) {
	set := loadOne(t, src("base.yaml", base+`
- rule: Quiet
  desc: ""
  condition: evt.type == "open"
  output: open
  priority: INFO
  enabled: false
  action: Deny
`))
	if len(set.Lists) != 1 || len(set.Macros) != 1 || len(set.Rules) != 2 {
		t.Fatalf("got %d lists, %d macros, %d rules", len(set.Lists), len(set.Macros), len(set.Rules))
	}
	r := set.Rules[0]
	want := Rule{Name: "Shell", Desc: "a shell started", Priority: event.PriorityWarning, Enabled: true, Action: ActionAlert}
	if r.Name != want.Name || r.Desc != want.Desc || r.Priority != want.Priority || r.Enabled != want.Enabled || r.Action != want.Action {
		t.Errorf("rule = %+v", r)
	}
	if r.Pos.String() != "base.yaml:6:9" || set.Lists[0].Pos.String() != "base.yaml:2:9" || set.Macros[0].Pos.String() != "base.yaml:4:10" {
		t.Errorf("positions: rule %s, list %s, macro %s", r.Pos, set.Lists[0].Pos, set.Macros[0].Pos)
	}
	if e := r.Exceptions[0]; e.Name != "ssh" || e.Condition.S != `proc.pname == "sshd"` || e.Pos.String() != "base.yaml:13:13" {
		t.Errorf("exception = %+v", e)
	}
	q := set.Rules[1]
	if q.Enabled || q.Action != ActionDeny || q.Priority != event.PriorityInformational || q.Desc != "" {
		t.Errorf("rule Quiet = %+v", q)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name  string
		local string
		check func(t *testing.T, s *Set)
	}{
		{
			name: "append condition",
			local: `
- rule: Shell
  condition: and not proc.pname == "tmux"
  override: {condition: append}
- macro: spawned_shell
  condition: '|| evt.type == "fork"'
  override: {condition: append}`,
			check: func(t *testing.T, s *Set) {
				if got, want := s.Rules[0].Condition.S, `(spawned_shell) and not proc.pname == "tmux"`; got != want {
					t.Errorf("rule condition = %q, want %q", got, want)
				}
				if got, want := s.Macros[0].Condition.S, `(evt.type == "exec" && proc.name in shells) || evt.type == "fork"`; got != want {
					t.Errorf("macro condition = %q, want %q", got, want)
				}
			},
		},
		{
			name: "replace condition, output, priority, desc, action",
			local: `
- rule: Shell
  condition: evt.type == "exec"
  output: replaced
  priority: critical
  desc: new
  action: kill
  override:
    condition: replace
    output: replace
    priority: replace
    desc: replace
    action: replace`,
			check: func(t *testing.T, s *Set) {
				r := s.Rules[0]
				if r.Condition.S != `evt.type == "exec"` || r.Output.S != "replaced" || r.Priority != event.PriorityCritical || r.Desc != "new" || r.Action != ActionKill {
					t.Errorf("rule = %+v", r)
				}
				if r.Condition.Pos(0).File != "local.yaml" || r.Pos.File != "base.yaml" {
					t.Errorf("condition at %s, rule at %s", r.Condition.Pos(0), r.Pos)
				}
				if len(r.Tags) != 2 || len(r.Exceptions) != 1 {
					t.Errorf("keys not named were changed: %+v", r)
				}
			},
		},
		{
			name: "append and replace exceptions",
			local: `
- rule: Shell
  exceptions:
    - name: ci
      condition: container.image.startsWith("ci/")
  override: {exceptions: append}`,
			check: func(t *testing.T, s *Set) {
				if got := exceptionNames(s.Rules[0]); !slices.Equal(got, []string{"ssh", "ci"}) {
					t.Errorf("exceptions = %v", got)
				}
			},
		},
		{
			name: "replace exceptions",
			local: `
- rule: Shell
  exceptions:
    - name: ci
      condition: "true"
  override: {exceptions: replace}
- rule: Shell
  exceptions:
    - name: ssh
      condition: "true"
  override: {exceptions: append}`,
			check: func(t *testing.T, s *Set) {
				if got := exceptionNames(s.Rules[0]); !slices.Equal(got, []string{"ci", "ssh"}) {
					t.Errorf("exceptions = %v", got)
				}
			},
		},
		{
			name: "items and tags",
			local: `
- list: shells
  items: [zsh, bash]
  override: {items: append}
- rule: Shell
  tags: [mitre_execution, local]
  override: {tags: append}`,
			check: func(t *testing.T, s *Set) {
				if got := s.Lists[0].Items; !slices.Equal(got, []string{"bash", "sh", "zsh", "bash"}) {
					t.Errorf("items = %v", got)
				}
				if got := s.Rules[0].Tags; !slices.Equal(got, []string{"shell", "mitre_execution", "local"}) {
					t.Errorf("tags = %v (appended tags are not repeated)", got)
				}
			},
		},
		{
			name: "replace items and tags",
			local: `
- list: shells
  items: [fish]
  override: {items: replace}
- rule: Shell
  tags: []
  override: {tags: replace}`,
			check: func(t *testing.T, s *Set) {
				if got := s.Lists[0].Items; !slices.Equal(got, []string{"fish"}) {
					t.Errorf("items = %v", got)
				}
				if got := s.Rules[0].Tags; len(got) != 0 {
					t.Errorf("tags = %v", got)
				}
			},
		},
		{
			name: "disable, then enable",
			local: `
- rule: Shell
  enabled: false`,
			check: func(t *testing.T, s *Set) {
				if s.Rules[0].Enabled {
					t.Error("rule still enabled")
				}
			},
		},
		{
			name: "enable with override",
			local: `
- rule: Shell
  enabled: false
- rule: Shell
  enabled: true
  override: {enabled: replace}`,
			check: func(t *testing.T, s *Set) {
				if !s.Rules[0].Enabled {
					t.Error("rule disabled")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, loadOne(t, src("base.yaml", base), src("local.yaml", tt.local)))
		})
	}
}

// Collect copies what it takes from files, so collecting the same files
// again starts from the same definitions.
func TestCollectTwice(t *testing.T) {
	a, _ := Read(src("base.yaml", base))
	b, _ := Read(src("local.yaml", "- rule: Shell\n  tags: [x]\n  override: {tags: append}\n- list: shells\n  items: [zsh]\n  override: {items: append}\n"))
	for range 2 {
		set, err := Collect(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := set.Rules[0].Tags; !slices.Equal(got, []string{"shell", "mitre_execution", "x"}) {
			t.Fatalf("tags = %v", got)
		}
		if got := set.Lists[0].Items; !slices.Equal(got, []string{"bash", "sh", "zsh"}) {
			t.Fatalf("items = %v", got)
		}
	}
}

func TestCollectErrors(t *testing.T) {
	tests := []struct {
		name string
		srcs []Source
		want string
	}{
		{
			name: "override before the definition, in an earlier file",
			srcs: []Source{
				src("local.yaml", "- rule: Shell\n  enabled: false\n"),
				src("base.yaml", base),
			},
			want: `local.yaml:1:9: rule "Shell": nothing to disable yet: the rule is defined only later, at base.yaml:6:9; changes must come after the definition (LOAD_UNDEFINED_OVERRIDE)
- rule: Shell
        ^`,
		},
		{
			name: "duplicate across files",
			srcs: []Source{
				src("base.yaml", base),
				src("local.yaml", "- macro: spawned_shell\n  condition: x\n"),
			},
			want: `local.yaml:1:10: macro "spawned_shell": already defined at base.yaml:4:10; to change it, give this item an override (LOAD_DUPLICATE)
- macro: spawned_shell
         ^`,
		},
		{
			name: "appended exception already defined in another file",
			srcs: []Source{
				src("base.yaml", base),
				src("local.yaml", "- rule: Shell\n  exceptions:\n    - name: ssh\n      condition: x\n  override: {exceptions: append}\n"),
			},
			want: `local.yaml:3:13: rule "Shell": exception "ssh" is already defined at base.yaml:13:13 (LOAD_DUPLICATE)
    - name: ssh
            ^`,
		},
		{
			name: "errors of every file, in file order, and no cascade",
			srcs: []Source{
				src("b.yaml", "- rule: Broken\n  desc: x\n  condition: x\n  output: x\n  priority: loud\n- macro: m\n  condtion: x\n"),
				src("a.yaml", "- rule: Broken\n  enabled: false\n- rule: Missing\n  enabled: true\n"),
			},
			want: `b.yaml:5:13: rule "Broken": unknown priority "loud"; use one of emergency, alert, critical, error, warning, notice, informational, debug (LOAD_BAD_PRIORITY)
  priority: loud
            ^
b.yaml:7:3: macro "m": unknown key "condtion"; did you mean "condition"? (LOAD_UNKNOWN_KEY)
  condtion: x
  ^
a.yaml:3:9: rule "Missing": nothing to enable: no rule with this name is defined (LOAD_UNDEFINED_OVERRIDE)
- rule: Missing
        ^`,
		},
		{
			name: "a file that is not YAML hides undefined overrides after it",
			srcs: []Source{
				src("a.yaml", "- rule: x\n  desc: [\n"),
				src("b.yaml", "- rule: x\n  enabled: false\n"),
			},
			want: `a.yaml:2:1: invalid YAML: did not find expected node content (LOAD_YAML)
  desc: [
^`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSources(tt.srcs...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Lexical order: 10-base.yaml before 20-local.yml, whatever the order
	// of creation; other files, hidden files and subdirectories are skipped.
	write("20-local.yml", "- rule: Shell\n  condition: '&& proc.tty != 0'\n  override: {condition: append}\n")
	write("10-base.yaml", base)
	write("README.md", "not rules")
	write(".#10-base.yaml", "- rule: [")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sub.yaml/x.yaml", "- rule: [")
	extra := filepath.Join(t.TempDir(), "extra.rules")
	if err := os.WriteFile(extra, []byte("- rule: Shell\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	set, err := Load(dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules[0]
	if r.Condition.S != "(spawned_shell) && proc.tty != 0" || r.Enabled {
		t.Errorf("rule = %+v", r)
	}
	if got, want := r.Condition.Pos(len(r.Condition.S)-1).File, filepath.Join(dir, "20-local.yml"); got != want {
		t.Errorf("appended condition from %s, want %s", got, want)
	}
	if got := set.SourceLine(r.Pos); got != "- rule: Shell" {
		t.Errorf("SourceLine(%s) = %q", r.Pos, got)
	}

	missing := filepath.Join(dir, "missing.yaml")
	_, err = Load(dir, missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing path: err = %v, want one naming %s", err, missing)
	}

	if set, err := Load(); err != nil || len(set.Rules) != 0 {
		t.Errorf("no paths: %v, %v", set, err)
	}
}

// i_understand takes one acknowledgement or a list, and an override
// replaces it; an empty string item is kept when quoted.
func TestUnderstood(t *testing.T) {
	set := loadOne(t, src("u.yaml", `
- list: names
  items: [a, "", b]
- rule: Kill all
  desc: x
  condition: evt.type == "exec"
  output: x
  priority: warning
  action: kill
  i_understand: broad
- rule: Kill more
  desc: x
  condition: evt.type == "exec"
  output: x
  priority: warning
  action: kill
  i_understand: [broad, protected]
- rule: Kill all
  i_understand: [protected]
  override: {i_understand: replace}
`))
	if got := set.Lists[0].Items; !slices.Equal(got, []string{"a", "", "b"}) {
		t.Errorf("items = %q", got)
	}
	if got := set.Rules[0].Understood; !slices.Equal(got, []string{"protected"}) {
		t.Errorf("Kill all: i_understand = %q, want the override's [protected]", got)
	}
	if got := set.Rules[1].Understood; !slices.Equal(got, []string{"broad", "protected"}) {
		t.Errorf("Kill more: i_understand = %q", got)
	}
}

// A file over MaxFileBytes is refused before YAML parsing, at 1:1; a
// file read from disk is read only that far.
func TestFileTooLarge(t *testing.T) {
	data := []byte("- list: l\n  items: [" + strings.Repeat("a, ", MaxFileBytes/3) + "a]\n")
	_, err := LoadSources(src("big.yaml", string(data)))
	want := "big.yaml:1:1: the file is larger than 8 MiB, the limit of a rules file (LOAD_TOO_LARGE)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %.200v\nwant %s", err, want)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, append(data, data...), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := Sources(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srcs[0].Data); n != MaxFileBytes+1 {
		t.Errorf("read %d bytes of a %d-byte file, want %d", n, 2*len(data), MaxFileBytes+1)
	}
}

// Files loaded together are bounded too: the first file past
// MaxTotalBytes and those after it are not read, and the error says so.
func TestTotalTooLarge(t *testing.T) {
	part := "- list: l%d\n  items: [a]\n# " + strings.Repeat("x", MaxFileBytes-100) + "\n"
	var srcs []Source
	for i := range 3 {
		srcs = append(srcs, src(fmt.Sprintf("f%d.yaml", i), fmt.Sprintf(part, i)))
	}
	srcs = append(srcs, src("bad.yaml", "- rule: [\n"))
	_, err := LoadSources(srcs...)
	want := "f2.yaml:1:1: the rules files loaded together are larger than 16 MiB, the limit; this one and the ones after it are not read (LOAD_TOO_LARGE)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %.300v\nwant %s", err, want)
	}
}
