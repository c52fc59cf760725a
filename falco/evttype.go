package falco

import (
	"slices"
	"sort"

	"github.com/vigil-project/vigil/engine/event"
)

// evtName is what one of Falco's event names (evt.type values) is in vigil:
// the vigil type, and the syscall (evt.syscall) when the type has several.
type evtName struct {
	t       event.Type
	syscall string // "" when the vigil type is exactly this Falco event
}

// falcoOnly are Falco event names whose vigil type has no evt.syscall of
// that name: the type is the event.
var falcoOnly = map[string]event.Type{
	// A successful execveat reaches Falco as execve: execveat is a
	// failed one, which vigil does not record (it is in lacking).
	"execve": event.TypeExec,
	"clone":  event.TypeFork, "clone3": event.TypeFork, "fork": event.TypeFork, "vfork": event.TypeFork,
	"procexit": event.TypeExit,
}

// lacking are Falco event names vigil has no event for (a rule that only
// they can match needs a kernel event vigil lacks). The list holds the
// syscalls and Falco events a rule file is likely to name; a name in
// neither table nor this one is an error, as in Falco.
var lacking = []string{
	"accept_unix", "execveat", "bind", "brk", "capset", "chdir", "chroot", "close", "copy_file_range",
	"epoll_create", "epoll_wait", "eventfd", "fchdir", "flock", "fsconfig",
	"fstat", "futex", "getcwd", "getdents", "getdents64", "getrlimit", "getsockopt", "inotify_init",
	"io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl", "kill", "lseek", "lstat",
	"mlock", "mmap", "mmap2", "mprotect", "munmap", "nanosleep", "newfstatat", "open_by_handle_at",
	"pipe", "pipe2", "pluginevent", "poll", "ppoll", "pread", "preadv", "prlimit",
	"pwrite", "pwritev", "quotactl", "read", "readv", "recvfrom", "recvmmsg", "recvmsg",
	"seccomp", "select", "semget", "semop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setpgid",
	"setrlimit", "setsid", "setsockopt", "shutdown", "signaldeliver", "signalfd", "socketpair",
	"splice", "stat", "switch", "tgkill", "timerfd_create", "tkill", "umount", "umount2",
	"write", "writev", "container", "notification", "infra", "k8s", "mesos", "asyncevent", "page_fault",
}

// eventNames maps every Falco event name vigil has to its vigil event.
var eventNames = func() map[string]evtName {
	m := map[string]evtName{}
	for name, t := range falcoOnly {
		m[name] = evtName{t: t}
	}
	for _, t := range event.Types() {
		info := t.Info()
		if len(info.Syscalls) == 0 {
			continue
		}
		for _, sc := range info.Syscalls {
			if _, ok := m[sc.Name]; !ok {
				m[sc.Name] = evtName{t: t, syscall: sc.Name}
			}
		}
	}
	return m
}()

// eventSet is a set of Falco event names resolved against vigil: per vigil
// type, the syscalls named (nil: the whole type), and the names vigil
// lacks.
type eventSet struct {
	types   map[event.Type][]string
	whole   map[event.Type]bool
	lacking []string
}

// resolveEvents resolves names; unknown names it returns apart.
func resolveEvents(names []string) (s eventSet, unknown []string) {
	s.types, s.whole = map[event.Type][]string{}, map[event.Type]bool{}
	for _, n := range names {
		if e, ok := eventNames[n]; ok {
			if e.syscall == "" {
				s.whole[e.t] = true
			} else if !slices.Contains(s.types[e.t], e.syscall) {
				s.types[e.t] = append(s.types[e.t], e.syscall)
			}
			continue
		}
		if slices.Contains(lacking, n) {
			if !slices.Contains(s.lacking, n) {
				s.lacking = append(s.lacking, n)
			}
			continue
		}
		unknown = append(unknown, n)
	}
	// Every syscall of a type named: the type itself.
	for t, scs := range s.types {
		if len(scs) == len(t.Info().Syscalls) {
			s.whole[t] = true
		}
	}
	for t := range s.whole {
		delete(s.types, t)
	}
	return s, unknown
}

// empty reports whether no vigil event is named.
func (s eventSet) empty() bool { return len(s.types) == 0 && len(s.whole) == 0 }

// sorted returns the vigil types named, in tag order.
func (s eventSet) sorted() []event.Type {
	var out []event.Type
	for t := range s.whole {
		out = append(out, t)
	}
	for t := range s.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// knownEvent reports whether n is an event name Falco has.
func knownEvent(n string) bool {
	_, ok := eventNames[n]
	return ok || slices.Contains(lacking, n)
}
