package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vigil-project/vigil/engine/event"
)

func falcoSrc(name, data string) Source {
	return Source{Name: name, Data: []byte(data), Dialect: DialectFalco}
}

// loadFalcoFiles loads testdata/falco files, in order, as Falco's.
func loadFalcoFiles(t *testing.T, names ...string) *Set {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join("testdata", "falco", n))
	}
	srcs, err := FalcoSources(paths...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range srcs {
		srcs[i].Name = filepath.Base(srcs[i].Name)
	}
	return loadOne(t, srcs...)
}

// checkTextPositions fails if a byte of text that comes from the file
// (not inserted syntax) is not at its position there.
func checkTextPositions(t *testing.T, set *Set, text Text) {
	t.Helper()
	for k, sp := range text.spans {
		end := len(text.S)
		if k+1 < len(text.spans) {
			end = text.spans[k+1].off
		}
		for i, r := range text.S[sp.off:end] {
			if !sp.verbatim || unicode.IsSpace(r) {
				continue
			}
			if got, ok := charAt(set, text.Pos(sp.off+i)); !ok || got != r {
				t.Errorf("byte %d of %q (%q) maps to %v, where %q is", sp.off+i, text.S, r, text.Pos(sp.off+i), got)
			}
		}
	}
}

// posOf returns the position of the first occurrence of sub in text.
func posOf(t *testing.T, text Text, sub string) string {
	t.Helper()
	i := strings.Index(text.S, sub)
	if i < 0 {
		t.Fatalf("%q not in %q", sub, text.S)
	}
	return text.Pos(i).String()
}

func TestFalcoDefinitions(t *testing.T) {
	set := loadFalcoFiles(t, "base.yaml")
	if len(set.Warnings) != 0 {
		t.Errorf("warnings: %v", set.Warnings)
	}
	shells := set.List(DialectFalco, "shell_binaries")
	if shells == nil || !slices.Equal(shells.Items, []string{"bash", "sh", "zsh"}) || shells.Dialect != DialectFalco || shells.Pos.String() != "base.yaml:8:9" {
		t.Errorf("shell_binaries = %+v", shells)
	}
	// Items as written: a number as its digits, a quoted item with its quotes.
	if ports := set.List(DialectFalco, "web_ports"); !slices.Equal(ports.Items, []string{"80", "443", `"8080"`}) {
		t.Errorf("web_ports = %q", ports.Items)
	}
	if m := set.Macro(DialectFalco, "spawned_process"); m.Condition.S != "(evt.type in (execve, execveat) and evt.dir=<)" || m.Pos.String() != "base.yaml:14:10" {
		t.Errorf("spawned_process = %q at %s", m.Condition.S, m.Pos)
	}
	if set.List(DialectVigil, "shell_binaries") != nil || set.Macro(DialectVigil, "shell_procs") != nil {
		t.Error("Falco names found in vigil's namespace")
	}

	r := set.Rule(DialectFalco, "Shell in container")
	want := Rule{
		Name: "Shell in container", Desc: "A shell started in a container.\n",
		Priority: event.PriorityWarning, Enabled: true, Action: ActionAlert, Enforce: true,
		Dialect: DialectFalco, WarnEvttypes: true,
	}
	if r.Name != want.Name || r.Desc != want.Desc || r.Priority != want.Priority || r.Enabled != want.Enabled ||
		r.Action != want.Action || r.Enforce != want.Enforce || r.Dialect != want.Dialect ||
		r.WarnEvttypes != want.WarnEvttypes || r.SkipIfUnknown != want.SkipIfUnknown {
		t.Errorf("rule = %+v", r)
	}
	// Falco trims the output, keeps tags as a sorted set.
	if r.Output.S != "Shell in container (user=%user.name shell=%proc.name)" || r.Output.Pos(0).String() != "base.yaml:25:5" {
		t.Errorf("output = %q at %s", r.Output.S, r.Output.Pos(0))
	}
	if !slices.Equal(r.Tags, []string{"container", "mitre_execution", "shell"}) {
		t.Errorf("tags = %q", r.Tags)
	}

	o := set.Rule(DialectFalco, "Outbound web")
	if o.Enabled || o.WarnEvttypes || !o.SkipIfUnknown || o.Priority != event.PriorityInformational {
		t.Errorf("Outbound web = %+v", o)
	}
}

func TestFalcoExceptions(t *testing.T) {
	set := loadFalcoFiles(t, "base.yaml")
	r := set.Rule(DialectFalco, "Shell in container")
	if got := exceptionNames(r); !slices.Equal(got, []string{"known_parents", "images_and_users"}) {
		t.Fatalf("exceptions = %q", got)
	}
	single, multi := r.Exceptions[0], r.Exceptions[1]
	if want := `(proc.pname in (sshd, "tmux: server"))`; single.Condition.S != want {
		t.Errorf("known_parents:\n got %s\nwant %s", single.Condition.S, want)
	}
	// Falco's text, double spaces and all.
	want := `(( container.image.repository = docker.io/library/nginx and  user.name in (www-data, root))` +
		` or ( container.image.repository = "my image" and  user.name in (nobody)))`
	if multi.Condition.S != want {
		t.Errorf("images_and_users:\n got %s\nwant %s", multi.Condition.S, want)
	}
	for _, c := range []struct {
		text Text
		sub  string
		want string
	}{
		{single.Condition, "(proc", "base.yaml:29:13"}, // inserted: the exception's name
		{single.Condition, "proc.pname", "base.yaml:30:15"},
		{single.Condition, " in (", "base.yaml:29:13"},
		{single.Condition, "sshd", "base.yaml:31:16"},
		{single.Condition, `"tmux`, "base.yaml:31:23"}, // the quote Falco adds, at the value
		{single.Condition, "tmux", "base.yaml:31:23"},
		{multi.Condition, "container.image", "base.yaml:33:16"},
		{multi.Condition, "=", "base.yaml:34:15"},
		{multi.Condition, "in (www", "base.yaml:34:18"},
		{multi.Condition, "docker.io", "base.yaml:36:12"},
		{multi.Condition, "(www-data", "base.yaml:36:37"},
		{multi.Condition, "root", "base.yaml:36:48"},
		{multi.Condition, "my image", "base.yaml:37:13"},
		{multi.Condition, "(nobody", "base.yaml:37:24"},
		{multi.Condition, "nobody", "base.yaml:37:24"},
	} {
		if got := posOf(t, c.text, c.sub); got != c.want {
			t.Errorf("%q in %q is at %s, want %s", c.sub, c.text.S, got, c.want)
		}
	}
	checkTextPositions(t, set, single.Condition)
	checkTextPositions(t, set, multi.Condition)
	if single.Pos.String() != "base.yaml:29:13" {
		t.Errorf("exception position %s", single.Pos)
	}

	full := r.FalcoCondition()
	if want := "(spawned_process and container.id != host and shell_procs) and not " + single.Condition.S + " and not " + multi.Condition.S; full.S != want {
		t.Errorf("FalcoCondition:\n got %s\nwant %s", full.S, want)
	}
	if got := posOf(t, full, "container.id"); got != "base.yaml:23:34" {
		t.Errorf("container.id in the full condition at %s", got)
	}
	if o := set.Rule(DialectFalco, "Outbound web"); o.FalcoCondition().S != o.Condition.S {
		t.Errorf("a rule without exceptions: %q", o.FalcoCondition().S)
	}
}

func TestFalcoLocalChanges(t *testing.T) {
	set := loadFalcoFiles(t, "base.yaml", "local.yaml")
	if l := set.List(DialectFalco, "shell_binaries"); !slices.Equal(l.Items, []string{"bash", "sh", "zsh", "ash"}) {
		t.Errorf("appended list = %q", l.Items)
	}
	// A redefinition replaces the list where it stood.
	if l := set.List(DialectFalco, "web_ports"); !slices.Equal(l.Items, []string{"8443"}) || l.Pos.String() != "local.yaml:7:9" || set.Lists[1] != l || len(set.Lists) != 2 {
		t.Errorf("redefined list = %+v", l)
	}
	m := set.Macro(DialectFalco, "shell_procs")
	if m.Condition.S != "proc.name in (shell_binaries) or proc.name = busybox" {
		t.Errorf("appended macro = %q", m.Condition.S)
	}
	if got := posOf(t, m.Condition, "or proc"); got != "local.yaml:11:14" {
		t.Errorf("appended condition at %s", got)
	}
	checkTextPositions(t, set, m.Condition)

	r := set.Rule(DialectFalco, "Shell in container")
	if r.Condition.S != "spawned_process and container.id != host and shell_procs and not user.name = ci" {
		t.Errorf("condition = %q", r.Condition.S)
	}
	if r.Output.S != "Shell in container (user=%user.name shell=%proc.name) (local)" || r.Desc != "Tuned." {
		t.Errorf("output = %q, desc = %q", r.Output.S, r.Desc)
	}
	if !slices.Equal(r.Tags, []string{"container", "local", "mitre_execution", "shell"}) {
		t.Errorf("tags = %q", r.Tags)
	}
	if got := exceptionNames(r); !slices.Equal(got, []string{"known_parents", "images_and_users", "pids"}) {
		t.Fatalf("exceptions = %q", got)
	}
	if c := r.Exceptions[0].Condition; c.S != `(proc.pname in (sshd, "tmux: server", containerd-shim))` || posOf(t, c, "containerd") != "local.yaml:21:16" {
		t.Errorf("merged values = %q", c.S)
	}
	if c := r.Exceptions[2].Condition; c.S != `(proc.pid in (1))` {
		t.Errorf("added exception = %q", c.S)
	}
	checkTextPositions(t, set, r.Condition)
	checkTextPositions(t, set, r.Output)
	if !set.Rule(DialectFalco, "Outbound web").Enabled {
		t.Error("Outbound web not enabled")
	}
	want := []string{
		"local.yaml:12:3: macro \"shell_procs\": append: true is deprecated; name the keys to append in override, as in \"override: {condition: append}\" (LOAD_DEPRECATED_ITEM)",
		"local.yaml:34:3: rule \"Outbound web\": a rule item with enabled alone is deprecated; use \"override: {enabled: replace}\" (LOAD_DEPRECATED_ITEM)",
	}
	if got := firstLines(set.Warnings); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func firstLines(es Errors) []string {
	var s []string
	for _, e := range es {
		first, _, _ := strings.Cut(e.Error(), "\n")
		s = append(s, first)
	}
	return s
}

// TestFalcoNamespaces loads vigil and Falco files that use the same names:
// each dialect sees and changes only its own.
func TestFalcoNamespaces(t *testing.T) {
	set := loadOne(t,
		src("vigil.yaml", base),
		falcoSrc("falco.yaml", `
- list: shells
  items: [ash]
- macro: spawned_shell
  condition: evt.type = execve and proc.name in (shells)
- rule: Shell
  desc: a Falco shell
  condition: spawned_shell
  output: shell %proc.name
  priority: ERROR
`),
		src("vigil_local.yaml", `
- list: shells
  items: [zsh]
  override: {items: append}
`),
		falcoSrc("falco_local.yaml", `
- list: shells
  items: [dash]
  override: {items: append}
- rule: Shell
  enabled: false
`),
	)
	if got := set.List(DialectVigil, "shells").Items; !slices.Equal(got, []string{"bash", "sh", "zsh"}) {
		t.Errorf("vigil shells = %q", got)
	}
	if got := set.List(DialectFalco, "shells").Items; !slices.Equal(got, []string{"ash", "dash"}) {
		t.Errorf("Falco shells = %q", got)
	}
	v, f := set.Rule(DialectVigil, "Shell"), set.Rule(DialectFalco, "Shell")
	if v == nil || f == nil || v == f || !v.Enabled || f.Enabled || v.Dialect != DialectVigil || f.Priority != event.PriorityError {
		t.Errorf("vigil rule %+v, Falco rule %+v", v, f)
	}
	if set.Macro(DialectVigil, "spawned_shell").Condition.S == set.Macro(DialectFalco, "spawned_shell").Condition.S {
		t.Error("one macro for both dialects")
	}
	if len(set.Lists) != 2 || len(set.Macros) != 2 || len(set.Rules) != 2 {
		t.Errorf("%d lists, %d macros, %d rules", len(set.Lists), len(set.Macros), len(set.Rules))
	}
}

func TestFalcoEngineVersion(t *testing.T) {
	for _, c := range []struct {
		version string
		err     string
	}{
		{"0.57.0", ""},
		{"57", ""},
		{"'10'", ""},
		{"0.26.3", ""},
		{"0.58.0", `f.yaml:1:28: these rules need Falco engine version 0.58.0 or later, and this is 0.57.0; the rest of the file is skipped (LOAD_ENGINE_VERSION)`},
		{"58", `f.yaml:1:28: these rules need Falco engine version 0.58.0 or later, and this is 0.57.0; the rest of the file is skipped (LOAD_ENGINE_VERSION)`},
		{"1.0.0", `f.yaml:1:28: these rules need Falco engine version 1.0.0 or later, and this is 0.57.0; the rest of the file is skipped (LOAD_ENGINE_VERSION)`},
		{"0.57", `f.yaml:1:28: required_engine_version "0.57" is not a version of the form MAJOR.MINOR.PATCH (LOAD_ENGINE_VERSION)`},
	} {
		_, err := LoadSources(falcoSrc("f.yaml", "- required_engine_version: "+c.version+"\n"))
		got := ""
		if err != nil {
			got = firstLines(err.(Errors))[0]
		}
		if got != c.err {
			t.Errorf("%s: got %q, want %q", c.version, got, c.err)
		}
	}
	// vigil's dialect keeps its own version and has no integer form.
	if _, err := LoadSources(src("v.yaml", "- required_engine_version: 1\n")); err == nil || !strings.Contains(err.Error(), `"1" is not a version`) {
		t.Errorf("vigil dialect: %v", err)
	}
}

// TestFalcoGolden loads each testdata/falco/errors/<case>.yaml alone, as a
// Falco file, and compares its errors, or its warnings if it loads, with
// <case>.golden.
func TestFalcoGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/falco/errors/*.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			set, err := LoadSources(falcoSrc(filepath.Base(path), string(data)))
			var got string
			switch {
			case err != nil:
				got = "errors:\n" + err.Error() + "\n"
			case len(set.Warnings) == 0:
				t.Fatal("no errors and no warnings")
			default:
				got = "warnings:\n" + set.Warnings.Error() + "\n"
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("differs from %s (go test -run TestFalcoGolden -update to accept)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestFalcoExceptionText checks the condition text built from exceptions
// against what Falco's compiler builds for them.
func TestFalcoExceptionText(t *testing.T) {
	const rule = `
- rule: R
  desc: d
  condition: evt.type = open
  output: o
  priority: DEBUG
  exceptions:
`
	for _, c := range []struct {
		name, exceptions, local string
		want                    []string
	}{
		{
			name: "list operators take parentheses, other operators quotes",
			exceptions: `
    - name: e
      fields: [fd.name, proc.name, proc.cmdline]
      comps: [pmatch, in, "!="]
      values: [["(/etc)", x, a b], [/tmp, [a b, c], '"c d"']]`,
			want: []string{`(( fd.name pmatch (/etc) and  proc.name in (x) and  proc.cmdline != "a b") or ( fd.name pmatch (/tmp) and  proc.name in ("a b", c) and  proc.cmdline != "c d"))`},
		},
		{
			name: "appended values add rows",
			exceptions: `
    - name: e
      fields: [fd.name, proc.name]
      values: [[/etc/passwd, cat]]`,
			local: `
- rule: R
  append: true
  exceptions:
    - name: e
      values: [[/etc/shadow, less]]`,
			want: []string{`(( fd.name = /etc/passwd and  proc.name = cat) or ( fd.name = /etc/shadow and  proc.name = less))`},
		},
		{
			name: "a single field takes a flat list",
			exceptions: `
    - name: e
      fields: fd.name
      comps: pmatch
      values: [/etc, /usr/lib]`,
			want: []string{`(fd.name pmatch (/etc, /usr/lib))`},
		},
		{
			name: "no values, no condition",
			exceptions: `
    - name: none
      fields: [proc.name]
    - name: empty
      fields: proc.name
      values: []
    - name: some
      fields: proc.name
      values: [sh]`,
			want: []string{`(proc.name in (sh))`},
		},
		{
			name: "replaced exceptions",
			exceptions: `
    - name: old
      fields: proc.name
      values: [sh]`,
			local: `
- rule: R
  exceptions:
    - name: new
      fields: [proc.pname]
      values: [[bash]]
  override: {exceptions: replace}`,
			want: []string{`(( proc.pname = bash))`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			srcs := []Source{falcoSrc("r.yaml", rule+strings.TrimPrefix(c.exceptions, "\n")+"\n")}
			if c.local != "" {
				srcs = append(srcs, falcoSrc("local.yaml", c.local))
			}
			set := loadOne(t, srcs...)
			r := set.Rule(DialectFalco, "R")
			var got []string
			for _, e := range r.Exceptions {
				got = append(got, e.Condition.S)
				checkTextPositions(t, set, e.Condition)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if full := r.FalcoCondition().S; full != "(evt.type = open) and not "+strings.Join(c.want, " and not ") {
				t.Errorf("FalcoCondition = %s", full)
			}
		})
	}
}

func TestFalcoSources(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.yaml", "a.yml", "c.txt", ".hidden.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("- list: "+strings.TrimSuffix(n, filepath.Ext(n))+"\n  items: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srcs, err := FalcoSources(dir, filepath.Join(dir, "c.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range srcs {
		got = append(got, filepath.Base(s.Name)+" "+s.Dialect.String())
	}
	if want := []string{"a.yml falco", "b.yaml falco", "c.txt falco"}; !slices.Equal(got, want) {
		t.Errorf("sources = %q, want %q", got, want)
	}
	if _, err := FalcoSources(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "read rules: ") {
		t.Errorf("missing path: %v", err)
	}
}

// TestFalcoOutputTrim checks that a trimmed output keeps its positions.
func TestFalcoOutputTrim(t *testing.T) {
	set := loadOne(t, falcoSrc("o.yaml", `- rule: R
  desc: d
  condition: evt.type = open
  output: "  opened %fd.name\t"
  priority: DEBUG
- rule: S
  desc: d
  condition: evt.type = open
  output: |

      opened
      again

  priority: DEBUG
`))
	r := set.Rule(DialectFalco, "R")
	if r.Output.S != "opened %fd.name" || r.Output.Pos(0).String() != "o.yaml:4:14" || r.Output.Pos(7).String() != "o.yaml:4:21" {
		t.Errorf("output %q at %s, %%fd at %s", r.Output.S, r.Output.Pos(0), r.Output.Pos(7))
	}
	s := set.Rule(DialectFalco, "S")
	if s.Output.S != "opened\nagain" || s.Output.Pos(0).String() != "o.yaml:11:7" || posOf(t, s.Output, "again") != "o.yaml:12:7" {
		t.Errorf("output %q at %s", s.Output.S, s.Output.Pos(0))
	}
	checkTextPositions(t, set, r.Output)
	checkTextPositions(t, set, s.Output)
}

func TestFalcoReplaceAndRedefine(t *testing.T) {
	set := loadOne(t, falcoSrc("a.yaml", `
- rule: First
  desc: first
  condition: evt.type = open
  output: opened
  priority: NOTICE
  tags: [a]
  exceptions:
    - name: e
      fields: proc.name
      values: [sh]
- rule: Second
  desc: second
  condition: evt.type = close
  output: closed
  priority: NOTICE
- rule: Audit
  desc: audit
  condition: ka.verb = get
  output: got
  priority: NOTICE
  source: k8s_audit
`), falcoSrc("b.yaml", `
- rule: First
  desc: first, redefined
  condition: evt.type = openat
  output: opened again
  priority: critical
- rule: Second
  priority: ALERT
  enabled: false
  warn_evttypes: false
  skip-if-unknown-filter: true
  tags: [b, a]
  capture: true
  override:
    priority: replace
    enabled: replace
    warn_evttypes: replace
    skip-if-unknown-filter: replace
    tags: replace
    capture: replace
- rule: Audit
  enabled: false
`))
	if len(set.Rules) != 2 || set.Rules[0].Name != "First" || set.Rule(DialectFalco, "Audit") != nil {
		t.Fatalf("rules %q", []string{set.Rules[0].Name, set.Rules[1].Name})
	}
	first := set.Rules[0]
	if first.Desc != "first, redefined" || first.Condition.S != "evt.type = openat" || first.Priority != event.PriorityCritical ||
		first.Tags != nil || first.Exceptions != nil || first.Pos.String() != "b.yaml:2:9" {
		t.Errorf("redefined rule = %+v", first)
	}
	second := set.Rules[1]
	if second.Priority != event.PriorityAlert || second.Enabled || second.WarnEvttypes || !second.SkipIfUnknown ||
		!slices.Equal(second.Tags, []string{"a", "b"}) || second.Desc != "second" {
		t.Errorf("replaced keys = %+v", second)
	}
	want := []string{
		`a.yaml:22:11: rule "Audit": rules of source "k8s_audit" are skipped: vigil loads only syscall rules (this is said once per file) (LOAD_SKIPPED_SOURCE)`,
		`b.yaml:22:3: rule "Audit": a rule item with enabled alone is deprecated; use "override: {enabled: replace}" (LOAD_DEPRECATED_ITEM)`,
	}
	if got := firstLines(set.Warnings); !slices.Equal(got, want) {
		t.Errorf("warnings %q", got)
	}
}
