package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

var boot = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const dockerID = "3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"

// fakeProc is one /proc/PID directory of a fake procfs.
type fakeProc struct {
	pid, ppid, tgid uint32
	comm            string
	state           byte
	tty             int
	start           uint64
	uid, euid, gid  uint32
	argv            []string // nil: an empty cmdline
	exe, cwd        string   // symlink targets; "": no link
	cgroup          string
	noStat          bool // the process died while being read
	// ns: the NSpid, NSpgid and NSsid lines of status, outermost
	// namespace first ("": no lines, as for a kernel thread here).
	ns [3]string
}

func writeProcfs(t *testing.T, procs ...fakeProc) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		must(t, os.Mkdir(dir, 0o755))
		if p.state == 0 {
			p.state = 'S'
		}
		if p.tgid == 0 {
			p.tgid = p.pid
		}
		files := map[string]string{
			"status": fmt.Sprintf("Name:\t%s\nState:\t%c\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nUid:\t%d\t%d\t%[7]d\t%[7]d\nGid:\t%d\t%[8]d\t%[8]d\t%[8]d\nGroups:\t\n",
				p.comm, p.state, p.tgid, p.pid, p.ppid, p.uid, p.euid, p.gid),
			"cgroup": p.cgroup,
		}
		if p.ns[0] != "" {
			files["status"] += fmt.Sprintf("NSpid:\t%s\nNSpgid:\t%s\nNSsid:\t%s\n", p.ns[0], p.ns[1], p.ns[2])
		}
		if !p.noStat {
			files["stat"] = fmt.Sprintf("%[1]d (%[2]s) %[3]c %[4]d %[1]d %[1]d %[5]d -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %[6]d 3133440 402 18446744073709551615\n",
				p.pid, p.comm, p.state, p.ppid, p.tty, p.start)
		}
		if p.argv != nil {
			files["cmdline"] = strings.Join(p.argv, "\x00") + "\x00"
		} else {
			files["cmdline"] = ""
		}
		for name, content := range files {
			must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		}
		for name, target := range map[string]string{"exe": p.exe, "cwd": p.cwd} {
			if target != "" {
				must(t, os.Symlink(target, filepath.Join(dir, name)))
			}
		}
	}
	must(t, os.Symlink("1", filepath.Join(root, "self")))
	must(t, os.Mkdir(filepath.Join(root, "sys"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "uptime"), []byte("99.00 12.00\n"), 0o644))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A small host: init, kernel threads, an ssh login, and an odd process
// in a docker container.
var fakeHost = []fakeProc{
	{pid: 1, comm: "systemd", argv: []string{"/sbin/init", "splash"}, exe: "/usr/lib/systemd/systemd", cwd: "/", cgroup: "0::/init.scope\n", start: 1,
		ns: [3]string{"1", "1", "1"}},
	{pid: 2, comm: "kthreadd", cwd: "/", cgroup: "0::/\n", start: 1},
	{pid: 3, ppid: 2, comm: "kworker/0:0-events", cwd: "/", cgroup: "0::/\n", start: 2},
	{pid: 100, ppid: 1, comm: "sshd", argv: []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}, exe: "/usr/sbin/sshd", cwd: "/", start: 300,
		cgroup: "9:name=systemd:/system.slice/ssh.service\n0::/system.slice/ssh.service\n", ns: [3]string{"100", "100", "100"}},
	{pid: 200, ppid: 100, comm: "bash", argv: []string{"-bash"}, exe: "/usr/bin/bash", cwd: "/home/u", tty: 34816, uid: 1000, euid: 1000, gid: 1001, start: 5000,
		cgroup: "0::/user.slice/user-1000.slice/session-1.scope\n", ns: [3]string{"200", "200", "200"}},
	{pid: 300, ppid: 200, comm: "my (odd) name) ", argv: []string{"./evil", "a b", "c"}, exe: "/tmp/evil (deleted)", cwd: "/tmp", uid: 1000, euid: 0, start: 12345,
		cgroup: "4:memory:/docker/" + dockerID + "\n0::/docker/" + dockerID + "\n", ns: [3]string{"300\t1", "300\t1", "300\t1"}},
	{pid: 400, ppid: 300, comm: "3", argv: []string{"x"}, exe: "/memfd:payload (deleted)", cwd: "/tmp", start: 12346,
		cgroup: "0::/docker/" + dockerID + "/init.scope\n", ns: [3]string{"400\t2", "300\t1", "300\t1"}},
	{pid: 500, ppid: 200, comm: "defunct", state: 'Z', start: 6000},
	{pid: 600, ppid: 1, comm: "gone", noStat: true, argv: []string{"gone"}},
	{pid: 601, tgid: 600, ppid: 1, comm: "thread", argv: []string{"gone"}},
}

const sshdArgv0 = "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"

func TestSeed(t *testing.T) {
	tab := New(Options{Procfs: writeProcfs(t, fakeHost...), BootTime: boot})
	n, err := tab.Seed()
	if err != nil || n != 7 {
		t.Fatalf("Seed = %d, %v; want 7 processes", n, err)
	}
	docker := event.Container{ID: dockerID[:12], FullID: dockerID, Runtime: "docker"}
	for _, want := range []event.Process{
		{PID: 1, VPID: 1, VPGID: 1, SID: 1, SName: "systemd", Name: "systemd", Exe: "/usr/lib/systemd/systemd", Argv: []string{"/sbin/init", "splash"}, Cmdline: "systemd splash", Cwd: "/",
			Start: boot.Add(10 * time.Millisecond)},
		{PID: 2, SName: "kthreadd", Name: "kthreadd", Cmdline: "kthreadd", Cwd: "/", Start: boot.Add(10 * time.Millisecond)},
		{PID: 3, PPID: 2, SName: "kworker/0:0-events", Name: "kworker/0:0-events", Cmdline: "kworker/0:0-events", Cwd: "/", Start: boot.Add(20 * time.Millisecond),
			Ancestors: []string{"kthreadd"}, AncestorExes: []string{""}, AncestorArgv0s: []string{""}, AncestorPIDs: []uint32{2}},
		{PID: 100, PPID: 1, VPID: 100, VPGID: 100, SID: 100, SName: "sshd", Name: "sshd", Exe: "/usr/sbin/sshd", Argv: []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"},
			Cmdline: "sshd", Cwd: "/", Start: boot.Add(3 * time.Second), Ancestors: []string{"systemd"},
			AncestorExes: []string{"/usr/lib/systemd/systemd"}, AncestorArgv0s: []string{"/sbin/init"}, AncestorPIDs: []uint32{1}},
		{PID: 200, PPID: 100, VPID: 200, VPGID: 200, SID: 200, SName: "bash", Name: "bash", Exe: "/usr/bin/bash", Argv: []string{"-bash"}, Cmdline: "bash", Cwd: "/home/u", TTY: 34816,
			UID: 1000, EUID: 1000, GID: 1001, Start: boot.Add(50 * time.Second), Ancestors: []string{"sshd", "systemd"},
			AncestorExes: []string{"/usr/sbin/sshd", "/usr/lib/systemd/systemd"}, AncestorArgv0s: []string{sshdArgv0, "/sbin/init"}, AncestorPIDs: []uint32{100, 1}},
		{PID: 300, PPID: 200, VPID: 1, VPGID: 1, SID: 1, SName: "my (odd) name) ", Name: "my (odd) name) ", Exe: "/tmp/evil (deleted)", Argv: []string{"./evil", "a b", "c"}, Cmdline: "my (odd) name)  a b c",
			Cwd: "/tmp", UID: 1000, Start: boot.Add(123450 * time.Millisecond), Container: docker, Ancestors: []string{"bash", "sshd", "systemd"},
			AncestorExes: []string{"/usr/bin/bash", "/usr/sbin/sshd", "/usr/lib/systemd/systemd"}, AncestorArgv0s: []string{"-bash", sshdArgv0, "/sbin/init"},
			AncestorPIDs: []uint32{200, 100, 1}},
		// In the container: its init's session and group, seen as 1.
		{PID: 400, PPID: 300, VPID: 2, VPGID: 1, SID: 1, SName: "my (odd) name) ", Name: "3", Exe: "/memfd:payload (deleted)", ExeMemfd: true, Argv: []string{"x"}, Cmdline: "3", Cwd: "/tmp",
			Start: boot.Add(123460 * time.Millisecond), Container: docker, Ancestors: []string{"my (odd) name) ", "bash", "sshd", "systemd"},
			AncestorExes:   []string{"/tmp/evil (deleted)", "/usr/bin/bash", "/usr/sbin/sshd", "/usr/lib/systemd/systemd"},
			AncestorArgv0s: []string{"./evil", "-bash", sshdArgv0, "/sbin/init"}, AncestorPIDs: []uint32{300, 200, 100, 1}},
	} {
		got := tab.Get(want.PID)
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("pid %d:\n got %+v\nwant %+v", want.PID, got, want)
		}
	}
	for _, pid := range []uint32{500, 600, 601} {
		if p := tab.Get(pid); p != nil {
			t.Errorf("pid %d should be skipped: %+v", pid, p)
		}
	}
	if s := tab.Stats(); s.Entries != 7 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestLookup(t *testing.T) {
	tab := New(Options{Procfs: writeProcfs(t, fakeHost...), BootTime: boot})
	if p := tab.Lookup(200); p == nil || p.Name != "bash" || p.Ancestors != nil {
		t.Fatalf("Lookup(200) = %+v", p)
	}
	if p := tab.Lookup(300); p == nil || !reflect.DeepEqual(p.Ancestors, []string{"bash"}) {
		t.Fatalf("Lookup(300) = %+v", p)
	}
	for _, pid := range []uint32{0, 500, 600, 601, 9999} {
		if p := tab.Lookup(pid); p != nil {
			t.Errorf("Lookup(%d) = %+v, want nil", pid, p)
		}
	}
	tab.Lookup(200)
	if s := tab.Stats(); s.Misses != 7 || s.ProcReads != 2 || s.Entries != 2 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want stat
		err  bool
	}{
		{"24254 (cat) R 24252 24252 2057 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 99734 3133440 402 18446744073709551615 94191354966016 0\n",
			stat{comm: "cat", state: 'R', ppid: 24252, start: 99734}, false},
		{"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0\n",
			stat{comm: "kthreadd", state: 'S', start: 24}, false},
		{"7 (a) b) (c) S 1 7 7 34817 7 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n",
			stat{comm: "a) b) (c", state: 'S', ppid: 1, tty: 34817, start: 500}, false},
		{"8 () Z 1 8 8 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n", stat{state: 'Z', ppid: 1, start: 5}, false},
		{"9 (x y\n) S 1 8 8 -5 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", stat{comm: "x y\n", state: 'S', ppid: 1, tty: uint32(0xfffffffb), start: 5}, false},
		{"", stat{}, true},
		{"1 (x) S 1 2 3", stat{}, true},
		{"1 x) S 1 8 8 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", stat{}, true},
		{"1 (x) S one 8 8 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", stat{}, true},
	} {
		got, err := parseStat([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("7 (a) b) (c) S 1 7 7 34817 7 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n"))
	f.Add([]byte("1 ( ) S"))
	f.Add([]byte("Tgid:\t1\nNSpid:\t1\t7\nNSpgid:\nNSsid:\t1\t1\t1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := parseStat(b); err == nil && !strings.Contains(string(b), "("+st.comm+")") {
			t.Fatalf("parseStat(%q): comm %q", b, st.comm)
		}
		parseStatus(b, &event.Process{PID: 1})
	})
}

// The ids a process sees are the last of each NS line, its own pid
// namespace's; a line without ids leaves the id unknown (0).
func TestParseStatusNamespaces(t *testing.T) {
	for in, want := range map[string][3]uint32{
		"Tgid:\t300\nNSpid:\t300\t1\nNSpgid:\t300\t1\nNSsid:\t250\n":             {1, 1, 250},
		"Tgid:\t300\nNSpid:\t300\t20\t3\nNSpgid:\t290\t10\t2\nNSsid:\t1\t1\t0\n": {3, 2, 0},
		"Tgid:\t300\nNSpid:\nNSpgid:\tx\n":                                       {0, 0, 0},
		"Tgid:\t300\n":                                                           {0, 0, 0},
	} {
		var p event.Process
		p.PID = 300
		if !parseStatus([]byte(in), &p) || [3]uint32{p.VPID, p.VPGID, p.SID} != want {
			t.Errorf("parseStatus(%q): vpid %d vpgid %d sid %d, want %v", in, p.VPID, p.VPGID, p.SID, want)
		}
	}
}

// TestSeedLive seeds from the real /proc with a child of known shape.
func TestSeedLive(t *testing.T) {
	path, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal("no sleep binary:", err)
	}
	exe, err := filepath.EvalSymlinks(path)
	must(t, err)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	must(t, err)
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "30", "1s")
		cmd.Dir = dir
		must(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	self, err := os.ReadFile("/proc/self/stat")
	must(t, err)
	me, err := parseStat(self)
	must(t, err)
	sid, err := unix.Getsid(0)
	must(t, err)

	first := start()
	tab := New(Options{})
	n, err := tab.Seed()
	must(t, err)
	if n < 3 || tab.Get(1) == nil {
		t.Errorf("Seed = %d; pid 1 %+v", n, tab.Get(1))
	}
	check := func(pid int) {
		t.Helper()
		p := tab.Get(uint32(pid))
		if p == nil {
			t.Fatalf("child %d not in the table", pid)
		}
		want := []string{"sleep", "30", "1s"}
		if p.PPID != uint32(os.Getpid()) || p.Name != "sleep" || p.Exe != exe || !reflect.DeepEqual(p.Argv, want) ||
			p.Cmdline != "sleep 30 1s" || p.Cwd != dir || p.UID != uint32(os.Getuid()) || p.EUID != uint32(os.Geteuid()) {
			t.Errorf("child: %+v", p)
		}
		if len(p.Ancestors) == 0 || p.Ancestors[0] != me.comm {
			t.Errorf("child ancestors %q, want %q first", p.Ancestors, me.comm)
		}
		// In this test's pid namespace and process group and session.
		if p.VPID != uint32(pid) || p.VPGID != uint32(unix.Getpgrp()) || p.SID != uint32(sid) ||
			len(p.AncestorPIDs) == 0 || p.AncestorPIDs[0] != uint32(os.Getpid()) {
			t.Errorf("child ids: vpid %d vpgid %d sid %d ancestor pids %v; want %d %d %d, %d first",
				p.VPID, p.VPGID, p.SID, p.AncestorPIDs, pid, unix.Getpgrp(), sid, os.Getpid())
		}
		if d := time.Since(p.Start); d < -time.Second || d > time.Minute {
			t.Errorf("child start %v is %v ago", p.Start, d)
		}
	}
	check(first.Process.Pid)

	second := start()
	if tab.Lookup(uint32(second.Process.Pid)) == nil {
		t.Fatal("Lookup of a new child failed")
	}
	check(second.Process.Pid)
	if s := tab.Stats(); s.Misses != 1 || s.ProcReads != 1 {
		t.Errorf("Stats = %+v", s)
	}
}
