package main

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loops of issue 15's syscalls. ioctl and fcntl also run with commands
// no rule can ask for (FIONREAD, F_GETFL): what every other call of these
// hot syscalls pays for the programs' early return.

// fileWorkload runs f on a file of its own in a temporary directory.
func fileWorkload(f func(path uintptr, fd int) error) (workload, error) {
	d, clean, err := tempDir()
	if err != nil {
		return workload{}, err
	}
	p := filepath.Join(d, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		clean()
		return workload{}, err
	}
	fd, err := unix.Open(p, unix.O_RDWR, 0)
	if err != nil {
		clean()
		return workload{}, err
	}
	pp := cpath(p)
	return workload{run: loop(func() error { return f(pp, fd) }), close: func() { unix.Close(fd); clean() }}, nil
}

func truncateWorkload() (workload, error) {
	return fileWorkload(func(p uintptr, _ int) error { return raw(unix.SYS_TRUNCATE, p, 0) })
}

func chownWorkload() (workload, error) {
	return fileWorkload(func(p uintptr, _ int) error { return raw(unix.SYS_CHOWN, p, 0, 0) })
}

func utimesWorkload() (workload, error) {
	// utimensat(AT_FDCWD, path, NULL, 0): "now", as touch does.
	at := unix.AT_FDCWD
	return fileWorkload(func(p uintptr, _ int) error { return raw(unix.SYS_UTIMENSAT, uintptr(at), p, 0, 0) })
}

func xattrWorkload() (workload, error) {
	name, val := cpath("user.vigil"), []byte("x")
	return fileWorkload(func(p uintptr, _ int) error {
		return raw(unix.SYS_SETXATTR, p, name, uintptr(unsafe.Pointer(&val[0])), 1, 0)
	})
}

// chattrWorkload sets a file's flags to what they are (FS_IOC_SETFLAGS).
func chattrWorkload() (workload, error) {
	var flags int32
	return fileWorkload(func(_ uintptr, fd int) error {
		if err := raw(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_GETFLAGS, uintptr(unsafe.Pointer(&flags))); err != nil {
			return fmt.Errorf("FS_IOC_GETFLAGS: %w", err)
		}
		return raw(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_SETFLAGS, uintptr(unsafe.Pointer(&flags)))
	})
}

// ioctlWorkload: FIONREAD (TIOCINQ) on a pipe, a command the chattr program skips.
func ioctlWorkload() (workload, error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return workload{}, err
	}
	var n int32
	return workload{run: loop(func() error {
		return raw(unix.SYS_IOCTL, uintptr(p[0]), unix.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}), close: func() { unix.Close(p[0]); unix.Close(p[1]) }}, nil
}

// fcntlWorkload: F_GETFL, a command the dup program skips.
func fcntlWorkload() (workload, error) {
	return fileWorkload(func(_ uintptr, fd int) error {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		return err
	})
}

// prctlWorkload: PR_GET_NAME, an option no built-in rule names.
func prctlWorkload() (workload, error) {
	var name [16]byte
	return workload{run: loop(func() error {
		return raw(unix.SYS_PRCTL, unix.PR_GET_NAME, uintptr(unsafe.Pointer(&name[0])))
	}), close: func() {}}, nil
}

// processVMWorkload reads a word of its own memory.
func processVMWorkload() (workload, error) {
	src, dst := make([]byte, 8), make([]byte, 8)
	local := []unix.Iovec{{Base: &dst[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&src[0])), Len: 8}}
	pid := os.Getpid()
	return workload{run: loop(func() error {
		_, err := unix.ProcessVMReadv(pid, local, remote, 0)
		return err
	}), close: func() {}}, nil
}

// socketWorkload opens and closes a UDP socket.
func socketWorkload() (workload, error) {
	return workload{run: loop(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}), close: func() {}}, nil
}
