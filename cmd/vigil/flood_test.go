package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-project/vigil/daemon"
)

// floodRules alert on the probe's execs and on every open of /etc/shadow
// (so that those opens pass the kernel's open filter and reach the rules).
func floodRules(probe string) string {
	return fmt.Sprintf(`- rule: Probe exec
  desc: d
  condition: evt.type == "exec" && proc.exe == "%s"
  output: probe %%proc.cmdline
  priority: notice
- rule: Shadow opened
  desc: d
  condition: evt.type == "open" && file.path == "/etc/shadow"
  output: shadow opened by %%proc.name
  priority: warning
`, probe)
}

// An unprivileged user flooding opens at full speed (two processes per
// core: relative ../../../../etc/passwd paths, and /etc/shadow, which a
// rule watches) hides none of 60 execs of another user (root): each is
// seen, with its pid and arguments. Twice: with the rate limit off and a
// small bulk ring, which the flood overflows (the rings alone protect the
// execs); and with a limit, where the flood alert names a flooding
// process and the kernel counts the records it held back.
func TestFloodHidesNoExec(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatal("perl is needed to flood opens at full speed")
	}
	t.Run("rings", func(t *testing.T) {
		_, body := floodRun(t, "rate_limit: {per_second: -1}\nringbuf_size: 65536\n", false)
		if n, _ := metricValue(body, "vigil_kernel_drops_total", `{type="open"}`); n == 0 {
			t.Errorf("vigil_kernel_drops_total{type=\"open\"} = 0: the flood never filled the bulk ring")
		}
		if n, _ := metricValue(body, "vigil_kernel_rate_limited_total", `{type="open"}`); n != 0 {
			t.Errorf("vigil_kernel_rate_limited_total{type=\"open\"} = %v with the limit off", n)
		}
	})
	t.Run("limit", func(t *testing.T) {
		// A limit any loop at full speed exceeds, even on a machine busy
		// with other work (the default, 20,000 a second, needs a tenth
		// of a core).
		flood, body := floodRun(t, "rate_limit: {per_second: 2000, burst: 2000}\n", true)
		ev := flood["event"].(map[string]any)
		pid := int(ev["proc.pid"].(float64))
		out, _ := flood["output"].(string)
		if flood["priority"] != "Warning" || flood["source"] != "internal" || ev["proc.name"] != "perl" || ev["user.uid"] != float64(65534) ||
			!strings.Contains(out, fmt.Sprintf(`process "perl" (pid %d, exe "/usr/bin/perl", uid 65534) sent more than 2000 open events a second`, pid)) {
			t.Errorf("flood alert: %v", flood)
		}
		if n, _ := metricValue(body, "vigil_kernel_rate_limited_total", `{type="open"}`); n == 0 {
			t.Errorf("vigil_kernel_rate_limited_total{type=\"open\"} = 0 after the flood")
		}
	})
}

// floodRun runs vigil with extra config, floods, runs the 60 execs and
// waits for every one of them (and, with wantFlood, a flood alert naming
// a flooder). It returns that alert and /metrics after the flood.
func floodRun(t *testing.T, extra string, wantFlood bool) (map[string]any, string) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	probe := filepath.Join(dir, "probe")
	copyExe(t, "/bin/true", probe)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(floodRules(probe)), 0o644)
	// The probe's alerts and vigil's own on stdout; the flood's own
	// alerts (tens of thousands) to a file sink of their own.
	addr := freePort(t)
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`metrics:
  address: %s
%ssinks:
  - type: stdout
    format: json
    rules: ["Probe exec", %q, %q]
  - type: file
    path: /dev/null
    rules: ["Shadow opened"]
`, addr, extra, daemon.FloodRule, daemon.LossRule)), 0o644)
	alerts := startRun(t, "--config", cfg, "--rules", rules)

	const loop = `while (1) { open(my $f, "<", $ARGV[0]); close $f if $f }`
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	flooders := map[int]bool{}
	for _, path := range []string{"../../../../etc/passwd", "/etc/shadow", "../../../../etc/passwd", "/etc/shadow"} {
		cmd := exec.Command("perl", "-e", loop, path)
		cmd.Dir = "/usr/share"
		cmd.SysProcAttr = nobody
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		flooders[cmd.Process.Pid] = true
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	time.Sleep(500 * time.Millisecond) // the flood in full swing

	want := map[int]string{} // pid -> argument
	for i := range 60 {
		arg := fmt.Sprintf("n%d", i)
		cmd := exec.Command(probe, arg)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		want[cmd.Process.Pid] = arg
		time.Sleep(10 * time.Millisecond)
	}
	var flood map[string]any
	deadline := time.After(30 * time.Second)
	for len(want) > 0 || (wantFlood && flood == nil) {
		select {
		case a, open := <-alerts:
			if !open {
				t.Fatal("alert stream ended")
			}
			ev, _ := a["event"].(map[string]any)
			switch a["rule"] {
			case "Probe exec":
				pid := int(ev["proc.pid"].(float64))
				args, _ := ev["proc.args"].([]any)
				if arg, ok := want[pid]; ok && len(args) == 1 && args[0] == arg {
					delete(want, pid)
				}
			case daemon.FloodRule:
				if pid, _ := ev["proc.pid"].(float64); flood == nil && flooders[int(pid)] {
					flood = a
				}
			}
		case <-deadline:
			t.Fatalf("after 30 s: %d of 60 execs missing (%v); flood alert %v", len(want), want, flood != nil)
		}
	}
	_, body := get(t, "http://"+addr+"/metrics")
	for pid := range flooders {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if n, _ := metricValue(body, "vigil_kernel_drops_total", `{type="exec"}`); n != 0 {
		t.Errorf("vigil_kernel_drops_total{type=\"exec\"} = %v", n)
	}
	limited, _ := metricValue(body, "vigil_kernel_rate_limited_total", `{type="open"}`)
	drops, _ := metricValue(body, "vigil_kernel_drops_total", `{type="open"}`)
	t.Logf("60 of 60 execs; opens rate limited %v, lost to a full ring %v", limited, drops)
	return flood, body
}
