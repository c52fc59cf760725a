package bpf

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// The ids a process sees in its own pid namespace: a shell started in a
// new pid namespace and session is 1 there and leads both; its subshell
// (a fork that never execs) is 2 and the commands it runs come after, in
// its group and session, led by "sh". A host process sees its host pid.
func TestLivePIDNamespaceIDs(t *testing.T) {
	c := live(t)
	host := exec.Command("/bin/true")
	host.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := host.Run(); err != nil {
		t.Fatal(err)
	}
	hpid := uint32(host.Process.Pid)
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec of /bin/true on the host", func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.PID == hpid })
	if p := ev.Proc; p.VPID != hpid || p.VPGID != hpid || p.SID != uint32(sid) {
		t.Errorf("host process %d: vpid %d vpgid %d sid %d, want %d %[1]d %d", hpid, p.VPID, p.VPGID, p.SID, sid)
	}

	// A builtin last, so that sh forks for both commands instead of
	// exec-ing the last one (busybox's sh would).
	marker := filepath.Join(tempDir(t), "marker")
	cmd := exec.Command("/bin/sh", "-c", "(: >"+marker+"); /bin/true; /bin/true; :")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setsid: true}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	sh := c.waitFor(t, "exec of sh in a new pid namespace", func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.PID == pid })
	if p := sh.Proc; p.VPID != 1 || p.VPGID != 1 || p.SID != 1 || p.SName != "sh" {
		t.Errorf("sh: vpid %d vpgid %d sid %d sname %q, want 1 1 1 sh", p.VPID, p.VPGID, p.SID, p.SName)
	}
	sub := c.waitFor(t, "the subshell's open", func(e *event.Event) bool { return e.Type == event.TypeOpen && e.File.Path == marker })
	if p := sub.Proc; p.PPID != pid || p.VPID != 2 || p.VPGID != 1 || p.SID != 1 || p.SName != "sh" {
		t.Errorf("subshell: ppid %d vpid %d vpgid %d sid %d sname %q, want %d 2 1 1 sh", p.PPID, p.VPID, p.VPGID, p.SID, p.SName, pid)
	}
	// The first true is 3; the second comes after the first's threads
	// (the VM matrix's true is a Go program).
	trues := c.waitN(t, "execs of true under sh", 2, func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Proc.PPID == pid
	})
	for i, e := range trues {
		if p := e.Proc; (i == 0 && p.VPID != 3) || (i == 1 && p.VPID <= 3) || p.VPGID != 1 || p.SID != 1 || p.SName != "sh" {
			t.Errorf("true #%d: vpid %d vpgid %d sid %d sname %q, want %s 1 1 sh", i+1, p.VPID, p.VPGID, p.SID, p.SName, []string{"3", "above 3"}[i])
		}
	}
	forks := c.all(func(e *event.Event) bool { return e.Type == event.TypeFork && e.Proc.PID == pid })
	if len(forks) != 3 {
		t.Fatalf("%d forks by sh, want 3", len(forks))
	}
}
