package bpf

import (
	"reflect"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func init() {
	// prctl(2), raw, on one thread: the thread renames itself as a kernel
	// worker would be named, then PR_SET_DUMPABLE with a value it takes
	// (1) and one it refuses (7: EINVAL), then PR_SET_PTRACER 0 (no
	// tracer; EINVAL without Yama), an option with a magic number, and
	// PR_SET_DUMPABLE 1 again with garbage in the option's upper 32 bits,
	// which the kernel ignores (the option is an int).
	sysHelpers["prctl"] = func(string) (helperResult, error) {
		runtime.LockOSThread()
		return helperResult{FDs: []int{
			sc(unix.SYS_PRCTL, unix.PR_SET_NAME, cstr("kworker/0:1")),
			sc(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1),
			sc(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 7),
			sc(unix.SYS_PRCTL, unix.PR_SET_PTRACER, 0),
			sc(unix.SYS_PRCTL, 1<<32|unix.PR_SET_DUMPABLE, 1),
		}}, nil
	}
}

// prctlCalls are the option, second argument (0 for PR_SET_NAME's
// address), name and result of each prctl event of pid, once it exited.
// The Go runtime's own PR_SET_VMA calls (it names its heap mappings) are
// left out.
func prctlCalls(t *testing.T, c *collector, pid int) [][4]any {
	t.Helper()
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	opt, _ := event.FieldByName("prctl.option")
	var out [][4]any
	for _, ev := range c.all(byPID(pid, event.TypePrctl)) {
		if ev.Prctl.Option == prSetVMA {
			continue
		}
		if ev.Syscall != "prctl" {
			t.Errorf("evt.syscall %q, want prctl", ev.Syscall)
		}
		arg2 := ev.Prctl.Arg2
		if ev.Prctl.Option == unix.PR_SET_NAME {
			arg2 = 0
		}
		out = append(out, [4]any{opt.Str(ev), arg2, ev.Prctl.Name, ev.Res})
	}
	return out
}

// Each prctl(2) call is an event with its option, argument and result;
// PR_SET_NAME's carries the new name.
func TestPrctlFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "prctl", "")
	ptracer := prctlPtracerResult(t, res)
	wantRes(t, res, 0, 0, -int(unix.EINVAL), ptracer, 0)
	want := [][4]any{
		{"PR_SET_NAME", uint64(0), "kworker/0:1", int64(0)},
		{"PR_SET_DUMPABLE", uint64(1), "", int64(0)},
		{"PR_SET_DUMPABLE", uint64(7), "", -int64(unix.EINVAL)},
		{"PR_SET_PTRACER", uint64(0), "", int64(ptracer)},
		{"PR_SET_DUMPABLE", uint64(1), "", int64(0)},
	}
	if got := prctlCalls(t, c, pid); !reflect.DeepEqual(got, want) {
		t.Errorf("prctl events (option, arg2, name, res):\n got %v\nwant %v", got, want)
	}
}

// prctlPtracerResult is what PR_SET_PTRACER returned to the helper: 0
// with the Yama LSM, -EINVAL without it.
func prctlPtracerResult(t *testing.T, res helperResult) int {
	t.Helper()
	if len(res.FDs) != 5 || (res.FDs[3] != 0 && res.FDs[3] != -int(unix.EINVAL)) {
		t.Fatalf("helper results %v, want 5 with PR_SET_PTRACER's 0 or -EINVAL fourth", res.FDs)
	}
	return res.FDs[3]
}

// The option filter drops, in the kernel, the options no rule names, and
// counts them: only the PR_SET_DUMPABLE calls get through (the one with
// upper bits in its option too), and PR_SET_PTRACER (its bit is not its
// number) once it alone is named.
func TestPrctlOptionFilter(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	if err := c.probes.SetArgFilter(plan.ArgFilter{PrctlOptions: []uint32{unix.PR_SET_DUMPABLE}}); err != nil {
		t.Fatal(err)
	}
	before, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	_, pid := runHelperCmd(t, "prctl", "")
	want := [][4]any{
		{"PR_SET_DUMPABLE", uint64(1), "", int64(0)},
		{"PR_SET_DUMPABLE", uint64(7), "", -int64(unix.EINVAL)},
		{"PR_SET_DUMPABLE", uint64(1), "", int64(0)},
	}
	if got := prctlCalls(t, c, pid); !reflect.DeepEqual(got, want) {
		t.Errorf("prctl events with the filter on (option, arg2, name, res):\n got %v\nwant %v", got, want)
	}
	after, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	if got := after[event.TypePrctl] - before[event.TypePrctl]; got < 2 {
		t.Errorf("filtered prctl: %d more, want at least 2 (PR_SET_NAME, PR_SET_PTRACER)", got)
	}
	if err := c.probes.SetArgFilter(plan.ArgFilter{PrctlOptions: []uint32{unix.PR_SET_PTRACER}}); err != nil {
		t.Fatal(err)
	}
	res, pid := runHelperCmd(t, "prctl", "")
	ptracer := prctlPtracerResult(t, res)
	if got, want := prctlCalls(t, c, pid), [][4]any{{"PR_SET_PTRACER", uint64(0), "", int64(ptracer)}}; !reflect.DeepEqual(got, want) {
		t.Errorf("prctl events with PR_SET_PTRACER named:\n got %v\nwant %v", got, want)
	}
	// Off again: PR_SET_NAME is reported.
	if err := c.probes.SetArgFilter(plan.ArgFilter{}); err != nil {
		t.Fatal(err)
	}
	_, pid = runHelperCmd(t, "prctl", "")
	if got := prctlCalls(t, c, pid); len(got) != 5 || got[0][0] != "PR_SET_NAME" {
		t.Errorf("prctl events with the filter off: %v, want the five calls", got)
	}
}
