package bpf

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// The capability sets the helper's thread gives itself before it opens
// a file (capset(2) applies to the calling thread only).
const (
	capsEff = 1<<unix.CAP_CHOWN | 1<<unix.CAP_NET_RAW
	capsPrm = capsEff | 1<<unix.CAP_SETUID
	capsInh = 1 << unix.CAP_NET_RAW
)

func init() {
	sysHelpers["capset"] = func(path string) (helperResult, error) {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{{Effective: capsEff, Permitted: capsPrm, Inheritable: capsInh}}
		r := sc(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])))
		fd := sc(unix.SYS_OPENAT, 0, cstr(path), unix.O_RDONLY) // path is absolute
		return helperResult{FDs: []int{r, fd}}, nil
	}
}

// Every event carries the thread's three capability sets as they are at
// the event.
func TestLiveCapabilitySets(t *testing.T) {
	c := live(t)
	marker := tempDir(t) + "/caps"
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res, pid := runHelperCmd(t, "capset", marker)
	if res.FDs[0] != 0 || res.FDs[1] < 0 {
		t.Fatalf("capset %d, open %d", res.FDs[0], res.FDs[1])
	}
	ev := c.waitFor(t, "the open after capset", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Proc.PID == uint32(pid) && e.File.Path == marker
	})
	for name, want := range map[string][]string{
		"proc.cap_effective":   {"CAP_CHOWN", "CAP_NET_RAW"},
		"proc.cap_permitted":   {"CAP_CHOWN", "CAP_SETUID", "CAP_NET_RAW"},
		"proc.cap_inheritable": {"CAP_NET_RAW"},
	} {
		f, _ := event.FieldByName(name)
		if got := f.Strs(ev); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
