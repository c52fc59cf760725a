package event

import (
	"net/netip"
	"slices"
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
	procTypes  = AllTypes
	fileTypes  = setOf(TypeOpen, TypeUnlink, TypeMkdir, TypeRename, TypeLink, TypeSymlink, TypeChmod) // the file a path names
	openTypes  = setOf(TypeOpen)
	modeTypes  = setOf(TypeOpen, TypeMkdir, TypeChmod)
	netTypes   = setOf(TypeConnect, TypeDup, TypeAccept, TypeListen)
	setidTypes = setOf(TypeSetuid, TypeSetgid)
	nsTypes    = setOf(TypeSetns, TypeUnshare)
	// sysTypes are the types several syscalls produce: evt.syscall names which.
	sysTypes = AllTypes &^ setOf(TypeExec, TypeFork, TypeExit)
)

// S_ISUID and S_ISGID in a mode.
const (
	modeSetuid = 0o4000
	modeSetgid = 0o2000
)

func setidField(name, desc string, old bool, i int) Field {
	return Field{Name: name, Kind: KindInt, Types: setidTypes, Desc: desc, Int: func(e *Event) int64 {
		if old {
			return e.SetID.Old[i]
		}
		return e.SetID.Req[i]
	}}
}

func ptraceTarget(e *Event) *Process {
	if e.Ptrace.Target == nil {
		return &noProcess
	}
	return e.Ptrace.Target
}

// Fields is the field table, in documentation order. It is the single
// source for `vigil rules fields`, the JSON event format and (later) the
// rule language's environment.
var Fields = []Field{
	{Name: "evt.type", Kind: KindString, Types: AllTypes, Desc: "event type: exec, fork, exit, open, connect, unlink, mkdir, rename, link, symlink, chmod, ptrace, setuid, setgid, memfd_create, module_load, setns, unshare, mount, bpf, dup, accept, listen", Str: func(e *Event) string { return e.Type.String() }},
	{Name: "evt.time", Kind: KindTime, Types: AllTypes, Desc: "when the event happened (wall clock, ns precision)", Time: func(e *Event) time.Time { return e.Time }},
	{Name: "evt.res", Kind: KindInt, Types: AllTypes, Desc: "syscall result (fd, 0 or -errno); exit code for exit", Falco: "evt.rawres", Int: func(e *Event) int64 { return e.Res }},
	{Name: "evt.failed", Kind: KindBool, Types: AllTypes, Desc: "the syscall returned an error", Bool: func(e *Event) bool { return e.Failed() }},
	{Name: "evt.source", Kind: KindString, Types: AllTypes, Desc: "kernel hook family that produced the event: tracepoint", Str: func(e *Event) string { return e.Source }},
	{Name: "evt.syscall", Kind: KindString, Types: sysTypes, Desc: "the syscall that made the event (openat, renameat2, dup2, ...)", Str: func(e *Event) string { return e.Syscall }},

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
	{Name: "proc.loginuid", Kind: KindInt, Types: procTypes, Desc: "audit login uid (the user who logged in, kept across su and sudo); -1 when unset, as for daemons", Falco: "user.loginuid", Int: func(e *Event) int64 {
		if e.LoginUID == NoLoginUID {
			return -1
		}
		return int64(e.LoginUID)
	}},
	{Name: "proc.cap_effective", Kind: KindStrings, Types: procTypes, Desc: "effective capabilities at the event, by name (CAP_SYS_ADMIN, ...)", Falco: "thread.cap_effective", Strs: func(e *Event) []string { return CapNames(e.CapEff) }},
	{Name: "proc.env", Kind: KindMap, Types: procTypes, Desc: "environment at exec, when collected (config events.env): every name, values only for allow-listed names (\"\" for the rest)", Falco: "proc.env", Map: func(e *Event) map[string]string { return e.Proc.Env }},
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
	{Name: "file.flags", Kind: KindUint, Types: openTypes | setOf(TypeRename, TypeLink, TypeChmod), Desc: "open flags (O_* bits); the flags of renameat2, linkat, fchmodat2", Falco: "evt.arg.flags", Uint: func(e *Event) uint64 { return uint64(e.File.Flags) }},
	{Name: "file.mode", Kind: KindUint, Types: modeTypes, Desc: "mode argument (permission bits used with O_CREAT, of the new directory, or set by chmod)", Falco: "evt.arg.mode", Uint: func(e *Event) uint64 { return uint64(e.File.Mode) }},
	{Name: "file.setuid", Kind: KindBool, Types: modeTypes, Desc: "file.mode has the set-user-id bit (S_ISUID)", Bool: func(e *Event) bool { return e.File.Mode&modeSetuid != 0 }},
	{Name: "file.setgid", Kind: KindBool, Types: modeTypes, Desc: "file.mode has the set-group-id bit (S_ISGID)", Bool: func(e *Event) bool { return e.File.Mode&modeSetgid != 0 }},
	{Name: "file.newpath", Kind: KindString, Types: setOf(TypeRename), Desc: "the new path of a rename (file.path is the old one), absolute and normalised", Falco: "evt.arg.newpath", Str: func(e *Event) string { return e.File.Target }},
	{Name: "file.target", Kind: KindString, Types: setOf(TypeLink, TypeSymlink), Desc: "what the new link (file.path) points to: the existing file of a hard link, a symlink's target resolved against the link's directory", Falco: "evt.arg.target", Str: func(e *Event) string { return e.File.Target }},
	{Name: "file.rawtarget", Kind: KindString, Types: setOf(TypeLink, TypeSymlink, TypeRename), Desc: "file.target (file.newpath for rename) as passed to the syscall", Str: func(e *Event) string { return e.File.RawTarget }},
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

	{Name: "ptrace.request", Kind: KindString, Types: setOf(TypePtrace), Desc: "the request by name (PTRACE_ATTACH, PTRACE_TRACEME, ...)", Falco: "evt.arg.request", Str: func(e *Event) string { return PtraceRequestName(e.Ptrace.Request) }},
	{Name: "ptrace.request_num", Kind: KindUint, Types: setOf(TypePtrace), Desc: "the request's number", Uint: func(e *Event) uint64 { return uint64(e.Ptrace.Request) }},
	{Name: "ptrace.pid", Kind: KindUint, Types: setOf(TypePtrace), Desc: "the target's pid; for PTRACE_TRACEME the parent, which becomes the tracer", Uint: func(e *Event) uint64 { return uint64(e.Ptrace.PID) }},
	{Name: "ptrace.name", Kind: KindString, Types: setOf(TypePtrace), Desc: "the target's command name; empty when unknown", Str: func(e *Event) string { return ptraceTarget(e).Name }},
	{Name: "ptrace.exe", Kind: KindString, Types: setOf(TypePtrace), Desc: "the target's executable path; empty when unknown", Str: func(e *Event) string { return ptraceTarget(e).Exe }},

	setidField("setid.real", "requested real id (uid for setuid, gid for setgid); -1: left unchanged", false, 0),
	setidField("setid.effective", "requested effective id; -1: left unchanged", false, 1),
	setidField("setid.saved", "requested saved id; -1: left unchanged", false, 2),
	setidField("setid.fs", "requested filesystem id; -1: left unchanged", false, 3),
	setidField("setid.old_real", "real id before the call; -1 if unknown", true, 0),
	setidField("setid.old_effective", "effective id before the call; -1 if unknown", true, 1),
	setidField("setid.old_saved", "saved id before the call; -1 if unknown", true, 2),
	setidField("setid.old_fs", "filesystem id before the call; -1 if unknown", true, 3),
	{Name: "setid.to_root", Kind: KindBool, Types: setidTypes, Desc: "one of the requested ids is 0", Bool: func(e *Event) bool { return slices.Contains(e.SetID.Req[:], 0) }},

	{Name: "memfd.name", Kind: KindString, Types: setOf(TypeMemfd), Desc: "the name given to memfd_create", Falco: "evt.arg.name", Str: func(e *Event) string { return e.Memfd.Name }},
	{Name: "memfd.flags", Kind: KindUint, Types: setOf(TypeMemfd), Desc: "memfd_create flags (MFD_*)", Uint: func(e *Event) uint64 { return uint64(e.Memfd.Flags) }},

	{Name: "module.name", Kind: KindString, Types: setOf(TypeModule), Desc: "module name from the file name (finit_module); empty for init_module", Str: func(e *Event) string { return e.Module.Name }},
	{Name: "module.file", Kind: KindString, Types: setOf(TypeModule), Desc: "absolute path of the module file (finit_module)", Str: func(e *Event) string { return e.Module.File }},
	{Name: "module.args", Kind: KindString, Types: setOf(TypeModule), Desc: "module parameters", Str: func(e *Event) string { return e.Module.Args }},

	{Name: "ns.types", Kind: KindStrings, Types: nsTypes, Desc: "namespace kinds changed: cgroup, ipc, mnt, net, pid, time, user, uts", Strs: func(e *Event) []string { return e.NS.Types }},
	{Name: "ns.flags", Kind: KindUint, Types: nsTypes, Desc: "unshare's flags, or setns's nstype argument (CLONE_* bits)", Uint: func(e *Event) uint64 { return e.NS.Flags }},

	{Name: "mount.source", Kind: KindString, Types: setOf(TypeMount), Desc: "the source (device, directory or name)", Str: func(e *Event) string { return e.Mount.Source }},
	{Name: "mount.target", Kind: KindString, Types: setOf(TypeMount), Desc: "the mount point, absolute and normalised", Str: func(e *Event) string { return e.Mount.Target }},
	{Name: "mount.fstype", Kind: KindString, Types: setOf(TypeMount), Desc: "the filesystem type; empty for bind mounts and remounts", Str: func(e *Event) string { return e.Mount.FSType }},
	{Name: "mount.flags", Kind: KindUint, Types: setOf(TypeMount), Desc: "mount flags (MS_* bits)", Uint: func(e *Event) uint64 { return e.Mount.Flags }},

	{Name: "bpf.cmd", Kind: KindString, Types: setOf(TypeBPF), Desc: "the command: BPF_PROG_LOAD, BPF_MAP_CREATE, BPF_LINK_CREATE, ... (only those that load, attach or pin are reported)", Str: func(e *Event) string { return BPFCmdName(e.BPF.Cmd) }},
	{Name: "bpf.prog_type", Kind: KindString, Types: setOf(TypeBPF), Desc: "program type of BPF_PROG_LOAD, as bpftool names it (kprobe, tracepoint, xdp, ...); empty otherwise", Str: func(e *Event) string {
		if e.BPF.Cmd != 5 {
			return ""
		}
		return BPFProgTypeName(e.BPF.ProgType)
	}},
	{Name: "bpf.map_type", Kind: KindString, Types: setOf(TypeBPF), Desc: "map type of BPF_MAP_CREATE (hash, ringbuf, ...); empty otherwise", Str: func(e *Event) string {
		if e.BPF.Cmd != 0 {
			return ""
		}
		return BPFMapTypeName(e.BPF.MapType)
	}},
	{Name: "bpf.name", Kind: KindString, Types: setOf(TypeBPF), Desc: "the program's or map's name (at most 15 bytes)", Str: func(e *Event) string { return e.BPF.Name }},

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
