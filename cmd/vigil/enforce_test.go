package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// connectFrom connects to addr from a child process (vigil's own process
// is never denied) and returns the child's pid and whether it connected.
func connectFrom(t *testing.T, addr string) (pid int, ok bool) {
	t.Helper()
	cmd := exec.Command("/bin/bash", "-c", "exec 3<>/dev/tcp/"+strings.ReplaceAll(addr, ":", "/"))
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.Process.Pid, err == nil
}

// acceptLoop listens on a loopback port, accepting and closing, until
// the test ends; it returns the port.
func acceptLoop(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func enforceRules(port int, badBin, extra string) string {
	return fmt.Sprintf(`
- rule: No connects to the test port
  desc: d
  condition: evt.type == "connect" && net.dip.inCidr("127.0.0.0/8") && net.dport == %d
  output: connect to %%net.dip:%%net.dport by %%proc.name
  priority: critical
  action: deny
- rule: No bad binary
  desc: d
  condition: evt.type == "exec" && proc.exe == %q
  output: exec of %%proc.exe
  priority: critical
  action: kill
%s`, port, badBin, extra)
}

// vigil run enforces the deny and kill rules: a connect to the denied
// port fails with EPERM and its alert says "deny"; an exec of the
// forbidden binary is killed and its alert says "kill"; vigil's own
// connect to the port passes.
func TestRunEnforces(t *testing.T) {
	needRoot(t)
	port := acceptLoop(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	bad := filepath.Join(dir, "bad-true")
	copyExe(t, "/bin/true", bad)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(enforceRules(port, bad, "")), 0o644)
	alerts, stderr := startRunLog(t, "--rules", rules)
	waitUntil(t, "policy installed", func() bool { return strings.Contains(stderr.String(), "enforcement policy installed") })

	pid, ok := connectFrom(t, fmt.Sprintf("127.0.0.1:%d", port))
	if ok {
		t.Error("the denied connect succeeded")
	}
	a := waitAlert(t, alerts, "No connects to the test port", pid)
	if a["action"] != "deny" || a["event"].(map[string]any)["evt.res"] != float64(-int(syscall.EPERM)) {
		t.Errorf("connect alert: action %v, res %v", a["action"], a["event"].(map[string]any)["evt.res"])
	}

	cmd := exec.Command(bad)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the forbidden binary was not killed: %v", err)
	}
	if a := waitAlert(t, alerts, "No bad binary", cmd.Process.Pid); a["action"] != "kill" {
		t.Errorf("exec alert: action %v", a["action"])
	}

	// vigil itself is never denied (here the test process is vigil).
	if c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Errorf("vigil's own connect: %v", err)
	} else {
		c.Close()
	}
}

// Audit mode (enforcement.audit in the config): the connect succeeds and
// the alert says "would deny".
func TestRunAuditMode(t *testing.T) {
	needRoot(t)
	port := acceptLoop(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(enforceRules(port, "/nonexistent", "")), 0o644)
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte("rules: ["+rules+"]\nenforcement: {audit: true}\n"), 0o644)
	alerts := startRun(t, "--config", cfg)
	pid, ok := connectFrom(t, fmt.Sprintf("127.0.0.1:%d", port))
	if !ok {
		t.Error("audit mode denied the connect")
	}
	if a := waitAlert(t, alerts, "No connects to the test port", pid); a["action"] != "would deny" {
		t.Errorf("audit alert: action %v", a["action"])
	}
}

// A deny this kernel cannot make (exec without BPF LSM) stops vigil run
// at start, naming the rule and its place.
func TestRunRefusesImpossibleDeny(t *testing.T) {
	needRoot(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(`- rule: No nc
  desc: d
  condition: evt.type == "exec" && proc.name == "nc"
  output: o
  priority: critical
  action: deny
`), 0o644)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, []string{"run", "--rules", rules, "--lock-file", filepath.Join(dir, "lock")}, &stdout, &stderr)
	want := rules + `:1:9: rule "No nc": this kernel cannot deny exec`
	if code == 0 || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), `add "fallback: kill"`) {
		t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr.String(), want)
	}
}

// Self-protection covers vigil's binary, not only the daemon's process:
// a kill rule on opens of a file kills cat opening it, and spares
// `vigil rules validate` opening the same file (here the test binary is
// vigil's binary: TestMain runs it as vigil), whose open is still alerted.
func TestRunSparesVigilsBinary(t *testing.T) {
	needRoot(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	marker := filepath.Join(dir, "guarded.yaml")
	os.WriteFile(marker, []byte("- nonsense\n"), 0o644)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(fmt.Sprintf(`- rule: Guarded file
  desc: d
  condition: evt.type == "open" && file.path == %q
  output: open of %%file.path by %%proc.name
  priority: critical
  action: kill
`, marker)), 0o644)
	alerts, stderr := startRunLog(t, "--rules", rules)
	waitUntil(t, "policy installed", func() bool { return strings.Contains(stderr.String(), "enforcement policy installed") })

	cat := exec.Command("/bin/cat", marker)
	err := cat.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("cat of the guarded file was not killed: %v", err)
	}
	if a := waitAlert(t, alerts, "Guarded file", cat.Process.Pid); a["action"] != "kill" {
		t.Errorf("cat's alert: action %v, want kill", a["action"])
	}

	self := exec.Command(os.Args[0], "rules", "validate", marker)
	self.Env = append(os.Environ(), "VIGIL_TEST_AS_VIGIL=1")
	out, err := self.CombinedOutput()
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != -1 || ee.ExitCode() != 1 {
		t.Errorf("vigil rules validate of the guarded file: %v, want exit status 1 (the file is not rules)\n%s", err, out)
	}
	if !strings.Contains(string(out), "guarded.yaml:1:3") {
		t.Errorf("vigil rules validate did not report the file:\n%s", out)
	}
	if a := waitAlert(t, alerts, "Guarded file", self.Process.Pid); a["action"] != "would kill" {
		t.Errorf("vigil's own open: action %v, want would kill (exempt, still alerted)", a["action"])
	}
}
