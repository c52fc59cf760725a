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
	// What a credential thief reads: a child's (sleep's) /proc/PID/NAME
	// (NAME: the argument, environ or mem) by its pid, then its own, as
	// /proc/self and by its own pid; for mem, last, the child's again for
	// writing, as an injector does. Detail is the child's pid.
	sysHelpers["proc-opens"] = func(name string) (helperResult, error) {
		child := exec.Command("sleep", "30")
		if err := child.Start(); err != nil {
			return helperResult{}, err
		}
		defer func() { child.Process.Kill(); child.Wait() }()
		theirs := fmt.Sprintf("/proc/%d/%s", child.Process.Pid, name)
		type open struct {
			path  string
			flags int
		}
		opens := []open{
			{theirs, unix.O_RDONLY},
			{"/proc/self/" + name, unix.O_RDONLY},
			{fmt.Sprintf("/proc/%d/%s", os.Getpid(), name), unix.O_RDONLY},
		}
		if name == "mem" {
			opens = append(opens, open{theirs, unix.O_RDWR})
		}
		var out []int
		for _, o := range opens {
			fd, err := unix.Open(o.path, o.flags, 0)
			if err != nil {
				return helperResult{}, fmt.Errorf("open %s: %w", o.path, err)
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
	res, pid := runHelperCmd(t, "proc-opens", "environ")
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
