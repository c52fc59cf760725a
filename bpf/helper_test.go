package bpf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The live tests trigger syscalls from child processes: this test binary
// run again with VIGIL_TEST_HELPER set, which performs one scripted action
// and prints what it did as JSON. A child has a known pid and parent, and
// its syscalls are not mixed with the test runner's own.
func TestMain(m *testing.M) {
	if action := os.Getenv("VIGIL_TEST_HELPER"); action != "" {
		os.Exit(runHelper(action, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

type helperResult struct {
	FDs    []int  `json:"fds,omitempty"`
	Local  string `json:"local,omitempty"`
	Errno  int    `json:"errno,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func runHelper(action, arg string) int {
	var res helperResult
	var err error
	switch action {
	case "wait-open":
		// Wait for a line on stdin, then open arg: lets a test start the
		// process first and have it act later.
		bufio.NewReader(os.Stdin).ReadString('\n')
		var fd int
		fd, err = unix.Open(arg, unix.O_RDONLY, 0)
		res.FDs = append(res.FDs, fd)
	case "opens":
		res.FDs, err = helperOpens(arg)
	case "connect":
		res.Local, res.Errno, err = helperConnect(arg)
	case "memfd-exec":
		err = helperMemfdExec()
	case "openpaths":
		err = helperOpenPaths(arg)
	case "unlinks":
		res.FDs, err = helperUnlinks(arg)
	case "mkdirs":
		res.FDs, err = helperMkdirs(arg)
	case "open-loop", "connect-loop":
		res.Detail, err = helperLoop(action, arg)
	default:
		if f, ok := sysHelpers[action]; ok {
			res, err = f(arg)
		} else {
			err = fmt.Errorf("unknown helper action %q", action)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// helperOpens performs, in dir: an absolute O_WRONLY|O_CREAT open, a
// relative open after chdir, an openat through a dirfd, a failing open,
// creat(2), open(2) and openat2(2). It returns the fds in that order (-errno
// for the failing one).
func helperOpens(dir string) ([]int, error) {
	var fds []int
	fd, err := unix.Open(filepath.Join(dir, "abs.txt"), unix.O_WRONLY|unix.O_CREAT, 0o640)
	if err != nil {
		return nil, err
	}
	fds = append(fds, fd)
	if err := os.Chdir(dir); err != nil {
		return nil, err
	}
	if fd, err = unix.Open("rel.txt", unix.O_RDONLY|unix.O_CREAT, 0o600); err != nil {
		return nil, err
	}
	fds = append(fds, fd)
	if err := os.MkdirAll(filepath.Join(dir, "sub", "x"), 0o755); err != nil {
		return nil, err
	}
	dirfd, err := unix.Open(filepath.Join(dir, "sub"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	if fd, err = unix.Openat(dirfd, "x/../at.txt", unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o600); err != nil {
		return nil, err
	}
	fds = append(fds, fd)
	_, err = unix.Open("/nonexistent-vigil-test/missing", unix.O_RDONLY, 0)
	fds = append(fds, -int(err.(syscall.Errno)))
	if fd, err = unix.Creat(filepath.Join(dir, "creat.txt"), 0o644); err != nil {
		return nil, err
	}
	fds = append(fds, fd)
	p, _ := unix.BytePtrFromString(filepath.Join(dir, "legacy.txt"))
	r, _, errno := unix.Syscall(unix.SYS_OPEN, uintptr(unsafePointer(p)), unix.O_RDONLY|unix.O_CREAT, 0o600)
	if errno != 0 {
		return nil, errno
	}
	fds = append(fds, int(r))
	if fd, err = unix.Openat2(unix.AT_FDCWD, "two.txt", &unix.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT, Mode: 0o600}); err != nil {
		return nil, err
	}
	fds = append(fds, fd)
	return fds, nil
}

// helperConnect connects a TCP socket to arg (host:port) and reports the
// local address and the errno, or to a unix socket when arg is a path.
func helperConnect(arg string) (string, int, error) {
	if strings.HasPrefix(arg, "/") {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return "", 0, err
		}
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: arg})
		return "", errnoOf(err), nil
	}
	ap, err := netipAddrPort(arg)
	if err != nil {
		return "", 0, err
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if ap.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return "", 0, err
	}
	cerr := unix.Connect(fd, sa)
	local := ""
	if ls, err := unix.Getsockname(fd); err == nil {
		switch a := ls.(type) {
		case *unix.SockaddrInet4:
			local = net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
		case *unix.SockaddrInet6:
			local = net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
		}
	}
	return local, errnoOf(cerr), nil
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return int(e)
	}
	return -1
}

// helperMemfdExec copies /bin/true into a memfd and executes it: fileless
// execution.
func helperMemfdExec() error {
	fd, err := unix.MemfdCreate("vigil-test", 0)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile("/bin/true")
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, bin); err != nil {
		return err
	}
	return unix.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), []string{"memfd-true", "--version"}, nil)
}

// helper starts the test binary as a helper child.
func helper(t *testing.T, action, arg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), "VIGIL_TEST_HELPER="+action)
	cmd.Stderr = os.Stderr
	return cmd
}

// runHelperCmd runs a helper to completion and returns its result.
func runHelperCmd(t *testing.T, action, arg string) (helperResult, int) {
	t.Helper()
	cmd := helper(t, action, arg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s %s: %v", action, arg, err)
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("helper %s output %q: %v", action, out, err)
	}
	return res, cmd.Process.Pid
}

func unsafePointer(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

func netipAddrPort(s string) (netip.AddrPort, error) { return netip.ParseAddrPort(s) }

// startWaiter starts a helper that opens a new marker file when told to:
// the test can act on the process (load probes, move it to a cgroup) in
// between. proceed tells it to open and waits for it to exit.
func startWaiter(t *testing.T) (cmd *exec.Cmd, marker string, proceed func()) {
	t.Helper()
	marker = filepath.Join(tempDir(t), "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = helper(t, "wait-open", marker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, marker, func() {
		t.Helper()
		fmt.Fprintln(stdin)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("waiting helper: %v", err)
		}
	}
}

type openReq struct {
	Path  string `json:"path"`
	Flags int    `json:"flags"`
	Dir   string `json:"chdir,omitempty"`
}

// helperOpenPaths opens each path of a JSON list with its flags (after an
// optional chdir), then connects to 127.0.0.1:1 so the test knows, when
// that connect arrives, that every open before it has been seen or dropped.
func helperOpenPaths(arg string) error {
	var reqs []openReq
	if err := json.Unmarshal([]byte(arg), &reqs); err != nil {
		return err
	}
	for _, r := range reqs {
		if r.Dir != "" {
			if err := os.Chdir(r.Dir); err != nil {
				return err
			}
		}
		if fd, err := unix.Open(r.Path, r.Flags, 0o600); err == nil {
			unix.Close(fd)
		}
	}
	_, _, err := helperConnect("127.0.0.1:1")
	return err
}

// helperLoop opens and closes a file ("open-loop PATH") or connects to an
// address and closes ("connect-loop HOST:PORT") 20,000 times and reports
// its CPU time (user+sys) per iteration in ns.
func helperLoop(action, arg string) (string, error) {
	const n = 20000
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	for range n {
		if action == "open-loop" {
			fd, err := unix.Open(arg, unix.O_RDONLY, 0)
			if err != nil {
				return "", err
			}
			unix.Close(fd)
			continue
		}
		ap, err := netipAddrPort(arg)
		if err != nil {
			return "", err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return "", err
		}
		unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
		unix.Close(fd)
	}
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / n
	return strconv.FormatInt(int64(cpu), 10), nil
}

// helperUnlinks, in dir: unlink(2) of dir/a (absolute), unlinkat(2) of
// "b" through a dirfd, rmdir(2) of "./d" after chdir, unlink(2) of a
// missing file (x/sys's Unlink and Rmdir use unlinkat: the raw syscalls
// are made here). It returns the results (0 or -errno) in that order.
func helperUnlinks(dir string) ([]int, error) {
	r := func(err error) int {
		if err == nil {
			return 0
		}
		return -errnoOf(err)
	}
	raw := func(nr uintptr, path string) error {
		p, err := unix.BytePtrFromString(path)
		if err != nil {
			return err
		}
		if _, _, e := unix.Syscall(nr, uintptr(unsafePointer(p)), 0, 0); e != 0 {
			return e
		}
		return nil
	}
	var out []int
	out = append(out, r(raw(unix.SYS_UNLINK, dir+"/a")))
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	out = append(out, r(unix.Unlinkat(dfd, "b", 0)))
	if err := unix.Chdir(dir); err != nil {
		return nil, err
	}
	out = append(out, r(raw(unix.SYS_RMDIR, "./d")))
	out = append(out, r(raw(unix.SYS_UNLINK, dir+"/missing")))
	return out, nil
}

// helperMkdirs, in dir: mkdir(2) of dir/m1 (absolute, mode 0750),
// mkdirat(2) of "m2" through a dirfd (0700), mkdir(2) of dir/m1 again
// (EEXIST). It returns the results (0 or -errno).
func helperMkdirs(dir string) ([]int, error) {
	mk := func(nr, a, b, c uintptr) int {
		_, _, e := unix.Syscall(nr, a, b, c)
		return -int(e)
	}
	p1, _ := unix.BytePtrFromString(dir + "/m1")
	p2, _ := unix.BytePtrFromString("m2")
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	unix.Umask(0)
	return []int{
		mk(unix.SYS_MKDIR, uintptr(unsafePointer(p1)), 0o750, 0),
		mk(unix.SYS_MKDIRAT, uintptr(dfd), uintptr(unsafePointer(p2)), 0o700),
		mk(unix.SYS_MKDIR, uintptr(unsafePointer(p1)), 0o750, 0),
	}, nil
}
