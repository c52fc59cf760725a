package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRulesValidate(t *testing.T) {
	if code, out, errs := runCLI(t, "rules", "validate"); code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("built-in rules: exit %d\n%s%s", code, out, errs)
	}
	bad := writeFile(t, "bad.yaml", `- rule: Bad
  desc: d
  condition: evt.type == "open" && file.pth == "/x"
  output: o
  priority: warning
`)
	code, _, errs := runCLI(t, "rules", "validate", bad)
	want := bad + `:3:36: rule "Bad": undefined field, list or macro "file.pth" (did you mean file.path?) (LOAD_CONDITION)
  condition: evt.type == "open" && file.pth == "/x"
                                   ^`
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errs, want)
	}
	// Tuning a built-in rule from a later file.
	tune := writeFile(t, "tune.yaml", "- rule: Write below etc\n  enabled: false\n")
	if code, out, errs := runCLI(t, "rules", "validate", "builtin", tune, "--explain"); code != 0 || !strings.Contains(out, "enabled)") || !strings.Contains(out, "kernel:") {
		t.Errorf("builtin + tune: exit %d\n%s%s", code, out, errs)
	}
	// The argument filters the built-in rules allow the kernel.
	_, out, _ := runCLI(t, "rules", "validate", "builtin", "--explain")
	for _, line := range []string{
		"kernel: ptrace events only of requests PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE\n",
		"kernel: setuid/setgid events only of calls asking for id 0\n",
		"kernel: setuid/setgid entries not traced (no rule reads setid.old_*, which stay -1)\n",
		"kernel: bpf events only of commands BPF_PROG_LOAD\n",
		"kernel: exec events carry the environment (a rule reads proc.env)\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("--explain lacks %q:\n%s", line, out)
		}
	}
}

func TestRulesFields(t *testing.T) {
	code, out, _ := runCLI(t, "rules", "fields", "--format", "json")
	var fields []map[string]any
	if err := json.Unmarshal([]byte(out), &fields); code != 0 || err != nil || len(fields) != len(event.Fields) {
		t.Fatalf("exit %d, %v, %d fields", code, err, len(fields))
	}
	for _, f := range fields {
		if f["name"] == "file.path" && (f["type"] != "string" || f["falco"] != "fd.name") {
			t.Errorf("file.path: %v", f)
		}
	}
	if _, out, _ := runCLI(t, "rules", "fields"); !strings.Contains(out, "proc.uid") {
		t.Errorf("text: %s", out)
	}
}

func TestRulesTestCommand(t *testing.T) {
	if code, out, errs := runCLI(t, "rules", "test"); code != 0 || !strings.Contains(out, " 0 failed") {
		t.Fatalf("built-in tests: exit %d\n%s%s", code, out, errs)
	}
	cases := writeFile(t, "cases.yaml", `- case: a read that should fire but is expected not to
  event: {evt.type: open, proc.name: nginx, file.path: /etc/shadow}
  no_fire: [Read sensitive file by untrusted program]
`)
	code, out, _ := runCLI(t, "rules", "test", cases)
	if code != 1 || !strings.Contains(out, `"Read sensitive file by untrusted program" fired`) || !strings.Contains(out, "1 cases, 1 failed") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// Events recorded as `vigil events --format json` prints them are judged
// offline by the same rules.
func TestReplay(t *testing.T) {
	e, err := event.FromFields(map[string]any{"evt.type": "open", "proc.name": "nginx", "proc.pid": 42, "file.path": "/etc/shadow", "user.name": "www-data"})
	if err != nil {
		t.Fatal(err)
	}
	benign, _ := event.FromFields(map[string]any{"evt.type": "open", "proc.name": "cat", "file.path": "/etc/hosts"})
	jsonl := string(event.AppendJSON(nil, benign)) + "\nnot json\n" + string(event.AppendJSON(nil, e)) + "\n"
	f := writeFile(t, "events.jsonl", jsonl)
	code, out, errs := runCLI(t, "replay", f, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil {
		t.Fatalf("want one alert, got %q", out)
	}
	if a["rule"] != "Read sensitive file by untrusted program" || a["event"].(map[string]any)["proc.pid"] != 42.0 {
		t.Errorf("alert: %v", a)
	}
	if !strings.Contains(errs, f+":2: skipped:") || !strings.Contains(errs, "replayed 2 events (1 skipped): 1 alerts") {
		t.Errorf("stderr: %s", errs)
	}
}
