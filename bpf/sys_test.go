package bpf

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func byPID(pid int, t event.Type) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.Type == t && e.Proc.PID == uint32(pid) }
}

func wantRes(t *testing.T, res helperResult, want ...int) {
	t.Helper()
	if !slices.Equal(res.FDs, want) {
		t.Fatalf("helper results %v, want %v", res.FDs, want)
	}
}

// rename, renameat, renameat2, link, linkat, symlink, symlinkat, chmod,
// fchmod and fchmodat, each as made by a process: absolute normalised
// paths on both sides, raw paths, modes, flags and results.
func TestFileMutationFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, pid := runHelperCmd(t, "files", dir)
	wantRes(t, res, 0, 0, -int(unix.ENOENT), 0, 0, 0, 0, 0, 0, 0)
	j := func(n string) string { return filepath.Join(dir, n) }
	for i, w := range []struct {
		typ               event.Type
		syscall           string
		path, raw         string
		target, rawTarget string
		mode, flags       uint32
		res               int64
	}{
		{event.TypeRename, "rename", j("a"), j("a"), j("b"), j("b"), 0, 0, 0},
		{event.TypeRename, "renameat", j("b"), "b", j("c"), "c", 0, 0, 0},
		{event.TypeRename, "renameat2", j("x"), "x", j("c"), "c", 0, unix.RENAME_NOREPLACE, -int64(unix.ENOENT)},
		{event.TypeLink, "link", j("l1"), j("l1"), j("c"), j("c"), 0, 0, 0},
		{event.TypeLink, "linkat", j("l2"), "l2", j("c"), "c", 0, 0, 0},
		{event.TypeSymlink, "symlink", j("s1"), j("s1"), j("c"), "c", 0, 0, 0},
		{event.TypeSymlink, "symlinkat", j("s2"), "s2", "/etc/shadow", "/etc/shadow", 0, 0, 0},
		{event.TypeChmod, "chmod", j("c"), j("c"), "", "", 0o4755, 0, 0},
		{event.TypeChmod, "fchmod", j("c"), j("c"), "", "", 0o600, 0, 0},
		{event.TypeChmod, "fchmodat", j("c"), "c", "", "", 0o2750, 0, 0},
	} {
		ev := c.waitFor(t, w.syscall, func(e *event.Event) bool {
			return e.Type == w.typ && e.Proc.PID == uint32(pid) && e.Syscall == w.syscall
		})
		got := []any{ev.File.Path, ev.File.RawPath, ev.File.Target, ev.File.RawTarget, ev.File.Mode, ev.File.Flags, ev.Res}
		want := []any{w.path, w.raw, w.target, w.rawTarget, w.mode, w.flags, w.res}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d %s: path, raw, target, rawtarget, mode, flags, res = %v, want %v", i, w.syscall, got, want)
		}
	}
	// The derived fields users write rules with.
	ev := c.waitFor(t, "chmod", func(e *event.Event) bool { return byPID(pid, event.TypeChmod)(e) && e.Syscall == "chmod" })
	if f, _ := event.FieldByName("file.setuid"); !f.Bool(ev) {
		t.Error("chmod 04755: file.setuid false")
	}
	ev = c.waitFor(t, "fchmodat", func(e *event.Event) bool { return byPID(pid, event.TypeChmod)(e) && e.Syscall == "fchmodat" })
	if f, _ := event.FieldByName("file.setgid"); !f.Bool(ev) {
		t.Error("fchmodat 02750: file.setgid false")
	}
}

// PTRACE_ATTACH to another process: request, target pid, name and exe;
// PTRACE_TRACEME: the parent is the target.
func TestPtraceFields(t *testing.T) {
	c := live(t)
	target := exec.Command("sleep", "30")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Process.Kill(); target.Wait() })
	// Wait until sleep has exec'd, so the target's name is sleep.
	c.waitFor(t, "exec of sleep", byPID(target.Process.Pid, event.TypeExec))
	res, pid := runHelperCmd(t, "ptrace", "attach "+strconv.Itoa(target.Process.Pid))
	wantRes(t, res, 0)
	ev := c.waitFor(t, "ptrace attach", func(e *event.Event) bool {
		return byPID(pid, event.TypePtrace)(e) && e.Ptrace.Request == unix.PTRACE_ATTACH
	})
	sleep, _ := exec.LookPath("sleep")
	sleep, _ = filepath.EvalSymlinks(sleep)
	req, _ := event.FieldByName("ptrace.request")
	if req.Str(ev) != "PTRACE_ATTACH" || ev.Ptrace.PID != uint32(target.Process.Pid) || ev.Ptrace.Target == nil ||
		ev.Ptrace.Target.Name != "sleep" || ev.Ptrace.Target.Exe != sleep || ev.Res != 0 {
		t.Errorf("attach: request %s pid %d target %+v res %d; want PTRACE_ATTACH %d sleep %s 0", req.Str(ev), ev.Ptrace.PID, ev.Ptrace.Target, ev.Res, target.Process.Pid, sleep)
	}

	// A traced helper stops at any signal and this test, its tracer, would
	// never resume it: bounded by a kill.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tm := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "traceme")
	tm.Env = append(os.Environ(), "VIGIL_TEST_HELPER=ptrace")
	tm.WaitDelay = 2 * time.Second // its output must not hold the test once it is killed
	out, err := tm.Output()
	if err != nil || !strings.Contains(string(out), `"fds":[0]`) {
		t.Fatalf("traceme helper: %v %s", err, out)
	}
	pid = tm.Process.Pid
	ev = c.waitFor(t, "ptrace traceme", byPID(pid, event.TypePtrace))
	if req.Str(ev) != "PTRACE_TRACEME" || ev.Ptrace.PID != uint32(os.Getpid()) || ev.Ptrace.Target == nil || ev.Ptrace.Target.PID != uint32(os.Getpid()) {
		t.Errorf("traceme: request %s pid %d target %+v; want PTRACE_TRACEME and this test (%d)", req.Str(ev), ev.Ptrace.PID, ev.Ptrace.Target, os.Getpid())
	}
}

// A root process drops to nobody with setresgid/setresuid, then tries to
// get root back: old and requested ids, results, and the credentials the
// event carries after each call.
func TestSetidFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "setids", "")
	eperm := -int(unix.EPERM)
	wantRes(t, res, 0, 0, eperm, eperm, eperm)
	for _, w := range []struct {
		typ      event.Type
		syscall  string
		req, old [4]int64
		res      int64
		uid      uint32 // proc.uid after the call
		toRoot   bool
	}{
		{event.TypeSetgid, "setresgid", [4]int64{65534, 65534, 65534, -1}, [4]int64{0, 0, 0, 0}, 0, 0, false},
		{event.TypeSetuid, "setresuid", [4]int64{65534, 65534, 65534, -1}, [4]int64{0, 0, 0, 0}, 0, 65534, false},
		{event.TypeSetuid, "setuid", [4]int64{0, 0, 0, 0}, [4]int64{65534, 65534, 65534, 65534}, int64(eperm), 65534, true},
		{event.TypeSetuid, "setreuid", [4]int64{-1, 0, -1, -1}, [4]int64{65534, 65534, 65534, 65534}, int64(eperm), 65534, true},
		{event.TypeSetgid, "setgid", [4]int64{0, 0, 0, 0}, [4]int64{65534, 65534, 65534, 65534}, int64(eperm), 65534, true},
	} {
		ev := c.waitFor(t, w.syscall, func(e *event.Event) bool { return byPID(pid, w.typ)(e) && e.Syscall == w.syscall })
		toRoot, _ := event.FieldByName("setid.to_root")
		if ev.SetID.Req != w.req || ev.SetID.Old != w.old || ev.Res != w.res || ev.UID != w.uid || toRoot.Bool(ev) != w.toRoot {
			t.Errorf("%s: req %v old %v res %d uid %d to_root %v; want %v %v %d %d %v", w.syscall, ev.SetID.Req, ev.SetID.Old, ev.Res, ev.UID, toRoot.Bool(ev), w.req, w.old, w.res, w.uid, w.toRoot)
		}
	}
}

func TestMemfdFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "memfd", "vigil-memfd")
	ev := c.waitFor(t, "memfd_create", byPID(pid, event.TypeMemfd))
	if ev.Memfd.Name != "vigil-memfd" || ev.Memfd.Flags != unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING || ev.Res != int64(res.FDs[0]) || ev.Res < 3 {
		t.Errorf("memfd: %+v res %d (helper %v)", ev.Memfd, ev.Res, res.FDs)
	}
}

// Module loads of things that are not modules: the attempt is the event.
// A kernel without module support has neither the syscalls (ENOSYS) nor
// their tracepoints, which the probes report as missing.
func TestModuleFields(t *testing.T) {
	c := live(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self = realpath(t, self)
	res, pid := runHelperCmd(t, "module", self)
	if slices.ContainsFunc(c.probes.MissingHooks(), func(s string) bool { return strings.HasPrefix(s, "init_module ") }) {
		t.Log("kernel without module support: the attempts fail with ENOSYS and are not traced")
		wantRes(t, res, -int(unix.ENOSYS), -int(unix.ENOSYS))
		if _, err := os.Stat("/proc/modules"); err == nil {
			t.Fatal("the module tracepoints are missing on a kernel with /proc/modules")
		}
		return
	}
	ev := c.waitFor(t, "finit_module", func(e *event.Event) bool { return byPID(pid, event.TypeModule)(e) && e.Syscall == "finit_module" })
	if ev.Module.File != self || ev.Module.Name != moduleName(self) || ev.Module.Args != "vigil_test=1" || ev.Res != int64(res.FDs[0]) || ev.Res >= 0 {
		t.Errorf("finit_module: %+v res %d (helper %v)", ev.Module, ev.Res, res.FDs)
	}
	ev = c.waitFor(t, "init_module", func(e *event.Event) bool { return byPID(pid, event.TypeModule)(e) && e.Syscall == "init_module" })
	if ev.Module.File != "" || ev.Module.Name != "" || ev.Module.Args != "x=1" || ev.Res != int64(res.FDs[1]) || ev.Res >= 0 {
		t.Errorf("init_module: %+v res %d (helper %v)", ev.Module, ev.Res, res.FDs)
	}
}

// unshare with two namespace flags, setns with nstype 0 (the kind comes
// from the descriptor) and setns with CLONE_NEWIPC.
func TestNamespaceFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "ns", "")
	wantRes(t, res, 0, 0, 0)
	ev := c.waitFor(t, "unshare", byPID(pid, event.TypeUnshare))
	if !slices.Equal(ev.NS.Types, []string{"ipc", "uts"}) || ev.NS.Flags != unix.CLONE_NEWUTS|unix.CLONE_NEWIPC || ev.Res != 0 {
		t.Errorf("unshare: %+v res %d", ev.NS, ev.Res)
	}
	sets := c.waitN(t, "setns", 2, byPID(pid, event.TypeSetns))
	if !slices.Equal(sets[0].NS.Types, []string{"uts"}) || sets[0].NS.Flags != 0 || sets[0].Res != 0 {
		t.Errorf("setns(uts fd, 0): %+v res %d", sets[0].NS, sets[0].Res)
	}
	if !slices.Equal(sets[1].NS.Types, []string{"ipc"}) || sets[1].NS.Flags != unix.CLONE_NEWIPC || sets[1].Res != 0 {
		t.Errorf("setns(ipc fd, CLONE_NEWIPC): %+v res %d", sets[1].NS, sets[1].Res)
	}
}

func TestMountFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	res, pid := runHelperCmd(t, "mount", dir)
	wantRes(t, res, 0, -int(unix.ENOENT))
	ms := c.waitN(t, "mount", 2, func(e *event.Event) bool {
		return byPID(pid, event.TypeMount)(e) && strings.HasPrefix(e.Mount.Target, dir) // not the helper's MS_PRIVATE remount of /
	})
	want := []event.Mount{
		{Source: "vigil-src", Target: filepath.Join(dir, "m"), FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV},
		{Source: "none", Target: filepath.Join(dir, "missing"), FSType: "tmpfs"},
	}
	for i, ev := range ms {
		if ev.Mount != want[i] || ev.Res != int64(res.FDs[i]) {
			t.Errorf("mount %d: %+v res %d, want %+v %d", i, ev.Mount, ev.Res, want[i], res.FDs[i])
		}
	}
}

// A process loading a BPF map and program: command, types and names.
func TestBPFFields(t *testing.T) {
	c := live(t)
	_, pid := runHelperCmd(t, "bpfload", "vigil_probe")
	named := func(cmd uint32) func(*event.Event) bool {
		return func(e *event.Event) bool {
			return byPID(pid, event.TypeBPF)(e) && e.BPF.Cmd == cmd && e.BPF.Name == "vigil_probe"
		}
	}
	ev := c.waitFor(t, "BPF_PROG_LOAD", named(5))
	pt, _ := event.FieldByName("bpf.prog_type")
	cmd, _ := event.FieldByName("bpf.cmd")
	if cmd.Str(ev) != "BPF_PROG_LOAD" || pt.Str(ev) != "socket_filter" || ev.Res < 0 {
		t.Errorf("prog load: %s %s res %d", cmd.Str(ev), pt.Str(ev), ev.Res)
	}
	ev = c.waitFor(t, "BPF_MAP_CREATE", named(0))
	mt, _ := event.FieldByName("bpf.map_type")
	if cmd.Str(ev) != "BPF_MAP_CREATE" || mt.Str(ev) != "hash" || pt.Str(ev) != "" || ev.Res < 0 {
		t.Errorf("map create: %s %s res %d", cmd.Str(ev), mt.Str(ev), ev.Res)
	}
	// The command is an int: garbage above it neither hides the call
	// nor changes what it is.
	ev = c.waitFor(t, "BPF_MAP_CREATE with garbage above the command", func(e *event.Event) bool {
		return byPID(pid, event.TypeBPF)(e) && e.BPF.Name == "vigil_probe_hi"
	})
	if cmd.Str(ev) != "BPF_MAP_CREATE" || mt.Str(ev) != "hash" || ev.Res < 0 {
		t.Errorf("map create, upper bits set: %s %s res %d", cmd.Str(ev), mt.Str(ev), ev.Res)
	}
}

// acceptingListener listens on a loopback TCP port, accepting and holding
// every connection until the test ends.
func acceptingListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
		}
	}()
	return l
}

// The reverse-shell pattern: a connected socket put on stdin, stdout and
// stderr. Each is a dup event with the peer's address; the pipe put on
// stdin, and the restoring dups of non-sockets, are not events.
func TestDupSocketFields(t *testing.T) {
	c := live(t)
	l := acceptingListener(t)
	res, pid := runHelperCmd(t, "dups", l.Addr().String())
	wantRes(t, res, 0, 0, 1, 2)
	dups := c.waitN(t, "dup", 3, byPID(pid, event.TypeDup))
	peer := netip.MustParseAddrPort(l.Addr().String())
	local := netip.MustParseAddrPort(res.Local)
	for i, ev := range dups {
		n := ev.Net
		if ev.Res != int64(i) || ev.Syscall != []string{"dup2", "dup2", "dup3"}[i] || n.Family != "ipv4" || n.Proto != "tcp" ||
			n.DIP != peer.Addr() || n.DPort != peer.Port() || n.SIP != local.Addr() || n.SPort != local.Port() {
			t.Errorf("dup %d (%s): res %d net %+v; want peer %s local %s", i, ev.Syscall, ev.Res, n, peer, local)
		}
	}
	// Every event of the helper up to its exit is in; only those three dups.
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	if got := c.all(byPID(pid, event.TypeDup)); len(got) != 3 {
		t.Errorf("%d dup events, want 3", len(got))
	}
}

// listen and accept: the listening socket's address; the accepted
// socket's local and peer addresses. A non-blocking accept that finds
// nothing (EAGAIN) is not an event.
func TestAcceptListenFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "accept", "")
	srv := netip.MustParseAddrPort(res.Local)
	cli := netip.MustParseAddrPort(res.Detail)
	ev := c.waitFor(t, "listen", byPID(pid, event.TypeListen))
	if ev.Res != 0 || ev.Net.SIP != srv.Addr() || ev.Net.SPort != srv.Port() || ev.Net.DIP.IsValid() || ev.Net.Proto != "tcp" {
		t.Errorf("listen: res %d net %+v, want local %s", ev.Res, ev.Net, srv)
	}
	ev = c.waitFor(t, "accept", func(e *event.Event) bool { return byPID(pid, event.TypeAccept)(e) && e.Res >= 0 })
	if ev.Syscall != "accept4" || ev.Net.SIP != srv.Addr() || ev.Net.SPort != srv.Port() || ev.Net.DIP != cli.Addr() || ev.Net.DPort != cli.Port() {
		t.Errorf("accept: %s net %+v, want local %s peer %s", ev.Syscall, ev.Net, srv, cli)
	}
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	for _, e := range c.all(byPID(pid, event.TypeAccept)) {
		if e.Res == -int64(unix.EAGAIN) {
			t.Errorf("an accept that returned EAGAIN was reported")
		}
	}
}

// The environment at exec: every name, values only for allow-listed
// names; and the credentials every event carries.
func TestExecEnvAndCreds(t *testing.T) {
	c := live(t)
	cmd := exec.Command("/bin/true")
	cmd.Env = []string{"LD_PRELOAD=/nonexistent/vigil.so", "SECRET_TOKEN=hunter2", "PATH=/usr/bin:/bin", "EMPTY="}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec of true", byPID(cmd.Process.Pid, event.TypeExec))
	want := map[string]string{"LD_PRELOAD": "/nonexistent/vigil.so", "SECRET_TOKEN": "", "PATH": "/usr/bin:/bin", "EMPTY": ""}
	if !reflect.DeepEqual(ev.Proc.Env, want) {
		t.Errorf("proc.env = %v, want %v", ev.Proc.Env, want)
	}
	// Root's capabilities, and the login uid this test runs under.
	if caps := event.CapNames(ev.CapEff); !slices.Contains(caps, "CAP_SYS_ADMIN") || !slices.Contains(caps, "CAP_BPF") {
		t.Errorf("proc.cap_effective of a root process = %v", caps)
	}
	b, err := os.ReadFile("/proc/self/loginuid")
	if err != nil {
		t.Fatal(err)
	}
	login, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if ev.LoginUID != uint32(login) {
		t.Errorf("loginuid %d, want %d (/proc/self/loginuid)", ev.LoginUID, login)
	}
}

// The argument filters drop in the kernel what no rule can match, and
// count it: a name filter on listen, the ptrace requests, setid calls
// that do not ask for root, unshare without namespaces.
func TestArgFilters(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	attached := c.probes.Attached()
	err := c.probes.SetArgFilter(plan.ArgFilter{
		Names:          map[event.Type][]string{event.TypeListen: {"nginx"}},
		PtraceRequests: []uint32{unix.PTRACE_ATTACH},
		SetidToRoot:    true,
		BPFCmds:        []uint32{5}, // BPF_PROG_LOAD
		NoSetidOld:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.probes.Attached(); got != attached-8 {
		t.Errorf("%d syscall tracepoints attached, want %d: the 8 set*id entries off", got, attached-8)
	}
	before, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	target := exec.Command("sleep", "30")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	c.waitFor(t, "exec of sleep", byPID(target.Process.Pid, event.TypeExec))
	_, ptr := runHelperCmd(t, "ptrace", "attach "+strconv.Itoa(target.Process.Pid))
	_, ids := runHelperCmd(t, "setids", "")
	_, acc := runHelperCmd(t, "accept", "")
	_, fs := runHelperCmd(t, "unshare-fs", "")
	_, bpfl := runHelperCmd(t, "bpfload", "vigil_filter")
	for _, pid := range []int{ptr, ids, acc, fs, bpfl} {
		c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	}
	var reqs []uint32
	for _, e := range c.all(byPID(ptr, event.TypePtrace)) {
		reqs = append(reqs, e.Ptrace.Request)
	}
	if !slices.Equal(reqs, []uint32{unix.PTRACE_ATTACH}) {
		t.Errorf("ptrace requests reported %v, want only PTRACE_ATTACH (the DETACH is filtered)", reqs)
	}
	var calls []string
	for _, e := range c.all(func(e *event.Event) bool {
		return e.Proc.PID == uint32(ids) && (e.Type == event.TypeSetuid || e.Type == event.TypeSetgid)
	}) {
		calls = append(calls, e.Syscall)
		if e.SetID.Old != [4]int64{-1, -1, -1, -1} {
			t.Errorf("%s: old ids %v without the entry programs, want unknown (-1)", e.Syscall, e.SetID.Old)
		}
	}
	if !slices.Equal(calls, []string{"setuid", "setreuid", "setgid"}) {
		t.Errorf("setid calls reported %v, want the three asking for 0", calls)
	}
	if n := len(c.all(byPID(acc, event.TypeListen))); n != 0 {
		t.Errorf("%d listen events of a process not named nginx", n)
	}
	if n := len(c.all(byPID(acc, event.TypeAccept))); n == 0 {
		t.Error("accept, which has no name filter, was not reported")
	}
	if n := len(c.all(byPID(fs, event.TypeUnshare))); n != 0 {
		t.Errorf("%d unshare events for CLONE_FS", n)
	}
	var cmds []uint32
	for _, e := range c.all(byPID(bpfl, event.TypeBPF)) {
		if e.BPF.Name == "vigil_filter" {
			cmds = append(cmds, e.BPF.Cmd)
		}
	}
	if !slices.Equal(cmds, []uint32{5}) {
		t.Errorf("bpf commands of the named objects %v, want only BPF_PROG_LOAD (the map create is filtered)", cmds)
	}
	after, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	for typ, min := range map[event.Type]uint64{event.TypePtrace: 1, event.TypeSetuid: 1, event.TypeSetgid: 1, event.TypeListen: 1, event.TypeUnshare: 1, event.TypeBPF: 1} {
		if got := after[typ] - before[typ]; got < min {
			t.Errorf("filtered %s: %d more, want at least %d", typ, got, min)
		}
	}
	// Off again: everything is reported.
	if err := c.probes.SetArgFilter(plan.ArgFilter{}); err != nil {
		t.Fatal(err)
	}
	if got := c.probes.Attached(); got != attached {
		t.Errorf("%d syscall tracepoints attached once the filters are off, want %d", got, attached)
	}
	_, acc = runHelperCmd(t, "accept", "")
	c.waitFor(t, "listen once the filter is off", byPID(acc, event.TypeListen))
}

// The path filters: absolute clean paths outside the rules' sets, and
// descriptors whose walked paths are, are dropped in the kernel
// (counted); relative paths and a second path inside its set pass.
func TestFileFilters(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	dir := tempDir(t)
	err := c.probes.SetArgFilter(plan.ArgFilter{Files: map[event.Type]plan.FileFilter{
		event.TypeUnlink: {First: []plan.PathRule{{Path: "/nonexistent/"}}},
		event.TypeLink:   {First: []plan.PathRule{{Path: "/nonexistent", Exact: true}}, Second: []plan.PathRule{{Path: dir + "/c", Exact: true}}},
		event.TypeChmod:  {First: []plan.PathRule{{Path: "/nonexistent/"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.probes.Filtered()
	for _, f := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, un := runHelperCmd(t, "unlinks", dir)
	fdir := tempDir(t)
	if err := os.WriteFile(filepath.Join(fdir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, fl := runHelperCmd(t, "files", fdir)
	c.waitFor(t, "unlink helper exit", byPID(un, event.TypeExit))
	c.waitFor(t, "files helper exit", byPID(fl, event.TypeExit))

	var raws []string
	for _, e := range c.all(byPID(un, event.TypeUnlink)) {
		raws = append(raws, e.File.RawPath)
	}
	if !slices.Equal(raws, []string{"b", "./d"}) {
		t.Errorf("unlinks reported %q, want only the relative ones (b, ./d)", raws)
	}
	// The link filter names the other directory's c: link(fdir/c, ...) is
	// not it, so only linkat (relative) passes.
	var links []string
	for _, e := range c.all(byPID(fl, event.TypeLink)) {
		links = append(links, e.Syscall)
	}
	if !slices.Equal(links, []string{"linkat"}) {
		t.Errorf("links reported %v, want [linkat]", links)
	}
	var chmods []string
	for _, e := range c.all(byPID(fl, event.TypeChmod)) {
		chmods = append(chmods, e.Syscall)
	}
	if !slices.Equal(chmods, []string{"fchmodat"}) {
		t.Errorf("chmods reported %v, want only fchmodat (relative; fchmod's descriptor is outside the set)", chmods)
	}
	after, _ := c.probes.Filtered()
	for typ, want := range map[event.Type]uint64{event.TypeUnlink: 2, event.TypeLink: 1, event.TypeChmod: 2} {
		if got := after[typ] - before[typ]; got < want {
			t.Errorf("filtered %s: %d more, want at least %d", typ, got, want)
		}
	}

	// A second path inside the set lets the event through.
	gdir := tempDir(t)
	if err := os.WriteFile(filepath.Join(gdir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.probes.SetArgFilter(plan.ArgFilter{Files: map[event.Type]plan.FileFilter{
		event.TypeLink: {First: []plan.PathRule{{Path: "/nonexistent", Exact: true}}, Second: []plan.PathRule{{Path: gdir + "/"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	_, fl2 := runHelperCmd(t, "files", gdir)
	ev := c.waitFor(t, "link(2) whose target is in the set", func(e *event.Event) bool {
		return byPID(fl2, event.TypeLink)(e) && e.Syscall == "link"
	})
	if ev.File.Target != gdir+"/c" || ev.File.Path != gdir+"/l1" {
		t.Errorf("link: path %q target %q", ev.File.Path, ev.File.Target)
	}

	// Ends of paths (file.name == "l1"): link(2) of .../l1 passes,
	// chmod(2) and fchmod(2) of .../c do not.
	hdir := tempDir(t)
	if err := os.WriteFile(filepath.Join(hdir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.probes.SetArgFilter(plan.ArgFilter{Files: map[event.Type]plan.FileFilter{
		event.TypeLink:  {First: []plan.PathRule{{Path: "/l1", Suffix: true}}},
		event.TypeChmod: {First: []plan.PathRule{{Path: "/zz", Suffix: true}}},
	}}); err != nil {
		t.Fatal(err)
	}
	_, fl3 := runHelperCmd(t, "files", hdir)
	// The last call the filter admits: the calls before it are on the
	// same ring (the exit, on another, may be read first).
	c.waitFor(t, "the relative fchmodat", func(e *event.Event) bool {
		return byPID(fl3, event.TypeChmod)(e) && e.Syscall == "fchmodat"
	})
	links, chmods = nil, nil
	for _, e := range c.all(byPID(fl3, event.TypeLink)) {
		links = append(links, e.Syscall)
	}
	for _, e := range c.all(byPID(fl3, event.TypeChmod)) {
		chmods = append(chmods, e.Syscall)
	}
	if !slices.Equal(links, []string{"link", "linkat"}) || !slices.Equal(chmods, []string{"fchmodat"}) {
		t.Errorf("with path ends: links %v (want link, linkat), chmods %v (want fchmodat: relative)", links, chmods)
	}
}
