package falco

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoNumbers maps Linux's error names (ENOENT) to their numbers, as
// Falco's evt.res renders a failed syscall.
var errnoNumbers = func() map[string]int64 {
	m := map[string]int64{}
	for e := syscall.Errno(1); e < 4096; e++ {
		if name := unix.ErrnoName(e); name != "" {
			m[name] = int64(e)
		}
	}
	// Aliases the table names once.
	m["EWOULDBLOCK"], m["EDEADLOCK"], m["ENOTSUP"] = m["EAGAIN"], m["EDEADLK"], m["EOPNOTSUPP"]
	return m
}()

func errnoNumber(name string) (int64, bool) {
	n, ok := errnoNumbers[name]
	return n, ok
}

// errnoList is every error number that has a name, in increasing order.
func errnoList() []int64 {
	var out []int64
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) != "" {
			out = append(out, int64(e))
		}
	}
	return out
}
