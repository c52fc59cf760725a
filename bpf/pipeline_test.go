package bpf

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

func execOf(pid int) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.PID == uint32(pid) }
}

func openOf(pid int, raw string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Proc.PID == uint32(pid) && e.File.RawPath == raw
	}
}

func selfComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// An exec through a relative path and a symlink, from a known cwd, with a
// controlling terminal.
func TestExecFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	if err := os.Symlink("/bin/true", filepath.Join(dir, "mytrue")); err != nil {
		t.Fatal(err)
	}
	ptm, pts, ttyNr := openPTY(t)
	defer ptm.Close()
	defer pts.Close()

	cmd := exec.Command("./mytrue", "a", "b c", "")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "VIGIL_TEST=x"} // the shared collector keeps PATH's value only
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec of ./mytrue", execOf(cmd.Process.Pid))

	p := ev.Proc
	want := event.Process{
		PID:  uint32(cmd.Process.Pid),
		PPID: uint32(os.Getpid()),
		// Setsid: it leads a new session and group.
		VPID:      uint32(cmd.Process.Pid),
		VPGID:     uint32(cmd.Process.Pid),
		SID:       uint32(cmd.Process.Pid),
		SName:     "mytrue",
		Name:      "mytrue",
		Exe:       realpath(t, "/bin/true"),
		Argv:      []string{"./mytrue", "a", "b c", ""},
		Cmdline:   "mytrue a b c ",
		Cwd:       dir,
		TTY:       ttyNr,
		Start:     p.Start,
		CgroupID:  p.CgroupID,
		Container: p.Container,
		Ancestors: p.Ancestors,
		// Checked below.
		AncestorExes:   p.AncestorExes,
		AncestorArgv0s: p.AncestorArgv0s,
		AncestorPIDs:   p.AncestorPIDs,
		Env:            map[string]string{"PATH": "/usr/bin:/bin", "VIGIL_TEST": ""},
		Stdio:          [3]event.Stdio{{Type: "tty", Ino: inoOf(t, pts)}, {Type: "tty", Ino: inoOf(t, pts)}, {Type: "tty", Ino: inoOf(t, pts)}},
	}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("exec process:\n got %+v\nwant %+v", *p, want)
	}
	if ev.UID != 0 || ev.EUID != 0 || ev.User.Name != "root" || ev.Res != 0 || ev.Failed() {
		t.Errorf("exec credentials/result: uid=%d euid=%d user=%q res=%d", ev.UID, ev.EUID, ev.User.Name, ev.Res)
	}
	if len(p.Ancestors) == 0 || p.Ancestors[0] != selfComm(t) {
		t.Errorf("ancestors = %q, want the test binary (%q) first", p.Ancestors, selfComm(t))
	}
	// The same ancestors' exes, argv[0]s and pids: this process, then its
	// parent (the go tool or a shell).
	if len(p.AncestorExes) < 2 || p.AncestorExes[0] != realpath(t, os.Args[0]) || len(p.AncestorArgv0s) < 2 || p.AncestorArgv0s[0] != os.Args[0] ||
		len(p.AncestorPIDs) < 2 || p.AncestorPIDs[0] != uint32(os.Getpid()) || p.AncestorPIDs[1] != uint32(os.Getppid()) {
		t.Errorf("ancestor exes %q argv0s %q pids %v; want %s, %s, %d then %d first", p.AncestorExes, p.AncestorArgv0s, p.AncestorPIDs,
			realpath(t, os.Args[0]), os.Args[0], os.Getpid(), os.Getppid())
	}
	if ev.Parent == nil || ev.Parent.PID != uint32(os.Getpid()) || ev.Parent.Exe != realpath(t, os.Args[0]) {
		t.Errorf("parent = %+v, want the test process", ev.Parent)
	}
	if d := time.Since(p.Start); d < 0 || d > time.Minute {
		t.Errorf("proc.start = %v, %v from now", p.Start, d)
	}
	if d := time.Since(ev.Time); d < 0 || d > time.Minute {
		t.Errorf("evt.time = %v, %v from now", ev.Time, d)
	}
}

// openPTY opens a pseudo-terminal pair and returns the tty_nr the kernel
// reports for the slave side.
func openPTY(t *testing.T) (*os.File, *os.File, uint32) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(pts.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	return ptm, pts, (minor & 0xff) | (major << 8) | ((minor &^ 0xff) << 12)
}

func TestExecMemfd(t *testing.T) {
	c := live(t)
	cmd := helper(t, "memfd-exec", "")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// The helper's own exec comes first; the memfd exec replaces it.
	ev := c.waitFor(t, "exec from a memfd", func(e *event.Event) bool {
		return execOf(cmd.Process.Pid)(e) && e.Proc.Name != filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))]
	})
	if !ev.Proc.ExeMemfd || ev.Proc.Exe != "/memfd:vigil-test (deleted)" {
		t.Errorf("memfd exec: exe_memfd=%v exe=%q, want true and %q", ev.Proc.ExeMemfd, ev.Proc.Exe, "/memfd:vigil-test (deleted)")
	}
	if !slices.Equal(ev.Proc.Argv, []string{"memfd-true", "--version"}) {
		t.Errorf("argv = %q", ev.Proc.Argv)
	}
	first := c.waitFor(t, "helper exec", execOf(cmd.Process.Pid))
	if first.Proc.ExeMemfd || first.Proc.Exe != realpath(t, os.Args[0]) {
		t.Errorf("a normal exec: exe_memfd=%v exe=%q", first.Proc.ExeMemfd, first.Proc.Exe)
	}
}

func TestOpenFields(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	res, pid := runHelperCmd(t, "opens", dir)
	if len(res.FDs) != 7 {
		t.Fatalf("helper fds = %v", res.FDs)
	}
	cases := []struct {
		raw   string
		path  string
		flags uint32
		mode  uint32
		res   int
	}{
		{filepath.Join(dir, "abs.txt"), filepath.Join(dir, "abs.txt"), unix.O_WRONLY | unix.O_CREAT, 0o640, res.FDs[0]},
		{"rel.txt", filepath.Join(dir, "rel.txt"), unix.O_RDONLY | unix.O_CREAT, 0o600, res.FDs[1]},
		{"x/../at.txt", filepath.Join(dir, "sub", "at.txt"), unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC, 0o600, res.FDs[2]},
		{"/nonexistent-vigil-test/missing", "/nonexistent-vigil-test/missing", unix.O_RDONLY, 0, -int(unix.ENOENT)},
		{filepath.Join(dir, "creat.txt"), filepath.Join(dir, "creat.txt"), unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, 0o644, res.FDs[4]},
		{filepath.Join(dir, "legacy.txt"), filepath.Join(dir, "legacy.txt"), unix.O_RDONLY | unix.O_CREAT, 0o600, res.FDs[5]},
		{"two.txt", filepath.Join(dir, "two.txt"), unix.O_WRONLY | unix.O_CREAT, 0o600, res.FDs[6]},
	}
	for _, tc := range cases {
		ev := c.waitFor(t, "open of "+tc.raw, openOf(pid, tc.raw))
		// Go's unix.Open adds O_LARGEFILE (0 on amd64) and O_CLOEXEC; compare the bits asked for.
		got := ev.File
		if got.Path != tc.path || got.Flags&^unix.O_CLOEXEC&^unix.O_LARGEFILE != tc.flags || got.Mode != tc.mode || ev.Res != int64(tc.res) {
			t.Errorf("open %q: path=%q flags=%#x mode=%#o res=%d; want path=%q flags=%#x mode=%#o res=%d",
				tc.raw, got.Path, got.Flags, got.Mode, ev.Res, tc.path, tc.flags, tc.mode, tc.res)
		}
		if ev.Failed() != (tc.res < 0) {
			t.Errorf("open %q: failed=%v with res %d", tc.raw, ev.Failed(), ev.Res)
		}
		if ev.Proc.Name != filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))] || ev.Proc.PPID != uint32(os.Getpid()) {
			t.Errorf("open %q: proc name=%q ppid=%d", tc.raw, ev.Proc.Name, ev.Proc.PPID)
		}
	}
}

func TestConnect(t *testing.T) {
	c := live(t)
	l4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l4.Close()
	l6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l6.Close()
	// A port nobody listens on: bind, note it, close.
	closed, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	sock := filepath.Join(tempDir(t), "vigil.sock")
	lu, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer lu.Close()

	cases := []struct {
		dest   string
		family string
		errno  syscall.Errno
	}{
		{l4.Addr().String(), "ipv4", 0},
		{l6.Addr().String(), "ipv6", 0},
		{closedAddr, "ipv4", unix.ECONNREFUSED},
	}
	for _, tc := range cases {
		res, pid := runHelperCmd(t, "connect", tc.dest)
		if syscall.Errno(res.Errno) != tc.errno {
			t.Fatalf("helper connect %s: errno %d, want %d", tc.dest, res.Errno, tc.errno)
		}
		ev := c.waitFor(t, "connect to "+tc.dest, func(e *event.Event) bool {
			return e.Type == event.TypeConnect && e.Proc.PID == uint32(pid)
		})
		dest := netip.MustParseAddrPort(tc.dest)
		n := ev.Net
		if n.Family != tc.family || n.Proto != "tcp" || n.SockType != "stream" || n.DIP != dest.Addr() || n.DPort != dest.Port() || ev.Res != -int64(tc.errno) {
			t.Errorf("connect %s: %+v res=%d", tc.dest, n, ev.Res)
		}
		if tc.errno == 0 {
			local := netip.MustParseAddrPort(res.Local)
			if n.SIP != local.Addr() || n.SPort != local.Port() {
				t.Errorf("connect %s: source %s:%d, want %s", tc.dest, n.SIP, n.SPort, local)
			}
		}
	}

	res, pid := runHelperCmd(t, "connect", sock)
	if res.Errno != 0 {
		t.Fatalf("unix connect errno %d", res.Errno)
	}
	ev := c.waitFor(t, "connect to "+sock, func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Proc.PID == uint32(pid)
	})
	if ev.Net.Family != "unix" || ev.Net.Path != sock || ev.Net.SockType != "stream" || ev.Net.Proto != "" || ev.Res != 0 {
		t.Errorf("unix connect: %+v res=%d", ev.Net, ev.Res)
	}
}

// A process that started before vigil has its parent, name and command
// line from /proc.
func TestProcessBeforeStart(t *testing.T) {
	needRoot(t)
	cmd, marker, proceed := startWaiter(t)
	c := startCollector(t, DefaultOptions())
	proceed()
	ev := c.waitFor(t, "open by the pre-existing process", openOf(cmd.Process.Pid, marker))
	self := realpath(t, os.Args[0])
	if ev.Proc.PPID != uint32(os.Getpid()) || ev.Proc.Exe != self || ev.Proc.Argv[len(ev.Proc.Argv)-1] != marker {
		t.Errorf("seeded process: %+v", ev.Proc)
	}
	if ev.Parent == nil || ev.Parent.Exe != self || ev.Parent.Name != selfComm(t) {
		t.Fatalf("parent of a seeded process = %+v", ev.Parent)
	}
	if ev.Parent.Cmdline != event.MakeCmdline(selfComm(t), os.Args) {
		t.Errorf("pcmdline = %q, want %q", ev.Parent.Cmdline, event.MakeCmdline(selfComm(t), os.Args))
	}
}

// fork, exec and exit of a process tree: a shell that runs a child and
// exits 3.
func TestLifecycle(t *testing.T) {
	c := live(t)
	cmd := exec.Command("/bin/sh", "-c", "/bin/true x; exit 3")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("sh: %v", err)
	}
	sh := uint32(cmd.Process.Pid)
	fork := c.waitFor(t, "fork by sh", func(e *event.Event) bool { return e.Type == event.TypeFork && e.Proc.PID == sh })
	child := uint32(fork.Res)
	if child == 0 || fork.Proc.Name != "sh" {
		t.Fatalf("fork event: res=%d proc=%+v", fork.Res, fork.Proc)
	}
	ex := c.waitFor(t, "exec of /bin/true by the child", execOf(int(child)))
	if ex.Proc.PPID != sh || !slices.Equal(ex.Proc.Argv, []string{"/bin/true", "x"}) || ex.Proc.ArgsTrunc || ex.Proc.Exe != realpath(t, "/bin/true") {
		t.Errorf("child exec: %+v", ex.Proc)
	}
	if len(ex.Proc.Ancestors) < 2 || ex.Proc.Ancestors[0] != "sh" || ex.Proc.Ancestors[1] != selfComm(t) {
		t.Errorf("child ancestors = %q, want [sh %s ...]", ex.Proc.Ancestors, selfComm(t))
	}
	if ex.Parent == nil || ex.Parent.PID != sh || ex.Parent.Cmdline != "sh -c /bin/true x; exit 3" {
		t.Errorf("child's parent = %+v", ex.Parent)
	}
	exitOf := func(pid uint32) func(*event.Event) bool {
		return func(e *event.Event) bool { return e.Type == event.TypeExit && e.Proc.PID == pid }
	}
	if e := c.waitFor(t, "exit of the child", exitOf(child)); e.Res != 0 || e.Proc.Name != "true" {
		t.Errorf("child exit: res=%d name=%q", e.Res, e.Proc.Name)
	}
	if e := c.waitFor(t, "exit of sh", exitOf(sh)); e.Res != 3 {
		t.Errorf("sh exit: res=%d", e.Res)
	}
}

// argv beyond 4095 bytes is cut and flagged.
func TestExecArgsTruncated(t *testing.T) {
	c := live(t)
	long := strings.Repeat("a", 3000)
	cmd := exec.Command("/bin/true", long, long)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec with long argv", execOf(cmd.Process.Pid))
	p := ev.Proc
	if !p.ArgsTrunc || len(p.Argv) != 3 || p.Argv[1] != long || len(p.Argv[2]) != argsMax-len("/bin/true")-1-len(long)-1 {
		t.Errorf("truncated argv: trunc=%v argc=%d lens=%v", p.ArgsTrunc, len(p.Argv), argLens(p.Argv))
	}
}

func argLens(argv []string) []int {
	var n []int
	for _, a := range argv {
		n = append(n, len(a))
	}
	return n
}
