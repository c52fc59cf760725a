package falco

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoNumbers maps Linux's error names (ENOENT) to their numbers, as
// Falco's evt.res renders a failed syscall; the aliases (EWOULDBLOCK for
// EAGAIN, ...) too.
var errnoNumbers = func() map[string]int64 {
	m := map[string]int64{}
	for _, n := range errnoList() {
		m[errnoName(n)] = n
	}
	for alias, of := range map[string]string{"EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK", "ENOTSUP": "EOPNOTSUPP"} {
		if n, ok := m[of]; ok {
			if _, taken := m[alias]; !taken {
				m[alias] = n
			}
		} else if n, ok := m[alias]; ok {
			m[of] = n
		}
	}
	return m
}()

func errnoNumber(name string) (int64, bool) {
	n, ok := errnoNumbers[name]
	return n, ok
}

// errnoName is the name of error number n, as Falco renders it.
func errnoName(n int64) string { return unix.ErrnoName(syscall.Errno(n)) }

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
