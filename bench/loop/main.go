// Command loop repeats one system call pattern (open, exec or connect) and
// prints the CPU time it cost per operation as one JSON line on stdout.
// bench/run.sh runs it with and without vigil to measure vigil's overhead.
//
// CPU time comes from getrusage, so it includes the kernel work done in the
// calling thread's context: BPF programs attached to syscall tracepoints run
// there, and that is the cost this tool exists to measure.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// result is the JSON line printed on success. Times cover the measured
// iterations only, not setup or warm-up.
type result struct {
	Op          string  `json:"op"`
	N           int     `json:"n"`
	CPUNsPerOp  float64 `json:"cpu_ns_per_op"`
	WallNsPerOp float64 `json:"wall_ns_per_op"`
	UserNs      int64   `json:"user_ns"`
	SysNs       int64   `json:"sys_ns"`
}

// workload runs the operation n times. Children reports whether the cost
// lands in waited-for child processes (RUSAGE_CHILDREN) as well.
type workload struct {
	run      func(n int) error
	children bool
	close    func()
}

func main() { os.Exit(run()) }

func run() int {
	op := flag.String("op", "", "operation to repeat: open, exec or connect")
	n := flag.Int("n", 100000, "measured iterations")
	warmup := flag.Int("warmup", -1, "unmeasured iterations before measuring (default n/10)")
	path := flag.String("path", "", "file opened by -op open (default: a new temporary file)")
	bin := flag.String("bin", "/bin/true", "program started by -op exec")
	flag.Parse()
	if *n <= 0 {
		fmt.Fprintln(os.Stderr, "loop: -n must be positive")
		return 2
	}
	if *warmup < 0 {
		*warmup = *n / 10
	}

	// One thread running the loop, and no other goroutine competing with it,
	// keeps the measurement free of scheduler noise.
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()

	var w workload
	var err error
	switch *op {
	case "open":
		w, err = openWorkload(*path)
	case "exec":
		w, err = execWorkload(*bin)
	case "connect":
		w, err = connectWorkload()
	default:
		mk, ok := sysWorkloads[*op]
		if !ok {
			fmt.Fprintf(os.Stderr, "loop: unknown -op %q (want open, exec, connect, or one of %s)\n", *op, strings.Join(slices.Sorted(maps.Keys(sysWorkloads)), ", "))
			return 2
		}
		w, err = mk()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loop: set up %s: %v\n", *op, err)
		return 1
	}
	defer w.close()

	res, err := measure(*op, w, *n, *warmup)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loop: %s: %v\n", *op, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "loop: write result: %v\n", err)
		return 1
	}
	return 0
}

func measure(op string, w workload, n, warmup int) (result, error) {
	if err := w.run(warmup); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}
	user0, sys0, err := cpuTimes(w.children)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	if err := w.run(n); err != nil {
		return result{}, err
	}
	wall := time.Since(start)
	user1, sys1, err := cpuTimes(w.children)
	if err != nil {
		return result{}, err
	}
	user, sys := user1-user0, sys1-sys0
	return result{
		Op:          op,
		N:           n,
		CPUNsPerOp:  perOp(user+sys, n),
		WallNsPerOp: perOp(wall.Nanoseconds(), n),
		UserNs:      user,
		SysNs:       sys,
	}, nil
}

// cpuTimes returns the user and system time used so far by this process and,
// if children is set, by its waited-for children too.
func cpuTimes(children bool) (user, sys int64, err error) {
	who := []int{syscall.RUSAGE_SELF}
	if children {
		who = append(who, syscall.RUSAGE_CHILDREN)
	}
	for _, w := range who {
		var ru syscall.Rusage
		if err := syscall.Getrusage(w, &ru); err != nil {
			return 0, 0, fmt.Errorf("getrusage: %w", err)
		}
		user += ru.Utime.Nano()
		sys += ru.Stime.Nano()
	}
	return user, sys, nil
}

func perOp(ns int64, n int) float64 {
	return math.Round(float64(ns)/float64(n)*10) / 10
}

// openWorkload opens and closes one existing file. It calls syscall.Open
// rather than os.Open so the loop is two system calls and nothing else.
func openWorkload(path string) (workload, error) {
	cleanup := func() {}
	if path == "" {
		f, err := os.CreateTemp("", "vigil-bench-open-*")
		if err != nil {
			return workload{}, err
		}
		f.Close()
		path = f.Name()
		cleanup = func() { os.Remove(path) }
	}
	run := func(n int) error {
		for range n {
			fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", path, err)
			}
			syscall.Close(fd)
		}
		return nil
	}
	return workload{run: run, close: cleanup}, nil
}

// execWorkload starts bin with stdio on /dev/null and waits for it, so the
// child's exec and exit show up in RUSAGE_CHILDREN.
func execWorkload(bin string) (workload, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return workload{}, err
	}
	fd := devnull.Fd()
	attr := &syscall.ProcAttr{Files: []uintptr{fd, fd, fd}}
	argv := []string{bin}
	run := func(n int) error {
		for range n {
			pid, err := syscall.ForkExec(bin, argv, attr)
			if err != nil {
				return fmt.Errorf("start %s: %w", bin, err)
			}
			var ws syscall.WaitStatus
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
				return fmt.Errorf("wait for %s: %w", bin, err)
			}
			if !ws.Exited() || ws.ExitStatus() != 0 {
				return fmt.Errorf("%s did not exit cleanly: status %#x", bin, uint32(ws))
			}
		}
		return nil
	}
	return workload{run: run, children: true, close: func() { devnull.Close() }}, nil
}

// connectWorkload connects a TCP socket to a listener on 127.0.0.1 in this
// process, accepts the connection on the same thread and closes both ends.
// The client closes first with SO_LINGER 0, which sends a reset: neither end
// enters TIME_WAIT, so any number of iterations fit in the ephemeral port
// range. On loopback the handshake completes inside connect, so the server
// side's kernel work is charged to this thread as well.
func connectWorkload() (workload, error) {
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return workload{}, fmt.Errorf("listener socket: %w", err)
	}
	closeListener := func() { syscall.Close(lfd) }
	loopback := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(lfd, loopback); err != nil {
		closeListener()
		return workload{}, fmt.Errorf("bind: %w", err)
	}
	if err := syscall.Listen(lfd, syscall.SOMAXCONN); err != nil {
		closeListener()
		return workload{}, fmt.Errorf("listen: %w", err)
	}
	addr, err := syscall.Getsockname(lfd)
	if err != nil {
		closeListener()
		return workload{}, fmt.Errorf("getsockname: %w", err)
	}
	reset := &syscall.Linger{Onoff: 1, Linger: 0}
	run := func(n int) error {
		for range n {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, reset); err != nil {
				syscall.Close(fd)
				return fmt.Errorf("set SO_LINGER: %w", err)
			}
			if err := syscall.Connect(fd, addr); err != nil {
				syscall.Close(fd)
				return fmt.Errorf("connect: %w", err)
			}
			afd, err := accept(lfd)
			syscall.Close(fd)
			if err != nil {
				return fmt.Errorf("accept: %w", err)
			}
			syscall.Close(afd)
		}
		return nil
	}
	return workload{run: run, close: closeListener}, nil
}

// accept calls accept4 without asking for the peer address, which
// syscall.Accept4 would allocate on every call.
func accept(lfd int) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
