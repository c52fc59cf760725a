package bpf

import (
	"reflect"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
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

// The socket filter drops, in the kernel, the (domain, type) pairs no
// rule can match, and counts them; the type's flags (SOCK_NONBLOCK) do
// not hide a pair.
func TestSocketFilter(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	types := make([]uint16, plan.SocketDomains)
	types[unix.AF_PACKET] = ^uint16(0)
	types[unix.AF_INET] = 1 << unix.SOCK_RAW
	if err := c.probes.SetArgFilter(plan.ArgFilter{SocketTypes: types}); err != nil {
		t.Fatal(err)
	}
	before, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	_, pid := runHelperCmd(t, "sockets", "")
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	domains := func() []string {
		var out []string
		for _, ev := range c.all(byPID(pid, event.TypeSocket)) {
			out = append(out, event.SockDomainName(ev.Socket.Domain)+" "+event.SockTypeName(ev.Socket.Type))
		}
		return out
	}
	if got, want := domains(), []string{"AF_PACKET SOCK_RAW"}; !reflect.DeepEqual(got, want) {
		t.Errorf("socket events with AF_PACKET and AF_INET SOCK_RAW admitted: %v, want %v", got, want)
	}
	after, err := c.probes.Filtered()
	if err != nil {
		t.Fatal(err)
	}
	if got := after[event.TypeSocket] - before[event.TypeSocket]; got < 3 {
		t.Errorf("filtered socket calls: %d more, want at least 3 (udp, unix, inet type 9)", got)
	}

	types[unix.AF_INET] = 1 << unix.SOCK_DGRAM
	if err := c.probes.SetArgFilter(plan.ArgFilter{SocketTypes: types}); err != nil {
		t.Fatal(err)
	}
	_, pid = runHelperCmd(t, "sockets", "")
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	if got, want := domains(), []string{"AF_PACKET SOCK_RAW", "AF_INET SOCK_DGRAM"}; !reflect.DeepEqual(got, want) {
		t.Errorf("socket events with AF_INET SOCK_DGRAM admitted: %v, want %v (the non-blocking UDP socket)", got, want)
	}

	if err := c.probes.SetArgFilter(plan.ArgFilter{}); err != nil {
		t.Fatal(err)
	}
	_, pid = runHelperCmd(t, "sockets", "")
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	if got := domains(); len(got) != 4 {
		t.Errorf("socket events with the filter off: %v, want all four", got)
	}
}
