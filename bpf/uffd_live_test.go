package bpf

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// uffdUserModeOnly is UFFD_USER_MODE_ONLY.
const uffdUserModeOnly = 1

func init() {
	// userfaultfd(2), raw: user-mode faults only, then a flag it does not
	// know (EINVAL).
	sysHelpers["userfaultfd"] = func(string) (helperResult, error) {
		runtime.LockOSThread()
		return helperResult{FDs: []int{
			sc(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|uffdUserModeOnly),
			sc(unix.SYS_USERFAULTFD, 0x10),
		}}, nil
	}
}

// Each userfaultfd(2) call is an event with its flags and result.
func TestUserfaultfdFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "userfaultfd", "")
	if len(res.FDs) != 2 || res.FDs[0] < 0 || res.FDs[1] != -int(unix.EINVAL) {
		t.Fatalf("helper results %v, want an fd and -EINVAL", res.FDs)
	}
	mode, _ := event.FieldByName("userfaultfd.user_mode_only")
	for i, ev := range c.waitN(t, "userfaultfd calls", 2, byPID(pid, event.TypeUserfaultfd)) {
		wantFlags := []uint32{unix.O_CLOEXEC | uffdUserModeOnly, 0x10}[i]
		if ev.Uffd.Flags != wantFlags || ev.Res != int64(res.FDs[i]) || ev.Syscall != "userfaultfd" || mode.Bool(ev) != (i == 0) {
			t.Errorf("call %d: flags %#x res %d syscall %q user_mode_only %v; want %#x res %d", i, ev.Uffd.Flags, ev.Res, ev.Syscall, mode.Bool(ev), wantFlags, res.FDs[i])
		}
	}
}
