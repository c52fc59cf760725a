package bpf

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// What an fd's record says it is.
func TestStdioOf(t *testing.T) {
	chr := func(major, minor uint32) Stdio {
		return Stdio{Open: true, Mode: sIFCHR, Ino: 5, Rdev: major<<20 | minor}
	}
	v6 := Stdio{Open: true, Mode: sIFSOCK, Ino: 8, Family: afInet6, Protocol: 6, DPort: 443}
	v6.DAddr[15] = 1
	cases := []struct {
		in   Stdio
		want event.Stdio
	}{
		{Stdio{}, event.Stdio{Type: "none"}},
		{chr(136, 0), event.Stdio{Type: "tty", Ino: 5}},
		{chr(143, 1<<19), event.Stdio{Type: "tty", Ino: 5}},
		{chr(4, 64), event.Stdio{Type: "tty", Ino: 5}}, // ttyS0
		{chr(5, 0), event.Stdio{Type: "tty", Ino: 5}},  // /dev/tty
		{chr(5, 1), event.Stdio{Type: "tty", Ino: 5}},  // /dev/console
		{chr(5, 2), event.Stdio{Type: "char", Ino: 5}}, // /dev/ptmx
		{chr(1, 3), event.Stdio{Type: "char", Ino: 5}}, // /dev/null
		{chr(144, 0), event.Stdio{Type: "char", Ino: 5}},
		{Stdio{Open: true, Mode: 0o060000, Ino: 6, Rdev: 8 << 20}, event.Stdio{Type: "other", Ino: 6}}, // a block device
		{Stdio{Open: true, Ino: 7}, event.Stdio{Type: "other", Ino: 7}},                                // an anonymous inode
		{Stdio{Open: true, Mode: sIFIFO, Ino: 9}, event.Stdio{Type: "pipe", Ino: 9}},
		{Stdio{Open: true, Mode: sIFREG, Ino: 10}, event.Stdio{Type: "file", Ino: 10}},
		{Stdio{Open: true, Mode: sIFDIR, Ino: 11}, event.Stdio{Type: "dir", Ino: 11}},
		{Stdio{Open: true, Mode: sIFSOCK, Ino: 12, Family: afInet, Protocol: 6, DPort: 4444, DAddr: [16]byte{1, 2, 3, 4}}, event.Stdio{Type: "socket", Ino: 12, Peer: "1.2.3.4:4444"}},
		{v6, event.Stdio{Type: "socket", Ino: 8, Peer: "[::1]:443"}},
		{Stdio{Open: true, Mode: sIFSOCK, Ino: 13, Family: afInet, Protocol: 6}, event.Stdio{Type: "socket", Ino: 13}}, // unconnected
		{Stdio{Open: true, Mode: sIFSOCK, Ino: 14, Family: afUnix}, event.Stdio{Type: "socket", Ino: 14}},
	}
	for _, c := range cases {
		if got := stdioOf(&c.in); got != c.want {
			t.Errorf("stdioOf(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
