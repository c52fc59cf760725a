package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

func init() {
	// What a credential thief reads: a child's (sleep's) environment by
	// its pid, then its own, as /proc/self and by its own pid. Detail is
	// the child's pid.
	sysHelpers["proc-opens"] = func(string) (helperResult, error) {
		child := exec.Command("sleep", "30")
		if err := child.Start(); err != nil {
			return helperResult{}, err
		}
		defer func() { child.Process.Kill(); child.Wait() }()
		var out []int
		for _, p := range []string{
			fmt.Sprintf("/proc/%d/environ", child.Process.Pid),
			"/proc/self/environ",
			fmt.Sprintf("/proc/%d/environ", os.Getpid()),
		} {
			fd, err := unix.Open(p, unix.O_RDONLY, 0)
			if err != nil {
				return helperResult{}, fmt.Errorf("open %s: %w", p, err)
			}
			out = append(out, fd)
		}
		return helperResult{FDs: out, Detail: strconv.Itoa(child.Process.Pid)}, nil
	}
}

// file.proc_pid and file.proc_other on real opens: another process's
// /proc/PID/environ is "other", the process's own (by /proc/self or by
// its pid) is not.
func TestProcPathFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "proc-opens", "")
	n, err := strconv.Atoi(res.Detail)
	if err != nil {
		t.Fatal(err)
	}
	child := uint64(n)
	want := map[string][2]any{
		fmt.Sprintf("/proc/%d/environ", child): {child, true},
		"/proc/self/environ":                   {uint64(pid), false},
		fmt.Sprintf("/proc/%d/environ", pid):   {uint64(pid), false},
	}
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	procPID, _ := event.FieldByName("file.proc_pid")
	other, _ := event.FieldByName("file.proc_other")
	got := map[string][2]any{}
	for _, ev := range c.all(byPID(pid, event.TypeOpen)) {
		if _, ok := want[ev.File.Path]; ok {
			got[ev.File.Path] = [2]any{procPID.Uint(ev), other.Bool(ev)}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("opens (file.proc_pid, file.proc_other):\n got %v\nwant %v", got, want)
	}
}
