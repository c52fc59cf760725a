package bpf

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

func init() {
	// The reverse shell's stdin by fcntl instead of dup2: connect to arg
	// (host:port), close fd 0, fcntl(sock, F_DUPFD, 0) -> 0; F_GETFL of the
	// socket (O_RDWR: 2, a result in 0..2 that is no duplicate); close 0
	// again, F_DUPFD_CLOEXEC -> 0; an F_DUPFD that lands above 2; then the
	// helper's own stdin back with dup2 (not a socket).
	sysHelpers["fcntl-dups"] = func(addr string) (helperResult, error) {
		c, f, err := dialSocket(addr)
		if err != nil {
			return helperResult{}, err
		}
		defer f.Close()
		s := f.Fd()
		saved := uintptr(sc(unix.SYS_DUP, 0))
		var out []int
		sc(unix.SYS_CLOSE, 0)
		out = append(out, sc(unix.SYS_FCNTL, s, unix.F_DUPFD, 0))
		out = append(out, sc(unix.SYS_FCNTL, s, unix.F_GETFL))
		sc(unix.SYS_CLOSE, 0)
		out = append(out, sc(unix.SYS_FCNTL, s, unix.F_DUPFD_CLOEXEC, 0))
		out = append(out, sc(unix.SYS_FCNTL, s, unix.F_DUPFD, 0))
		sc(unix.SYS_DUP2, saved, 0)
		return helperResult{FDs: out, Local: c.LocalAddr().String()}, nil
	}
}

// fcntl(F_DUPFD) and fcntl(F_DUPFD_CLOEXEC) of a socket onto fd 0 are dup
// events like dup2's; F_GETFL and a duplicate above 2 are not.
func TestFcntlDupSocketFields(t *testing.T) {
	c := live(t)
	l := acceptingListener(t)
	res, pid := runHelperCmd(t, "fcntl-dups", l.Addr().String())
	if len(res.FDs) != 4 || res.FDs[0] != 0 || res.FDs[1] != unix.O_RDWR || res.FDs[2] != 0 || res.FDs[3] <= 2 {
		t.Fatalf("helper results %v, want 0, O_RDWR (2), 0 and a descriptor above 2", res.FDs)
	}
	c.waitFor(t, "helper exit", byPID(pid, event.TypeExit))
	dups := c.all(byPID(pid, event.TypeDup))
	if len(dups) != 2 {
		t.Fatalf("%d dup events, want 2 (the two fcntl duplicates onto 0)", len(dups))
	}
	peer := netip.MustParseAddrPort(l.Addr().String())
	local := netip.MustParseAddrPort(res.Local)
	for i, ev := range dups {
		n := ev.Net
		if ev.Res != 0 || ev.Syscall != "fcntl" || n.Family != "ipv4" || n.Proto != "tcp" || n.SockType != "stream" ||
			n.DIP != peer.Addr() || n.DPort != peer.Port() || n.SIP != local.Addr() || n.SPort != local.Port() {
			t.Errorf("dup %d (%s): res %d net %+v; want fcntl res 0, peer %s local %s", i, ev.Syscall, ev.Res, n, peer, local)
		}
	}
}
