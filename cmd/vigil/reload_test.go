package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/daemon"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

func markerRule(name, path string) string {
	return fmt.Sprintf("- rule: %s\n  desc: d\n  condition: evt.type == \"open\" && file.path == \"%s\"\n  output: %s %%file.path\n  priority: warning\n", name, path, name)
}

// openAs opens path from a child process (vigil's own process is never
// reported) and returns its pid.
func openAs(t *testing.T, path string) int {
	t.Helper()
	cmd := execCommand("/bin/cat", path)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// reloadSetup makes files a and b and a rules file naming a, for the
// reload tests.
func reloadSetup(t *testing.T) (a, b, rules string) {
	t.Helper()
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, nil, 0o644)
	os.WriteFile(b, nil, 0o644)
	rules = filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(markerRule("Marker A", a)), 0o644)
	return a, b, rules
}

// Editing the rules file and sending SIGHUP changes which alerts fire; a
// broken edit keeps the running rules.
func TestReloadOnSIGHUP(t *testing.T) {
	needRoot(t)
	a, b, rules := reloadSetup(t)
	alerts, stderr := startRunLog(t, "--rules", rules)

	waitAlert(t, alerts, "Marker A", openAs(t, a))

	os.WriteFile(rules, []byte(markerRule("Marker B", b)), 0o644)
	unix.Kill(os.Getpid(), syscall.SIGHUP)
	waitUntil(t, "rules reloaded", func() bool { return strings.Contains(stderr.String(), "rules reloaded") })
	openAs(t, a) // no rule names a any more
	// b's alert comes after anything a's open raised (one ring, in order).
	waitAlert(t, alerts, "Marker B", openAs(t, b))
	select {
	case got := <-alerts:
		t.Errorf("unexpected alert after the reload: %v", got)
	default:
	}

	os.WriteFile(rules, []byte("- rule: [broken\n"), 0o644)
	unix.Kill(os.Getpid(), syscall.SIGHUP)
	waitUntil(t, "reload failed", func() bool { return strings.Contains(stderr.String(), "reload failed; the running rules stay") })
	waitAlert(t, alerts, "Marker B", openAs(t, b))
}

// A second vigil run on the same host refuses to start.
func TestSecondInstanceRefused(t *testing.T) {
	needRoot(t)
	lockFile := filepath.Join(t.TempDir(), "vigil.lock")
	release, err := daemon.Lock(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	code, _, errs := runCLI(t, "run", "--lock-file", lockFile)
	want := fmt.Sprintf("vigil: another vigil is already running on this host (pid %d, lock %s); stop it first", os.Getpid(), lockFile)
	if code != 1 || strings.TrimSpace(errs) != want {
		t.Errorf("exit %d, stderr %q, want %q", code, errs, want)
	}
}

func TestConfigValidateCommand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(p, []byte("rules: [builtin]\nsinks:\n  - type: webhook\n    url: ftp://x\n"), 0o644)
	code, _, errs := runCLI(t, "config", "validate", p)
	if code != 1 || !strings.Contains(errs, p+":3:5: webhook sink:") {
		t.Errorf("exit %d: %s", code, errs)
	}
	os.WriteFile(p, []byte("rules: [builtin]\nsinks:\n  - type: stdout\nmetrics: {address: 127.0.0.1:9090}\n"), 0o644)
	if code, out, errs := runCLI(t, "config", "validate", p); code != 0 || !strings.HasPrefix(out, "ok: 1 sinks, ") {
		t.Errorf("exit %d: %s%s", code, out, errs)
	}
	// An events list that blinds rules is valid, with a warning per rule
	// at the events key: every type but ptrace blinds the two ptrace rules.
	var events []string
	for _, ty := range event.Types() {
		if ty != event.TypePtrace {
			events = append(events, ty.String())
		}
	}
	os.WriteFile(p, []byte("rules: [builtin]\nlog: {level: warn}\nevents: ["+strings.Join(events, ", ")+"]\n"), 0o644)
	code, out, errs := runCLI(t, "config", "validate", p)
	n := builtinRuleCount(t)
	want := "warning: " + p + `:3:1: events leaves out ptrace: rule "Ptrace attached to another process" (builtin/50-system.yaml:87:9) never sees them
warning: ` + p + `:3:1: events leaves out ptrace: rule "Anti-debugging with PTRACE_TRACEME" (builtin/50-system.yaml:107:9) never sees them
` + fmt.Sprintf("ok: 0 sinks, %d rules, %d enabled, 2 blinded by events\n", n, n)
	if code != 0 || out != want {
		t.Errorf("exit %d:\n%s%s\nwant\n%s", code, out, errs, want)
	}
}

// With a one-page ring flooded, vigil says it is losing events: an alert
// counts them, and rule alerts raised meanwhile carry coverage_degraded.
func TestLossAlert(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatal("perl is needed to flood opens quickly")
	}
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	x := filepath.Join(dir, "x")
	os.WriteFile(x, nil, 0o644)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(markerRule("Marker X", x)), 0o644)
	alerts, logb := startRunLog(t, "--rules", rules, "--ring-size", "4096")
	defer func() {
		if t.Failed() {
			t.Log(logb.String())
		}
	}()
	flood := exec.Command("perl", "-e", `for (1..50000) { open(my $f, "<", $ARGV[0]); close $f }`, x)
	if err := flood.Run(); err != nil {
		t.Fatal(err)
	}
	var lost map[string]any
	degraded := false
	deadline := time.After(20 * time.Second)
	for lost == nil || !degraded {
		select {
		case a := <-alerts:
			switch a["rule"] {
			case daemon.LossRule:
				lost = a
			case "Marker X":
				degraded = degraded || a["coverage_degraded"] == true
			}
		case <-deadline:
			t.Fatalf("loss alert %v, a degraded Marker X alert %v", lost != nil, degraded)
		}
	}
	if lost["priority"] != "Error" || lost["source"] != "internal" || !strings.Contains(lost["output"].(string), "in the kernel (ring buffer full)") {
		t.Errorf("loss alert: %v", lost)
	}
}

// Saving a rules file (an editor's rename over it) reloads without a signal.
func TestReloadOnFileChange(t *testing.T) {
	needRoot(t)
	a, b, rules := reloadSetup(t)
	alerts, stderr := startRunLog(t, "--rules", rules)
	waitAlert(t, alerts, "Marker A", openAs(t, a))

	tmp := rules + ".tmp"
	os.WriteFile(tmp, []byte(markerRule("Marker B", b)), 0o644)
	if err := os.Rename(tmp, rules); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "rules reloaded", func() bool { return strings.Contains(stderr.String(), "rules reloaded") })
	waitAlert(t, alerts, "Marker B", openAs(t, b))
}

// SIGTERM while a slow sink still holds queued alerts: vigil drains them
// within its close deadline, reports the counts, and exits 0.
func TestSIGTERMDrainsSlowSink(t *testing.T) {
	needRoot(t)
	var got atomic.Int64
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // a slow endpoint
		got.Add(1)
	}))
	defer web.Close()
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	x := filepath.Join(dir, "x")
	os.WriteFile(x, nil, 0o644)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(markerRule("Marker X", x)), 0o644)
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("rules: [%s]\nsinks:\n  - type: webhook\n    url: %s\n", rules, web.URL)), 0o644)

	var stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(context.Background(), []string{"run", "--config", cfg, "--lock-file", filepath.Join(dir, "lock")}, io.Discard, &stderr)
	}()
	waitUntil(t, "ready", func() bool { return strings.Contains(stderr.String(), "ready") })
	const n = 5
	for range n {
		openAs(t, x)
	}
	// After the first delivery the others are still queued or in flight
	// (300 ms each): SIGTERM now must not lose them.
	waitUntil(t, "the first delivery", func() bool { return got.Load() >= 1 })
	if got.Load() == n {
		t.Fatal("every alert was delivered before SIGTERM: the test proves nothing")
	}
	unix.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("vigil did not stop after SIGTERM")
	}
	if got.Load() != n {
		t.Errorf("the slow sink received %d of %d alerts", got.Load(), n)
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("sink=webhook#1 sent=%d failed=0 dropped=0 unsent=0", n)) {
		t.Errorf("exit log lacks the sink's counts:\n%s", stderr.String())
	}
}

// builtinRuleCount is the number of rules in the built-in set.
func builtinRuleCount(t *testing.T) int {
	t.Helper()
	set, err := rules.Load(rules.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	return len(set.Rules)
}
