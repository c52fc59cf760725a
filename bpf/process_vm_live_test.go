package bpf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

func init() {
	// Another process's memory, as an injector reads it: start a child
	// (sleep), read 16 bytes at the start of its first mapping (its ELF
	// header) with process_vm_readv, then process_vm_writev to a pid that
	// cannot exist (pid_max: ESRCH). Detail is the child's pid.
	sysHelpers["process-vm"] = func(string) (helperResult, error) {
		child := exec.Command("sleep", "30")
		if err := child.Start(); err != nil {
			return helperResult{}, err
		}
		defer func() { child.Process.Kill(); child.Wait() }()
		pid := child.Process.Pid
		// Start returns once the exec closed the child's close-on-exec
		// files, before the kernel's exec tracepoint: wait until sleep
		// sleeps, so that its exec record is in the ring before ours.
		if err := waitSleeping(pid); err != nil {
			return helperResult{}, err
		}
		addr, err := firstMapping(pid)
		if err != nil {
			return helperResult{}, err
		}
		buf := make([]byte, 16)
		local := []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}}
		remote := []unix.RemoteIovec{{Base: addr, Len: len(buf)}}
		n, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if err != nil {
			return helperResult{}, fmt.Errorf("process_vm_readv: %w", err)
		}
		if !bytes.HasPrefix(buf, []byte("\x7fELF")) {
			return helperResult{}, fmt.Errorf("read %q at %#x, not an ELF header", buf, addr)
		}
		none, err := pidMax()
		if err != nil {
			return helperResult{}, err
		}
		w := sc(unix.SYS_PROCESS_VM_WRITEV, uintptr(none), uintptr(unsafe.Pointer(&local[0])), 1, uintptr(unsafe.Pointer(&remote[0])), 1, 0)
		return helperResult{FDs: []int{n, w, none}, Detail: strconv.Itoa(pid)}, nil
	}
}

// waitSleeping waits up to 5 s for pid to be in nanosleep or
// clock_nanosleep (/proc/PID/syscall, x86-64 numbers).
func waitSleeping(pid int) error {
	for range 500 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		if nr, _, _ := strings.Cut(string(b), " "); nr == strconv.Itoa(unix.SYS_NANOSLEEP) || nr == strconv.Itoa(unix.SYS_CLOCK_NANOSLEEP) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("pid %d never slept", pid)
}

// firstMapping is the start address of pid's first memory mapping.
func firstMapping(pid int) (uintptr, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, err
	}
	start, _, _ := strings.Cut(string(b), "-")
	a, err := strconv.ParseUint(start, 16, 64)
	return uintptr(a), err
}

// pidMax is /proc/sys/kernel/pid_max: one past the largest pid.
func pidMax() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Each process_vm_readv/writev call is an event with the pid passed, the
// direction, the target's name and exe from the process table (none for a
// pid that does not exist) and the bytes moved or -errno.
func TestProcessVMFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "process-vm", "")
	if len(res.FDs) != 3 || res.FDs[0] != 16 || res.FDs[1] != -int(unix.ESRCH) {
		t.Fatalf("helper results %v, want 16 bytes read, -ESRCH and pid_max", res.FDs)
	}
	child, err := strconv.Atoi(res.Detail)
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	sleepExe := realpath(t, sleep) // the exe the kernel names: /usr/bin/sleep on a merged /usr
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	fields := []string{"evt.syscall", "evt.res", "process_vm.pid", "process_vm.write", "process_vm.target_name", "process_vm.target_exe"}
	var got [][]any
	for _, ev := range c.all(byPID(pid, event.TypeProcessVM)) {
		var row []any
		for _, name := range fields {
			f, _ := event.FieldByName(name)
			switch f.Kind {
			case event.KindInt:
				row = append(row, f.Int(ev))
			case event.KindUint:
				row = append(row, f.Uint(ev))
			case event.KindBool:
				row = append(row, f.Bool(ev))
			default:
				row = append(row, f.Str(ev))
			}
		}
		got = append(got, row)
	}
	want := [][]any{
		{"process_vm_readv", int64(16), uint64(child), false, "sleep", sleepExe},
		{"process_vm_writev", -int64(unix.ESRCH), uint64(res.FDs[2]), true, "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("process_vm events %v:\n got %v\nwant %v", fields, got, want)
	}
}
