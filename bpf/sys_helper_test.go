package bpf

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// Helper actions for the new event types. Each makes the raw syscalls
// itself (x/sys and the Go runtime often use another variant, or apply a
// call to every thread) and returns their results, 0 or -errno, in order.
var sysHelpers = map[string]func(string) (helperResult, error){
	"files":   helperFiles,
	"ptrace":  helperPtrace,
	"setids":  helperSetids,
	"memfd":   helperMemfd,
	"module":  helperModule,
	"ns":      helperNS,
	"mount":   helperMount,
	"bpfload": helperBPFLoad,
	"dups":    helperDups,
	"accept":  helperAccept,
}

func sysRes(r1 uintptr, e unix.Errno) int {
	if e != 0 {
		return -int(e)
	}
	return int(r1)
}

func sc(nr uintptr, args ...uintptr) int {
	var a [6]uintptr
	copy(a[:], args)
	r1, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return sysRes(r1, e)
}

func cstr(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafePointer(p))
}

// helperFiles, in dir (which holds a file "a"):
//
//	0 rename(dir/a, dir/b)          1 renameat(dfd, "b", dfd, "c")
//	2 renameat2(dfd, "x", dfd, "c", RENAME_NOREPLACE) -> ENOENT
//	3 link(dir/c, dir/l1)           4 linkat(dfd, "c", dfd, "l2", 0)
//	5 symlink("c", dir/s1)          6 symlinkat("/etc/shadow", dfd, "s2")
//	7 chmod(dir/c, 04755)           8 fchmod(fd of dir/c, 0600)
//	9 fchmodat(dfd, "c", 02750, 0)
func helperFiles(dir string) (helperResult, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return helperResult{}, err
	}
	at := uintptr(dfd)
	var out []int
	out = append(out, sc(unix.SYS_RENAME, cstr(dir+"/a"), cstr(dir+"/b")))
	out = append(out, sc(unix.SYS_RENAMEAT, at, cstr("b"), at, cstr("c")))
	out = append(out, sc(unix.SYS_RENAMEAT2, at, cstr("x"), at, cstr("c"), unix.RENAME_NOREPLACE))
	out = append(out, sc(unix.SYS_LINK, cstr(dir+"/c"), cstr(dir+"/l1")))
	out = append(out, sc(unix.SYS_LINKAT, at, cstr("c"), at, cstr("l2"), 0))
	out = append(out, sc(unix.SYS_SYMLINK, cstr("c"), cstr(dir+"/s1")))
	out = append(out, sc(unix.SYS_SYMLINKAT, cstr("/etc/shadow"), at, cstr("s2")))
	out = append(out, sc(unix.SYS_CHMOD, cstr(dir+"/c"), 0o4755))
	fd, err := unix.Open(dir+"/c", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	out = append(out, sc(unix.SYS_FCHMOD, uintptr(fd), 0o600))
	out = append(out, sc(unix.SYS_FCHMODAT, at, cstr("c"), 0o2750, 0))
	return helperResult{FDs: out}, nil
}

// helperPtrace: "attach PID" attaches to PID and detaches again;
// "traceme" asks to be traced by the parent (the test), then exits.
func helperPtrace(arg string) (helperResult, error) {
	runtime.LockOSThread() // ptrace binds the tracer's thread
	if arg == "traceme" {
		// Traced from here on: a signal this thread takes (the Go
		// runtime's preemption SIGURG among them) would stop it until the
		// tracer (the test) resumes it, which it never does. So every
		// signal is blocked first; then say the result and leave at once.
		all := unix.Sigset_t{}
		for i := range all.Val {
			all.Val[i] = ^uint64(0)
		}
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &all, nil); err != nil {
			return helperResult{}, err
		}
		msg := []byte(fmt.Sprintf("{\"fds\":[%d]}\n", sc(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0, 0)))
		unix.Write(1, msg)
		unix.Exit(0)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(arg, "attach "))
	if err != nil {
		return helperResult{}, err
	}
	r := sc(unix.SYS_PTRACE, unix.PTRACE_ATTACH, uintptr(pid), 0, 0)
	if r == 0 {
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		sc(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0)
	}
	return helperResult{FDs: []int{r}}, nil
}

// helperSetids, on one thread, as root: setresgid(65534, 65534, 65534),
// setresuid(65534, 65534, 65534), then the attempt to get root back:
// setuid(0) (EPERM), setreuid(-1, 0) (EPERM), setgid(0) (EPERM).
func helperSetids(string) (helperResult, error) {
	runtime.LockOSThread() // never unlocked: the thread dies with the helper
	const nobody, keep = 65534, ^uintptr(0)
	var out []int
	out = append(out, sc(unix.SYS_SETRESGID, nobody, nobody, nobody))
	out = append(out, sc(unix.SYS_SETRESUID, nobody, nobody, nobody))
	out = append(out, sc(unix.SYS_SETUID, 0))
	out = append(out, sc(unix.SYS_SETREUID, keep&0xffffffff, 0))
	out = append(out, sc(unix.SYS_SETGID, 0))
	return helperResult{FDs: out}, nil
}

// helperMemfd: memfd_create(arg, MFD_CLOEXEC|MFD_ALLOW_SEALING).
func helperMemfd(name string) (helperResult, error) {
	return helperResult{FDs: []int{sc(unix.SYS_MEMFD_CREATE, cstr(name), unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)}}, nil
}

// helperModule: finit_module(fd of arg, "vigil_test=1", 0) and
// init_module(8 bytes that are no module, 8, "x=1"). Both fail: the file
// and the image are not modules (ENOEXEC; ENOSYS without module support).
func helperModule(file string) (helperResult, error) {
	fd, err := unix.Open(file, unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	img := []byte("notanelf")
	return helperResult{FDs: []int{
		sc(unix.SYS_FINIT_MODULE, uintptr(fd), cstr("vigil_test=1"), 0),
		sc(unix.SYS_INIT_MODULE, uintptr(unsafePointer(&img[0])), uintptr(len(img)), cstr("x=1")),
	}}, nil
}

// helperNS, on one thread: unshare(CLONE_NEWUTS|CLONE_NEWIPC), then setns
// back into the uts namespace it left with nstype 0 (the kernel says which
// kind the descriptor is) and into the ipc one with CLONE_NEWIPC.
func helperNS(string) (helperResult, error) {
	runtime.LockOSThread()
	uts, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	ipc, err := unix.Open("/proc/thread-self/ns/ipc", unix.O_RDONLY, 0)
	if err != nil {
		return helperResult{}, err
	}
	return helperResult{FDs: []int{
		sc(unix.SYS_UNSHARE, unix.CLONE_NEWUTS|unix.CLONE_NEWIPC),
		sc(unix.SYS_SETNS, uintptr(uts), 0),
		sc(unix.SYS_SETNS, uintptr(ipc), unix.CLONE_NEWIPC),
	}, Detail: fmt.Sprint(uts)}, nil
}

// helperMount, in a mount namespace of its own (so nothing leaks onto the
// host): mount("vigil-src", dir/m, "tmpfs", MS_NOSUID|MS_NODEV, "size=1m"),
// then, after chdir(dir), a relative mount onto a missing directory
// (ENOENT).
func helperMount(dir string) (helperResult, error) {
	runtime.LockOSThread()
	if r := sc(unix.SYS_UNSHARE, unix.CLONE_NEWNS); r != 0 {
		return helperResult{}, fmt.Errorf("unshare: %d", r)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return helperResult{}, err
	}
	if err := os.Mkdir(dir+"/m", 0o755); err != nil {
		return helperResult{}, err
	}
	out := []int{sc(unix.SYS_MOUNT, cstr("vigil-src"), cstr(dir+"/m"), cstr("tmpfs"), unix.MS_NOSUID|unix.MS_NODEV, cstr("size=1m"))}
	if err := unix.Chdir(dir); err != nil {
		return helperResult{}, err
	}
	out = append(out, sc(unix.SYS_MOUNT, cstr("none"), cstr("missing"), cstr("tmpfs"), 0, 0))
	return helperResult{FDs: out}, nil
}

// helperBPFLoad loads a socket filter named arg (return 0) and a hash map
// of the same name, then closes both.
func helperBPFLoad(name string) (helperResult, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: name, Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		return helperResult{}, err
	}
	defer m.Close()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		return helperResult{}, err
	}
	defer p.Close()
	// The same map again by a raw bpf(2) whose command has garbage in the
	// upper half of its register: the kernel reads an int and creates it.
	var attr [48]byte
	binary.NativeEndian.PutUint32(attr[0:], uint32(ebpf.Hash))
	binary.NativeEndian.PutUint32(attr[4:], 4)
	binary.NativeEndian.PutUint32(attr[8:], 4)
	binary.NativeEndian.PutUint32(attr[12:], 1)
	copy(attr[28:43], name+"_hi")
	fd := sc(unix.SYS_BPF, 1<<32|unix.BPF_MAP_CREATE, uintptr(unsafePointer(&attr[0])), uintptr(len(attr)))
	if fd < 0 {
		return helperResult{}, fmt.Errorf("bpf(1<<32|BPF_MAP_CREATE): %v", unix.Errno(-fd))
	}
	defer unix.Close(fd)
	return helperResult{FDs: []int{p.FD(), m.FD(), fd}}, nil
}

// dialSocket connects to addr (host:port) over TCP and returns the
// connection and a duplicate of its socket, whose Fd the caller may put
// anywhere (keep f referenced while it is used).
func dialSocket(addr string) (c net.Conn, f *os.File, err error) {
	c, err = net.Dial("tcp4", addr)
	if err != nil {
		return nil, nil, err
	}
	f, err = c.(*net.TCPConn).File()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, f, nil
}

// helperDups connects to arg (host:port) and, like a reverse shell, puts
// the socket on stdin and stdout with dup2 and on stderr with dup3; a pipe
// put on stdin with dup2 must not be reported. It returns the local
// address.
func helperDups(addr string) (helperResult, error) {
	c, f, err := dialSocket(addr)
	if err != nil {
		return helperResult{}, err
	}
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return helperResult{}, err
	}
	var saved [3]uintptr
	for i := range saved {
		saved[i] = uintptr(sc(unix.SYS_DUP, uintptr(i))) // > 2: no event
	}
	s := f.Fd()
	out := []int{
		sc(unix.SYS_DUP2, uintptr(p[0]), 0), // not a socket: no event
		sc(unix.SYS_DUP2, s, 0),
		sc(unix.SYS_DUP2, s, 1),
		sc(unix.SYS_DUP3, s, 2, 0),
	}
	for i, fd := range saved {
		sc(unix.SYS_DUP2, fd, uintptr(i)) // back to the helper's own stdio, not sockets
	}
	return helperResult{FDs: out, Local: c.LocalAddr().String()}, nil
}

// helperAccept listens on 127.0.0.1 (an ephemeral port), connects to
// itself and accepts; it returns the listening and the client's address.
func helperAccept(string) (helperResult, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false) // plain TCP: Go would make an MPTCP listener
	l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		return helperResult{}, err
	}
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		return helperResult{}, err
	}
	a, err := l.Accept()
	if err != nil {
		return helperResult{}, err
	}
	a.Close()
	c.Close()
	return helperResult{Local: l.Addr().String(), Detail: c.LocalAddr().String()}, nil
}

func init() {
	// unshare(CLONE_FS): no namespace, so no unshare event.
	sysHelpers["unshare-fs"] = func(string) (helperResult, error) {
		runtime.LockOSThread()
		return helperResult{FDs: []int{sc(unix.SYS_UNSHARE, unix.CLONE_FS)}}, nil
	}
}
