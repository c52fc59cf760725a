package bpf

import (
	"reflect"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// ethPAll is htons(ETH_P_ALL), the protocol of a packet socket that
// receives every frame.
const ethPAll = 0x0300

func init() {
	// socket(2), raw: a packet socket, a non-blocking UDP socket, a unix
	// socket, and a type inet sockets do not have (ESOCKTNOSUPPORT).
	sysHelpers["sockets"] = func(string) (helperResult, error) {
		runtime.LockOSThread()
		var res helperResult
		for _, a := range [][3]uintptr{
			{unix.AF_PACKET, unix.SOCK_RAW | unix.SOCK_CLOEXEC, ethPAll},
			{unix.AF_INET, unix.SOCK_DGRAM | unix.SOCK_NONBLOCK, 0},
			{unix.AF_UNIX, unix.SOCK_STREAM, 0},
			{unix.AF_INET, 9, 0},
		} {
			res.FDs = append(res.FDs, sc(unix.SYS_SOCKET, a[0], a[1], a[2]))
		}
		return res, nil
	}
}

// Each socket(2) call is one event with its domain, type and protocol,
// by name where the kernel's constants have one.
func TestSocketFields(t *testing.T) {
	c := live(t)
	res, pid := runHelperCmd(t, "sockets", "")
	// A kernel with packet sockets in a module not loaded (the VM
	// matrix's) refuses the first: still an event, with its error.
	packetOK := res.FDs[0] >= 0 || res.FDs[0] == -int(unix.EAFNOSUPPORT)
	if len(res.FDs) != 4 || !packetOK || res.FDs[1] < 0 || res.FDs[2] < 0 || res.FDs[3] != -int(unix.ESOCKTNOSUPPORT) {
		t.Fatalf("helper results %v, want a packet socket (or -EAFNOSUPPORT), two fds and -ESOCKTNOSUPPORT", res.FDs)
	}
	evs := c.waitN(t, "socket calls", 4, byPID(pid, event.TypeSocket))
	field := func(ev *event.Event, name string) any {
		f, _ := event.FieldByName(name)
		if f.Kind == event.KindUint {
			return f.Uint(ev)
		}
		return f.Str(ev)
	}
	for i, want := range [][]any{
		{"AF_PACKET", "SOCK_RAW", uint64(ethPAll)},
		{"AF_INET", "SOCK_DGRAM", uint64(0)},
		{"AF_UNIX", "SOCK_STREAM", uint64(0)},
		{"AF_INET", "SOCK_9", uint64(0)},
	} {
		ev := evs[i]
		got := []any{field(ev, "socket.domain"), field(ev, "socket.type"), field(ev, "socket.protocol")}
		if !reflect.DeepEqual(got, want) || ev.Res != int64(res.FDs[i]) || ev.Syscall != "socket" {
			t.Errorf("socket %d: domain, type, protocol %v res %d syscall %q; want %v res %d socket", i, got, ev.Res, ev.Syscall, want, res.FDs[i])
		}
	}
	if got, want := evs[0].Socket.Type, uint32(unix.SOCK_RAW|unix.SOCK_CLOEXEC); got != want {
		t.Errorf("raw type %#x, want %#x (flags kept)", got, want)
	}
}
