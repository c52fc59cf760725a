package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loops of the syscall event types. One operation is one traced
// syscall, except where a pair is needed to repeat it (link and unlink,
// mkdir and rmdir, memfd_create and close, mount and umount): then the
// operation is the pair, and both of its syscalls are traced types.
var sysWorkloads = map[string]func() (workload, error){
	"rename":  renameWorkload,
	"link":    func() (workload, error) { return pairWorkload("link") },
	"symlink": func() (workload, error) { return pairWorkload("symlink") },
	"mkdir":   func() (workload, error) { return pairWorkload("mkdir") },
	"chmod":   chmodWorkload,
	"ptrace":  ptraceWorkload,
	"setuid":  setuidWorkload,
	"memfd":   memfdWorkload,
	"setns":   setnsWorkload,
	"unshare": unshareWorkload,
	"mount":   mountWorkload,
	"bpf":     bpfWorkload,
	"dup":     dupWorkload,
	"listen":  listenWorkload,
	// issue 15
	"truncate":   truncateWorkload,
	"chown":      chownWorkload,
	"utimes":     utimesWorkload,
	"xattr":      xattrWorkload,
	"chattr":     chattrWorkload,
	"ioctl":      ioctlWorkload,
	"fcntl":      fcntlWorkload,
	"prctl":      prctlWorkload,
	"process_vm": processVMWorkload,
	"socket":     socketWorkload,
}

func tempDir() (string, func(), error) {
	d, err := os.MkdirTemp("", "vigil-bench-*")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

func cpath(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafe.Pointer(p))
}

func raw(nr uintptr, a ...uintptr) error {
	var x [6]uintptr
	copy(x[:], a)
	if _, _, e := unix.Syscall6(nr, x[0], x[1], x[2], x[3], x[4], x[5]); e != 0 {
		return e
	}
	return nil
}

// loop repeats f n times, stopping at its first error.
func loop(f func() error) func(int) error {
	return func(n int) error {
		for range n {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
}

// renameWorkload renames a file back and forth (absolute paths).
func renameWorkload() (workload, error) {
	d, clean, err := tempDir()
	if err != nil {
		return workload{}, err
	}
	a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		clean()
		return workload{}, err
	}
	pa, pb := cpath(a), cpath(b)
	flip := false
	return workload{run: loop(func() error {
		flip = !flip
		if flip {
			return raw(unix.SYS_RENAME, pa, pb)
		}
		return raw(unix.SYS_RENAME, pb, pa)
	}), close: clean}, nil
}

// pairWorkload makes and removes a hard link, a symlink or a directory.
func pairWorkload(kind string) (workload, error) {
	d, clean, err := tempDir()
	if err != nil {
		return workload{}, err
	}
	f, l := filepath.Join(d, "f"), filepath.Join(d, "l")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		clean()
		return workload{}, err
	}
	pf, pl := cpath(f), cpath(l)
	var op func() error
	switch kind {
	case "link":
		op = func() error { return firstErr(raw(unix.SYS_LINK, pf, pl), raw(unix.SYS_UNLINK, pl)) }
	case "symlink":
		op = func() error { return firstErr(raw(unix.SYS_SYMLINK, pf, pl), raw(unix.SYS_UNLINK, pl)) }
	default:
		op = func() error { return firstErr(raw(unix.SYS_MKDIR, pl, 0o755), raw(unix.SYS_RMDIR, pl)) }
	}
	return workload{run: loop(op), close: clean}, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func chmodWorkload() (workload, error) {
	d, clean, err := tempDir()
	if err != nil {
		return workload{}, err
	}
	f := filepath.Join(d, "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		clean()
		return workload{}, err
	}
	pf := cpath(f)
	mode := uintptr(0o644)
	return workload{run: loop(func() error {
		mode ^= 0o040
		return raw(unix.SYS_CHMOD, pf, mode)
	}), close: clean}, nil
}

// ptraceWorkload asks for a word of a process that does not exist
// (ESRCH): the syscall and its tracepoints, without a tracee.
func ptraceWorkload() (workload, error) {
	return workload{run: loop(func() error {
		if err := raw(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 0x7ffffff0, 0, 0); err != unix.ESRCH {
			return fmt.Errorf("ptrace: %v, want ESRCH", err)
		}
		return nil
	}), close: func() {}}, nil
}

// setuidWorkload calls setresuid(-1, -1, -1) on this thread: a change of
// nothing, through the whole credential path.
func setuidWorkload() (workload, error) {
	keep := uintptr(^uint32(0))
	return workload{run: loop(func() error { return raw(unix.SYS_SETRESUID, keep, keep, keep) }), close: func() {}}, nil
}

func memfdWorkload() (workload, error) {
	name := cpath("vigil-bench")
	return workload{run: loop(func() error {
		fd, _, e := unix.Syscall(unix.SYS_MEMFD_CREATE, name, unix.MFD_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		return syscall.Close(int(fd))
	}), close: func() {}}, nil
}

// setnsWorkload re-enters this thread's own uts namespace.
func setnsWorkload() (workload, error) {
	fd, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return workload{}, err
	}
	return workload{run: loop(func() error { return raw(unix.SYS_SETNS, uintptr(fd), unix.CLONE_NEWUTS) }),
		close: func() { unix.Close(fd) }}, nil
}

// unshareWorkload calls unshare(0): no namespace, the syscall only.
func unshareWorkload() (workload, error) {
	return workload{run: loop(func() error { return raw(unix.SYS_UNSHARE, 0) }), close: func() {}}, nil
}

// mountWorkload mounts and unmounts a tmpfs in a mount namespace of the
// loop's own (set up before measuring).
func mountWorkload() (workload, error) {
	if err := raw(unix.SYS_UNSHARE, unix.CLONE_NEWNS); err != nil {
		return workload{}, fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return workload{}, err
	}
	d, clean, err := tempDir()
	if err != nil {
		return workload{}, err
	}
	src, target, fstype := cpath("vigil-bench"), cpath(d), cpath("tmpfs")
	return workload{run: loop(func() error {
		return firstErr(raw(unix.SYS_MOUNT, src, target, fstype, 0, 0), raw(unix.SYS_UMOUNT2, target, 0))
	}), close: clean}, nil
}

// bpfWorkload creates a one-entry array map and closes it
// (BPF_MAP_CREATE is a reported command).
func bpfWorkload() (workload, error) {
	var attr [72]byte
	le := func(off int, v uint32) { *(*uint32)(unsafe.Pointer(&attr[off])) = v }
	le(0, 2) // BPF_MAP_TYPE_ARRAY
	le(4, 4) // key size
	le(8, 4) // value size
	le(12, 1)
	return workload{run: loop(func() error {
		fd, _, e := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
		if e != 0 {
			return e
		}
		return syscall.Close(int(fd))
	}), close: func() {}}, nil
}

// dupWorkload puts a connected TCP socket on this process's stdin over
// and over (dup2 onto fd 0: a reported pattern).
func dupWorkload() (workload, error) {
	lfd, cfd, err := tcpPair()
	if err != nil {
		return workload{}, err
	}
	saved, err := unix.Dup(0)
	if err != nil {
		return workload{}, err
	}
	return workload{run: loop(func() error { return raw(unix.SYS_DUP2, uintptr(cfd), 0) }), close: func() {
		unix.Dup2(saved, 0)
		unix.Close(cfd)
		unix.Close(lfd)
	}}, nil
}

// listenWorkload calls listen on a bound socket repeatedly (each call sets
// the backlog again).
func listenWorkload() (workload, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return workload{}, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return workload{}, err
	}
	return workload{run: loop(func() error { return raw(unix.SYS_LISTEN, uintptr(fd), 16) }), close: func() { unix.Close(fd) }}, nil
}

// tcpPair returns a listener and a client socket connected to it over
// loopback.
func tcpPair() (int, int, error) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err := unix.Listen(lfd, 1); err != nil {
		return -1, -1, err
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		return -1, -1, err
	}
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Connect(cfd, sa); err != nil {
		return -1, -1, err
	}
	return lfd, cfd, nil
}
