package event

import (
	"net/netip"
	"time"
)

// Kind is the type of a field's value.
type Kind uint8

// Field kinds.
const (
	KindString Kind = iota
	KindInt
	KindUint
	KindBool
	KindTime
	KindStrings
	KindIP
	KindMap // map from string to string
)

func (k Kind) String() string {
	return [...]string{"string", "int", "uint", "bool", "timestamp", "list(string)", "ip", "map(string, string)"}[k]
}

// TypeSet is a set of event types.
type TypeSet uint32

// Has reports whether t is in the set.
func (s TypeSet) Has(t Type) bool { return s&(1<<t) != 0 }

func setOf(ts ...Type) TypeSet {
	var s TypeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// AllTypes is the set of every event type.
var AllTypes = setOf(Types()...)

// Field is one named field of the rule language. Exactly one of the
// accessors matching Kind is set.
type Field struct {
	Name  string
	Kind  Kind
	Desc  string
	Falco string  // the name a Falco user knows it by, when it differs
	Types TypeSet // the event types that carry it

	Str  func(*Event) string
	Int  func(*Event) int64
	Uint func(*Event) uint64
	Bool func(*Event) bool
	Time func(*Event) time.Time
	Strs func(*Event) []string
	IP   func(*Event) netip.Addr
	Map  func(*Event) map[string]string
}

var (
	procTypes = AllTypes
	fileTypes = setOf(TypeOpen, TypeUnlink, TypeMkdir) // the file a path names
	openTypes = setOf(TypeOpen)
	netTypes  = setOf(TypeConnect)
)

// Fields is the field table, in documentation order. It is the single
// source for `vigil rules fields`, the JSON event format and (later) the
// rule language's environment.
var Fields = []Field{
	{Name: "evt.type", Kind: KindString, Types: AllTypes, Desc: "event type: exec, fork, exit, open, connect", Str: func(e *Event) string { return e.Type.String() }},
	{Name: "evt.time", Kind: KindTime, Types: AllTypes, Desc: "when the event happened (wall clock, ns precision)", Time: func(e *Event) time.Time { return e.Time }},
	{Name: "evt.res", Kind: KindInt, Types: AllTypes, Desc: "syscall result (fd, 0 or -errno); exit code for exit", Falco: "evt.rawres", Int: func(e *Event) int64 { return e.Res }},
	{Name: "evt.failed", Kind: KindBool, Types: AllTypes, Desc: "the syscall returned an error", Bool: func(e *Event) bool { return e.Failed() }},
	{Name: "evt.source", Kind: KindString, Types: AllTypes, Desc: "kernel hook family that produced the event: tracepoint", Str: func(e *Event) string { return e.Source }},

	{Name: "proc.pid", Kind: KindUint, Types: procTypes, Desc: "process id (thread group id)", Uint: func(e *Event) uint64 { return uint64(e.Proc.PID) }},
	{Name: "proc.tid", Kind: KindUint, Types: procTypes, Desc: "thread id", Falco: "thread.tid", Uint: func(e *Event) uint64 { return uint64(e.TID) }},
	{Name: "proc.ppid", Kind: KindUint, Types: procTypes, Desc: "parent process id", Uint: func(e *Event) uint64 { return uint64(e.Proc.PPID) }},
	{Name: "proc.name", Kind: KindString, Types: procTypes, Desc: "command name (comm, at most 15 bytes)", Str: func(e *Event) string { return e.Proc.Name }},
	{Name: "proc.exe", Kind: KindString, Types: procTypes, Desc: "absolute path of the executable, as /proc/PID/exe shows it", Falco: "proc.exepath", Str: func(e *Event) string { return e.Proc.Exe }},
	{Name: "proc.args", Kind: KindStrings, Types: procTypes, Desc: "arguments without argv[0]", Strs: func(e *Event) []string { return e.Proc.Args() }},
	{Name: "proc.args_truncated", Kind: KindBool, Types: procTypes, Desc: "the kernel cut the argument list short", Bool: func(e *Event) bool { return e.Proc.ArgsTrunc }},
	{Name: "proc.cmdline", Kind: KindString, Types: procTypes, Desc: "proc.name followed by the arguments", Str: func(e *Event) string { return e.Proc.Cmdline }},
	{Name: "proc.cwd", Kind: KindString, Types: procTypes, Desc: "current working directory", Str: func(e *Event) string { return e.Proc.Cwd }},
	{Name: "proc.tty", Kind: KindUint, Types: procTypes, Desc: "controlling terminal (tty_nr), 0 if none", Uint: func(e *Event) uint64 { return uint64(e.Proc.TTY) }},
	{Name: "proc.uid", Kind: KindUint, Types: procTypes, Desc: "real user id at the event", Uint: func(e *Event) uint64 { return uint64(e.UID) }},
	{Name: "proc.gid", Kind: KindUint, Types: procTypes, Desc: "real group id at the event", Falco: "group.gid", Uint: func(e *Event) uint64 { return uint64(e.GID) }},
	{Name: "proc.euid", Kind: KindUint, Types: procTypes, Desc: "effective user id at the event", Uint: func(e *Event) uint64 { return uint64(e.EUID) }},
	{Name: "proc.start", Kind: KindTime, Types: procTypes, Desc: "when the process started", Time: func(e *Event) time.Time { return e.Proc.Start }},
	{Name: "proc.exe_memfd", Kind: KindBool, Types: procTypes, Desc: "the executable is a memfd (fileless execution)", Falco: "proc.is_exe_from_memfd", Bool: func(e *Event) bool { return e.Proc.ExeMemfd }},
	{Name: "proc.pname", Kind: KindString, Types: procTypes, Desc: "parent's command name; empty when unknown", Str: func(e *Event) string { return parentOf(e).Name }},
	{Name: "proc.pexe", Kind: KindString, Types: procTypes, Desc: "parent's executable path", Falco: "proc.pexepath", Str: func(e *Event) string { return parentOf(e).Exe }},
	{Name: "proc.pcmdline", Kind: KindString, Types: procTypes, Desc: "parent's command line", Str: func(e *Event) string { return parentOf(e).Cmdline }},
	{Name: "proc.ancestors", Kind: KindStrings, Types: procTypes, Desc: "names of the ancestors, nearest first (parent first)", Falco: "proc.aname[N]", Strs: func(e *Event) []string { return e.Proc.Ancestors }},
	{Name: "user.uid", Kind: KindUint, Types: procTypes, Desc: "user id (same as proc.uid)", Uint: func(e *Event) uint64 { return uint64(e.User.UID) }},
	{Name: "user.name", Kind: KindString, Types: procTypes, Desc: "user name from the host's passwd database", Str: func(e *Event) string { return e.User.Name }},

	{Name: "file.path", Kind: KindString, Types: fileTypes, Desc: "absolute, lexically normalised path", Falco: "fd.name", Str: func(e *Event) string { return e.File.Path }},
	{Name: "file.rawpath", Kind: KindString, Types: fileTypes, Desc: "path as passed to the syscall", Falco: "evt.arg.name", Str: func(e *Event) string { return e.File.RawPath }},
	{Name: "file.name", Kind: KindString, Types: fileTypes, Desc: "last element of file.path", Falco: "fd.filename", Str: func(e *Event) string { return e.File.Name() }},
	{Name: "file.dir", Kind: KindString, Types: fileTypes, Desc: "file.path without its last element", Falco: "fd.directory", Str: func(e *Event) string { return e.File.Dir() }},
	{Name: "file.flags", Kind: KindUint, Types: openTypes, Desc: "open flags (O_* bits)", Falco: "evt.arg.flags", Uint: func(e *Event) uint64 { return uint64(e.File.Flags) }},
	{Name: "file.mode", Kind: KindUint, Types: setOf(TypeOpen, TypeMkdir), Desc: "mode argument (permission bits used with O_CREAT, or of the new directory)", Falco: "evt.arg.mode", Uint: func(e *Event) uint64 { return uint64(e.File.Mode) }},
	{Name: "file.rmdir", Kind: KindBool, Types: setOf(TypeUnlink), Desc: "the unlink removed a directory (rmdir, or unlinkat with AT_REMOVEDIR)", Bool: func(e *Event) bool { return e.File.Flags&atRemoveDir != 0 }},
	{Name: "file.read", Kind: KindBool, Types: openTypes, Desc: "opened for reading", Falco: "evt.is_open_read", Bool: func(e *Event) bool { return e.File.Read() }},
	{Name: "file.write", Kind: KindBool, Types: openTypes, Desc: "opened for writing", Falco: "evt.is_open_write", Bool: func(e *Event) bool { return e.File.Write() }},
	{Name: "file.create", Kind: KindBool, Types: openTypes, Desc: "O_CREAT or O_TMPFILE", Bool: func(e *Event) bool { return e.File.Create() }},
	{Name: "file.trunc", Kind: KindBool, Types: openTypes, Desc: "O_TRUNC", Bool: func(e *Event) bool { return e.File.Trunc() }},

	{Name: "net.family", Kind: KindString, Types: netTypes, Desc: "address family: ipv4, ipv6, unix", Falco: "fd.sockfamily", Str: func(e *Event) string { return e.Net.Family }},
	{Name: "net.proto", Kind: KindString, Types: netTypes, Desc: "transport protocol: tcp, udp, icmp, icmpv6, sctp, raw; empty for unix", Falco: "fd.l4proto", Str: func(e *Event) string { return e.Net.Proto }},
	{Name: "net.socktype", Kind: KindString, Types: netTypes, Desc: "socket type: stream, dgram, seqpacket, raw", Str: func(e *Event) string { return e.Net.SockType }},
	{Name: "net.dip", Kind: KindIP, Types: netTypes, Desc: "destination IP address", Falco: "fd.sip", IP: func(e *Event) netip.Addr { return e.Net.DIP }},
	{Name: "net.dport", Kind: KindUint, Types: netTypes, Desc: "destination port", Falco: "fd.sport", Uint: func(e *Event) uint64 { return uint64(e.Net.DPort) }},
	{Name: "net.sip", Kind: KindIP, Types: netTypes, Desc: "source IP address, when the socket is bound", Falco: "fd.cip", IP: func(e *Event) netip.Addr { return e.Net.SIP }},
	{Name: "net.sport", Kind: KindUint, Types: netTypes, Desc: "source port, when the socket is bound", Falco: "fd.cport", Uint: func(e *Event) uint64 { return uint64(e.Net.SPort) }},
	{Name: "net.path", Kind: KindString, Types: netTypes, Desc: "unix socket path (abstract names start with @)", Falco: "fd.name", Str: func(e *Event) string { return e.Net.Path }},

	{Name: "container.id", Kind: KindString, Types: procTypes, Desc: "container id (12 characters for hex ids); empty on the host", Str: func(e *Event) string { return e.Proc.Container.ID }},
	{Name: "container.full_id", Kind: KindString, Types: procTypes, Desc: "full container id", Str: func(e *Event) string { return e.Proc.Container.FullID }},
	{Name: "container.runtime", Kind: KindString, Types: procTypes, Desc: "runtime guessed from the cgroup path: docker, containerd, cri, cri-o, podman, lxc", Falco: "container.type", Str: func(e *Event) string { return e.Proc.Container.Runtime }},
	{Name: "container.name", Kind: KindString, Types: procTypes, Desc: "container name from the runtime (empty until the runtime lookup answers)", Str: func(e *Event) string { return e.Proc.Container.Name }},
	{Name: "container.image", Kind: KindString, Types: procTypes, Desc: "container image from the runtime, as the user named it (empty until the runtime lookup answers)", Str: func(e *Event) string { return e.Proc.Container.Image }},
	{Name: "container.labels", Kind: KindMap, Types: procTypes, Desc: "container labels from the runtime (empty until the runtime lookup answers); container.labels[?\"app\"].orValue(\"\") reads one safely", Falco: "container.label", Map: func(e *Event) map[string]string { return e.Proc.Container.Labels }},
	{Name: "k8s.ns", Kind: KindString, Types: procTypes, Desc: "Kubernetes namespace of the pod (from the runtime lookup)", Falco: "k8s.ns.name", Str: func(e *Event) string { return e.Proc.Container.PodNS }},
	{Name: "k8s.pod", Kind: KindString, Types: procTypes, Desc: "Kubernetes pod name (from the runtime lookup)", Falco: "k8s.pod.name", Str: func(e *Event) string { return e.Proc.Container.PodName }},
}

var noProcess Process

func parentOf(e *Event) *Process {
	if e.Parent == nil {
		return &noProcess
	}
	return e.Parent
}

// FieldByName returns the field called name.
func FieldByName(name string) (*Field, bool) {
	for i := range Fields {
		if Fields[i].Name == name {
			return &Fields[i], true
		}
	}
	return nil, false
}
