package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine"
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
	for _, f := range fields {
		if f["name"] == "net.dip" && f["falco"] != "fd.cip, fd.cip.name, fd.cnet, fd.rip, fd.rip.name, fd.rnet, fd.sip, fd.sip.name, fd.snet" {
			t.Errorf("net.dip: %v", f)
		}
	}
	if _, out, _ := runCLI(t, "rules", "fields"); !strings.Contains(out, "proc.uid") {
		t.Errorf("text: %s", out)
	}
	// --falco: Falco's fields, what each is in vigil or what it needs.
	_, out, _ = runCLI(t, "rules", "fields", "--falco", "--format", "json")
	var cat []map[string]any
	if err := json.Unmarshal([]byte(out), &cat); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range cat {
		got[f["falco"].(string)] = fmt.Sprintf("%v %v %v", f["vigil"], f["cel"], f["needs"])
	}
	for name, want := range map[string]string{
		"proc.exepath":         "[proc.exe] <nil> <nil>",
		"fd.name":              "[file.path net.path] <nil> <nil>",
		"proc.is_exe_writable": "<nil> <nil> the executable's permissions",
	} {
		if got[name] != want {
			t.Errorf("--falco %s: %s, want %s", name, got[name], want)
		}
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

// kernelReportRules has one deny or kill rule of each kind the kernel treats
// differently.
const kernelReportRules = `- rule: No nc
  desc: d
  condition: evt.type == "exec" && proc.name == "nc"
  output: o
  priority: critical
  action: deny
- rule: No shadow readers
  desc: d
  condition: evt.type == "open" && file.path == "/etc/shadow" && user.uid != 0
  output: o
  priority: critical
  action: deny
  fallback: kill
- rule: No evil
  desc: d
  condition: evt.type == "exec" && proc.exe == "/tmp/evil"
  output: o
  priority: critical
  action: kill
- rule: Audit curl
  desc: d
  condition: evt.type in ["exec", "connect"] && proc.name == "curl"
  output: o
  priority: critical
  action: deny
  enforce: false
- rule: No test net
  desc: d
  condition: evt.type == "connect" && net.dip.inCidr("203.0.113.0/24") && net.dport == 4444
  output: o
  priority: critical
  action: deny
`

// fakeFeatures is a feature report with the enforcement features given
// unavailable, each with its detail.
func fakeFeatures(missing map[string]string) features.Report {
	r := features.Report{Kernel: "6.1.0-test"}
	for _, n := range []string{features.LSMProgram, features.LSMActive, features.CgroupConnect4, features.CgroupConnect6, features.SendSignal} {
		detail, gone := missing[n]
		r.Features = append(r.Features, features.Feature{Name: n, Available: !gone, Detail: detail})
	}
	return r
}

// What validate says a kernel would do with the rules, from a fake feature
// report: no root needed.
func TestKernelReport(t *testing.T) {
	path := writeFile(t, "enforce.yaml", kernelReportRules)
	rs, err := engine.CompilePaths(engine.Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	const noBPF = "active LSMs are lockdown,capability; without bpf among them LSM programs enforce nothing (add bpf to the lsm= kernel command line)"
	cases := []struct {
		name    string
		missing map[string]string
		want    string
		err     string
	}{
		{"no BPF LSM", map[string]string{features.LSMActive: noBPF}, `kernel 6.1.0-test: what vigil run would do with the deny and kill rules:
  P:1:9: rule "No nc": deny exec: vigil run refuses it: this kernel cannot deny exec (` + noBPF + `); add "fallback: kill" to kill the process instead, or "enforce: false" to only alert
  P:7:9: rule "No shadow readers": deny open: kills instead (fallback: kill, with bpf_send_signal): this kernel cannot deny open (` + noBPF + `)
  P:14:9: rule "No evil": kill exec: kills (bpf_send_signal)
  P:20:9: rule "Audit curl": deny exec: audit only (enforce: false): alerts "would deny", and this kernel could not deny exec (` + noBPF + `)
  P:20:9: rule "Audit curl": deny connect: audit only (enforce: false): alerts "would deny"
  P:27:9: rule "No test net": deny connect: denies (cgroup connect hooks)
`, "vigil run would refuse 1 of the deny rules on this kernel (see above)"},
		{"BPF LSM", nil, `kernel 6.1.0-test: what vigil run would do with the deny and kill rules:
  P:1:9: rule "No nc": deny exec: denies (BPF LSM)
  P:7:9: rule "No shadow readers": deny open: denies (BPF LSM)
  P:14:9: rule "No evil": kill exec: kills (bpf_send_signal)
  P:20:9: rule "Audit curl": deny exec: audit only (enforce: false): alerts "would deny"
  P:20:9: rule "Audit curl": deny connect: audit only (enforce: false): alerts "would deny"
  P:27:9: rule "No test net": deny connect: denies (BPF LSM)
`, ""},
		{"neither LSM nor cgroup hooks", map[string]string{features.LSMProgram: "lsm programs refused", features.CgroupConnect4: "no cgroup v2 root"},
			`kernel 6.1.0-test: what vigil run would do with the deny and kill rules:
  P:1:9: rule "No nc": deny exec: vigil run refuses it: this kernel cannot deny exec (lsm programs refused); add "fallback: kill" to kill the process instead, or "enforce: false" to only alert
  P:7:9: rule "No shadow readers": deny open: kills instead (fallback: kill, with bpf_send_signal): this kernel cannot deny open (lsm programs refused)
  P:14:9: rule "No evil": kill exec: kills (bpf_send_signal)
  P:20:9: rule "Audit curl": deny exec: audit only (enforce: false): alerts "would deny", and this kernel could not deny exec (lsm programs refused)
  P:20:9: rule "Audit curl": deny connect: audit only (enforce: false): alerts "would deny", and this kernel could not deny connect (lsm programs refused; no cgroup v2 root)
  P:27:9: rule "No test net": deny connect: vigil run refuses it: this kernel cannot deny connect (lsm programs refused; no cgroup v2 root); add "fallback: kill" to kill the process instead, or "enforce: false" to only alert
`, "vigil run would refuse 2 of the deny rules on this kernel (see above)"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := kernelReport(&out, rs, "6.1.0-test", bpf.MechanismsOf(fakeFeatures(c.missing)), true)
		if got := strings.ReplaceAll(out.String(), path, "P"); got != c.want {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", c.name, got, c.want)
		}
		if got := fmt.Sprint(err); c.err == "" && err != nil || c.err != "" && got != c.err {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	// Without --kernel a refusal is reported, not an error; a rule set
	// without deny or kill rules is reported only with --kernel.
	var out bytes.Buffer
	if err := kernelReport(&out, rs, "6.1.0-test", bpf.MechanismsOf(fakeFeatures(map[string]string{features.LSMActive: noBPF})), false); err != nil || !strings.Contains(out.String(), "vigil run refuses it") {
		t.Errorf("automatic report: %v\n%s", err, out.String())
	}
	// More than the kernel holds: what vigil run refuses (rs.Policy).
	var many strings.Builder
	for i := range 65 {
		fmt.Fprintf(&many, "- rule: R%d\n  desc: d\n  condition: evt.type == \"connect\" && net.dport == %d\n  output: o\n  priority: critical\n  action: deny\n", i, 1000+i)
	}
	big, err := engine.CompilePaths(engine.Options{}, writeFile(t, "many.yaml", many.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		out.Reset()
		err := kernelReport(&out, big, "6.1.0-test", bpf.MechanismsOf(fakeFeatures(nil)), strict)
		if want := "kernel 6.1.0-test: vigil run refuses the rules: the deny and kill rules for connect events need 65 tests in 65 alternatives; the kernel holds 64 and 64\n"; out.String() != want || (err != nil) != strict {
			t.Errorf("too many rules, strict %v: %v\n%q\nwant %q", strict, err, out.String(), want)
		}
	}
	builtin, err := engine.CompilePaths(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	kernelReport(&out, builtin, "6.1.0-test", bpf.Mechanisms{}, false)
	if out.Len() != 0 {
		t.Errorf("built-in rules, automatic: %q", out.String())
	}
	kernelReport(&out, builtin, "6.1.0-test", bpf.Mechanisms{}, true)
	if want := "kernel 6.1.0-test: no deny or kill rules to enforce\n"; out.String() != want {
		t.Errorf("built-in rules, --kernel: %q, want %q", out.String(), want)
	}
}

// On this host, as root: validate reports what vigil run decides here
// (BPF LSM as features.BPFLSM, which the loader asks, finds it), with
// --kernel and without.
func TestRulesValidateKernelLive(t *testing.T) {
	needRoot(t)
	path := writeFile(t, "enforce.yaml", strings.Split(kernelReportRules, "- rule: Audit curl")[0])
	lsm, why := features.BPFLSM()
	want := "ok: 3 rules (3 enabled)\nkernel " + features.Probe().Kernel + ": what vigil run would do with the deny and kill rules:\n"
	if lsm {
		want += `  P:1:9: rule "No nc": deny exec: denies (BPF LSM)
  P:7:9: rule "No shadow readers": deny open: denies (BPF LSM)
`
	} else {
		want += `  P:1:9: rule "No nc": deny exec: vigil run refuses it: this kernel cannot deny exec (` + why + `); add "fallback: kill" to kill the process instead, or "enforce: false" to only alert
  P:7:9: rule "No shadow readers": deny open: kills instead (fallback: kill, with bpf_send_signal): this kernel cannot deny open (` + why + `)
`
	}
	want += `  P:14:9: rule "No evil": kill exec: kills (bpf_send_signal)
`
	code, out, errs := runCLI(t, "rules", "validate", "--kernel", path)
	wantCode, wantErr := 0, ""
	if !lsm {
		wantCode, wantErr = 1, "vigil: vigil run would refuse 1 of the deny rules on this kernel (see above)\n"
	}
	if got := strings.ReplaceAll(out, path, "P"); code != wantCode || got != want || errs != wantErr {
		t.Errorf("--kernel: exit %d, stdout:\n%s\nstderr: %s\nwant exit %d, stdout:\n%s\nstderr: %s", code, got, errs, wantCode, want, wantErr)
	}
	code, out, errs = runCLI(t, "rules", "validate", path)
	if got := strings.ReplaceAll(out, path, "P"); code != 0 || got != want || errs != "" {
		t.Errorf("as root: exit %d, stdout:\n%s\nstderr: %s\nwant exit 0, stdout:\n%s", code, got, errs, want)
	}
}

// Falco-syntax rules get the same kernel filters as vigil's: the open rule
// of the test file copies only opens of /etc/shadow.
func TestValidateExplainFalco(t *testing.T) {
	code, out, errs := runCLI(t, "rules", "validate", "--explain", "--falco-rules", "testdata/falco/live.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"ok: 3 rules (3 enabled)\n",
		"kernel: event types traced for rules: exec,open,connect (exec, fork and exit are always traced for the process table)\n",
		"kernel: opens of clean absolute paths outside 1 prefixes/paths are dropped before they are copied\n  rule \"VT Shadow read\": /etc/shadow\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// rules list --mitre: the techniques the enabled rules' tags name, with
// ATT&CK's names, the tactics and the rules; disabled rules do not count.
func TestRulesListMitre(t *testing.T) {
	f := writeFile(t, "r.yaml", `- rule: Cron edited
  desc: d
  condition: evt.type == "open" && file.path == "/etc/crontab"
  output: o
  priority: warning
  tags: [mitre_persistence, T1053.003]
- rule: Odd
  desc: d
  condition: evt.type == "exec" && proc.name == "x"
  output: o
  priority: notice
  tags: [mitre_execution, T1053.003, T9999]
- rule: Off
  desc: d
  condition: evt.type == "exec" && proc.name == "y"
  output: o
  priority: notice
  enabled: false
  tags: [mitre_discovery, T1082]
`)
	code, out, errs := runCLI(t, "rules", "list", "--mitre", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		"TECHNIQUE  NAME                      TACTICS                RULES",
		"T1053.003  Scheduled Task/Job: Cron  execution,persistence  Cron edited; Odd",
		"T9999      -                         execution              Odd",
		"2 techniques named by 2 enabled rules",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
	// The built-in rules cover many techniques, each named.
	code, out, _ = runCLI(t, "rules", "list", "--mitre")
	if code != 0 || !strings.Contains(out, "T1548.001  Abuse Elevation Control Mechanism: Setuid and Setgid") {
		t.Errorf("built-in: exit %d\n%s", code, out)
	}
}
