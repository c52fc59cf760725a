package event

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
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
type TypeSet uint64

// Has reports whether t is in the set.
func (s TypeSet) Has(t Type) bool { return s&(1<<t) != 0 }

// Types lists the set's types in tag order.
func (s TypeSet) Types() []Type {
	var out []Type
	for _, t := range Types() {
		if s.Has(t) {
			out = append(out, t)
		}
	}
	return out
}

func setOf(ts ...Type) TypeSet {
	var s TypeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

// AllTypes is the set of every event type.
var AllTypes = setOf(Types()...)

// Field is one named field of the rule language: one row of the field
// table, with its getter and its setter (or what it is derived from).
type Field struct {
	Name  string
	Kind  Kind
	Desc  string
	Types TypeSet // the event types that carry it
	// Values are the known values of a field that names kernel constants
	// (nil for free text), in numeric order. A number without a name is
	// written as a prefix and the number (CAP_41), which parses back too.
	Values []string

	// The getter: exactly one, the one matching Kind.
	Str  func(*Event) string
	Int  func(*Event) int64
	Uint func(*Event) uint64
	Bool func(*Event) bool
	Time func(*Event) time.Time
	Strs func(*Event) []string
	IP   func(*Event) netip.Addr
	Map  func(*Event) map[string]string

	// The setter, which FromFields and DecodeJSON use: the one matching
	// Kind (SetInt for KindInt and KindUint; it checks the range), or none
	// when the field is Derived.
	SetStr  func(*Event, string) error
	SetInt  func(*Event, int64) error
	SetBool func(*Event, bool)
	SetTime func(*Event, time.Time)
	SetStrs func(*Event, []string) error
	SetIP   func(*Event, netip.Addr)
	SetMap  func(*Event, map[string]string)
	// MaxItems bounds the items of a list field, for cost estimates (0:
	// the kernel's bound on argv, 2048).
	MaxItems int
	// Absent, when set, says the field has no value on the event (Falco's
	// fields in a Falco rule's output: text shows <NA>, JSON null).
	Absent func(*Event) bool
	// Derived names what a field without a setter is computed from.
	Derived string
	// Guard: a boolean that is false on every type but its Types, so a
	// condition that requires it is restricted to them as by evt.type
	// (file.modified).
	Guard bool
	// Default fills the field when FromFields is not given it, from what
	// the given fields imply (run after every setter); nil leaves it zero.
	Default func(*Event)
}

var (
	procTypes  = AllTypes
	fileTypes  = setOf(TypeOpen, TypeUnlink, TypeMkdir, TypeRename, TypeLink, TypeSymlink, TypeChmod, TypeTruncate, TypeChown, TypeUtimes, TypeXattr, TypeChattr) // the file a path names
	openTypes  = setOf(TypeOpen)
	modeTypes  = setOf(TypeOpen, TypeMkdir, TypeChmod)
	netTypes   = setOf(TypeConnect, TypeDup, TypeAccept, TypeListen)
	setidTypes = setOf(TypeSetuid, TypeSetgid)
	nsTypes    = setOf(TypeSetns, TypeUnshare)
	// changeTypes are the types that can change a file (TypeInfo.Change).
	changeTypes = typesWhere(func(t *TypeInfo) bool { return t.Change != "" })
	// sysTypes are the types syscalls produce: evt.syscall names which.
	sysTypes = typesWhere(func(t *TypeInfo) bool { return len(t.Syscalls) > 0 })
)

// S_ISUID and S_ISGID in a mode.
const (
	modeSetuid = 0o4000
	modeSetgid = 0o2000
)

// setidField is one of the eight id fields of set*id calls: the requested
// ids (Req) or those before the call (Old); -1 when not given (unchanged,
// or unknown), not root.
func setidField(name, desc string, old bool, i int) Field {
	ids := func(e *Event) *[4]int64 {
		if old {
			return &e.SetID.Old
		}
		return &e.SetID.Req
	}
	return Field{Name: name, Kind: KindInt, Types: setidTypes, Desc: desc,
		Int:     func(e *Event) int64 { return ids(e)[i] },
		SetInt:  func(e *Event, n int64) error { ids(e)[i] = n; return nil },
		Default: func(e *Event) { ids(e)[i] = -1 }}
}

func scriptDir(script string) string {
	if script == "" {
		return ""
	}
	return path.Dir(script)
}

// stdioNames are fds 0, 1 and 2 as the field descriptions name them.
var stdioNames = [3]string{"stdin", "stdout", "stderr"}

// stdioTypeField is proc.stdin_type and its siblings: what fd i was at
// exec.
func stdioTypeField(name string, i int) Field {
	return Field{Name: name, Kind: KindString, Types: procTypes, Values: StdioTypes,
		Desc: "what " + stdioNames[i] + " (fd " + strconv.Itoa(i) + ") was at exec: tty, char (another character device), pipe, socket, file, dir, none (closed) or other; \"\" when the exec was not seen (the process started before vigil)",
		Str:  func(e *Event) string { return e.Proc.Stdio[i].Type },
		SetStr: func(e *Event, s string) error {
			if s != "" && !slices.Contains(StdioTypes, s) {
				return fmt.Errorf("unknown %s type %q (%s)", stdioNames[i], s, strings.Join(StdioTypes, ", "))
			}
			e.Proc.Stdio[i].Type = s
			return nil
		}}
}

// stdioPeerField is proc.stdin_peer and its siblings.
func stdioPeerField(name string, i int) Field {
	return Field{Name: name, Kind: KindString, Types: procTypes,
		Desc:   "when " + stdioNames[i] + " was an inet socket at exec, its remote end: ip:port, [ipv6]:port; \"\" otherwise (unix sockets, unconnected ones)",
		Str:    func(e *Event) string { return e.Proc.Stdio[i].Peer },
		SetStr: func(e *Event, s string) error { e.Proc.Stdio[i].Peer = s; return nil }}
}

// target is the process another event names (a ptrace or process_vm
// target), or the empty one when it is unknown.
func target(p *Process) *Process {
	if p == nil {
		return &noProcess
	}
	return p
}

// settableTarget is *pp, created for a setter.
func settableTarget(pp **Process) *Process {
	if *pp == nil {
		*pp = &Process{}
	}
	return *pp
}

func processVMWrite(e *Event) bool { return e.Syscall == "process_vm_writev" }

// procPathPID is the process a path names below /proc: the N of /proc/N
// and /proc/N/..., self for /proc/self and /proc/thread-self, neither
// (0, false) for any other path. N is what procfs takes for a pid: digits
// without a leading zero.
func procPathPID(path string) (pid uint32, self bool) {
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return 0, false
	}
	elem, _, _ := strings.Cut(rest, "/")
	if elem == "self" || elem == "thread-self" {
		return 0, true
	}
	if elem == "" || elem[0] < '1' || elem[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(elem, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), false
}

// procPID is file.proc_pid: /proc/self is the process as its own pid
// namespace numbers it.
func procPID(e *Event) uint32 {
	pid, self := procPathPID(e.File.Path)
	if !self {
		return pid
	}
	if e.Proc.VPID != 0 {
		return e.Proc.VPID
	}
	return e.Proc.PID
}

// procOther is file.proc_other. A process may see /proc by host pids (on
// the host) or by its namespace's (in a container with its own /proc),
// so both of its own numbers are its own; so is the calling thread's id.
func procOther(e *Event) bool {
	pid, _ := procPathPID(e.File.Path)
	return pid != 0 && pid != e.Proc.PID && pid != e.Proc.VPID && pid != e.TID
}

// settableParent is the parent, created (with the pid proc.ppid, set
// before it in table order) for a setter.
func settableParent(e *Event) *Process {
	if e.Parent == nil {
		e.Parent = &Process{PID: e.Proc.PPID}
	}
	return e.Parent
}

// setName is the setter of a field naming a constant of c; empty is
// allowed where the getter renders a value that does not apply as "".
func setName(c *constNames, what string, emptyOK bool, dst func(*Event) *uint32) func(*Event, string) error {
	return func(e *Event, s string) error {
		if s == "" && emptyOK {
			return nil
		}
		v, ok := c.parse(s)
		if !ok {
			return fmt.Errorf("unknown %s %q", what, s)
		}
		*dst(e) = v
		return nil
	}
}

// Fields is the field table, in documentation order. It is the single
// source for `vigil rules fields`, the JSON event format, `vigil replay`,
// rule tests and the rule language's environment. FromFields sets the
// fields in this order, so a setter may read a field of an earlier row.
var Fields = []Field{
	{Name: "evt.type", Kind: KindString, Types: AllTypes, Desc: "event type: " + strings.Join(Names(Types()...), ", "), Values: Names(Types()...),
		Str: func(e *Event) string { return e.Type.String() },
		SetStr: func(e *Event, s string) error {
			t, ok := ParseType(s)
			if !ok {
				return fmt.Errorf("unknown event type %q", s)
			}
			e.Type = t
			return nil
		}},
	{Name: "evt.time", Kind: KindTime, Types: AllTypes, Desc: "when the event happened (wall clock, ns precision)",
		Time: func(e *Event) time.Time { return e.Time }, SetTime: func(e *Event, t time.Time) { e.Time = t }},
	{Name: "evt.res", Kind: KindInt, Types: AllTypes, Desc: "syscall result (fd, 0 or -errno); exit code for exit",
		Int: func(e *Event) int64 { return e.Res }, SetInt: func(e *Event, n int64) error { e.Res = n; return nil }},
	{Name: "evt.failed", Kind: KindBool, Types: AllTypes, Desc: "the syscall returned an error",
		Bool: func(e *Event) bool { return e.Failed() }, Derived: "evt.res"},
	{Name: "evt.source", Kind: KindString, Types: AllTypes, Desc: "kind of kernel hook that built the record: tracepoint, or lsm for an exec a deny rule refused in the BPF LSM hook (refused opens and connects are recorded at their syscall's exit: tracepoint)",
		Str: func(e *Event) string { return e.Source }, SetStr: func(e *Event, s string) error { e.Source = s; return nil },
		Default: func(e *Event) { e.Source = SourceTracepoint }},
	{Name: "evt.syscall", Kind: KindString, Types: sysTypes, Desc: "the syscall that made the event (openat, renameat2, dup2, ...)",
		Str: func(e *Event) string { return e.Syscall }, SetStr: func(e *Event, s string) error { e.Syscall = s; return nil }},

	{Name: "proc.pid", Kind: KindUint, Types: procTypes, Desc: "process id (thread group id)",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.PID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.PID, n) }},
	{Name: "proc.tid", Kind: KindUint, Types: procTypes, Desc: "thread id",
		Uint: func(e *Event) uint64 { return uint64(e.TID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.TID, n) }},
	{Name: "proc.ppid", Kind: KindUint, Types: procTypes, Desc: "parent process id",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.PPID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.PPID, n) }},
	{Name: "proc.vpid", Kind: KindUint, Types: procTypes, Desc: "process id in the process's own pid namespace (1 for a container's init); 0 if unknown",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.VPID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.VPID, n) },
		Default: func(e *Event) { e.Proc.VPID = e.Proc.PID }},
	{Name: "proc.vpgid", Kind: KindUint, Types: procTypes, Desc: "process group id in the process's pid namespace, at exec or fork",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.VPGID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.VPGID, n) }},
	{Name: "proc.vpgid_leader", Kind: KindBool, Types: procTypes, Desc: "the process leads its process group (proc.vpgid == proc.vpid): started directly from a shell's prompt, not by a script",
		Bool: func(e *Event) bool { return e.Proc.VPID != 0 && e.Proc.VPGID == e.Proc.VPID }, Derived: "proc.vpid, proc.vpgid"},
	{Name: "proc.sid", Kind: KindUint, Types: procTypes, Desc: "session id in the process's pid namespace, at exec or fork; 0 when the session leader is outside that namespace",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.SID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.SID, n) }},
	{Name: "proc.sid_leader", Kind: KindBool, Types: procTypes, Desc: "the process leads its session (proc.sid == proc.vpid)",
		Bool: func(e *Event) bool { return e.Proc.VPID != 0 && e.Proc.SID == e.Proc.VPID }, Derived: "proc.vpid, proc.sid"},
	{Name: "proc.sname", Kind: KindString, Types: procTypes, Desc: "the session leader's command name: the eldest ancestor in the same session, or the process itself",
		Str: func(e *Event) string { return e.Proc.SName }, SetStr: func(e *Event, s string) error { e.Proc.SName = s; return nil },
		Default: func(e *Event) { e.Proc.SName = e.Proc.Name }},
	{Name: "proc.name", Kind: KindString, Types: procTypes, Desc: "command name (comm, at most 15 bytes)",
		Str: func(e *Event) string { return e.Proc.Name }, SetStr: func(e *Event, s string) error { e.Proc.Name = s; return nil }},
	{Name: "proc.exe", Kind: KindString, Types: procTypes, Desc: "absolute path of the executable, as /proc/PID/exe shows it",
		Str: func(e *Event) string { return e.Proc.Exe }, SetStr: func(e *Event, s string) error { e.Proc.Exe = s; return nil }},
	{Name: "proc.args", Kind: KindStrings, Types: procTypes, Desc: "arguments without argv[0]",
		Strs: func(e *Event) []string { return e.Proc.Args() },
		// argv[0] is the command name (set before, in table order).
		SetStrs: func(e *Event, l []string) error { e.Proc.Argv = append([]string{e.Proc.Name}, l...); return nil }},
	{Name: "proc.args_text", Kind: KindString, Types: procTypes, Desc: "proc.args joined by spaces (Falco's proc.args)",
		Str: func(e *Event) string { return strings.Join(e.Proc.Args(), " ") }, Derived: "proc.args"},
	{Name: "proc.argv0", Kind: KindString, Types: procTypes, Desc: "argv[0], as the process was started (Falco's proc.exe)",
		Str: func(e *Event) string { return argv0(e.Proc) }, Derived: "proc.args"},
	{Name: "proc.args_truncated", Kind: KindBool, Types: procTypes, Desc: "the kernel cut the argument list short",
		Bool: func(e *Event) bool { return e.Proc.ArgsTrunc }, SetBool: func(e *Event, b bool) { e.Proc.ArgsTrunc = b }},
	{Name: "proc.cmdline", Kind: KindString, Types: procTypes, Desc: "proc.name followed by the arguments",
		Str: func(e *Event) string { return e.Proc.Cmdline }, SetStr: func(e *Event, s string) error { e.Proc.Cmdline = s; return nil },
		Default: func(e *Event) { e.Proc.Cmdline = MakeCmdline(e.Proc.Name, e.Proc.Argv) }},
	{Name: "proc.cwd", Kind: KindString, Types: procTypes, Desc: "current working directory",
		Str: func(e *Event) string { return e.Proc.Cwd }, SetStr: func(e *Event, s string) error { e.Proc.Cwd = s; return nil }},
	{Name: "proc.script", Kind: KindString, Types: procTypes, Desc: "the script file an interpreter runs (sh, bash, dash, zsh, ksh, ash, busybox sh, python, perl, ruby, node, php, lua, tclsh), from its arguments, absolute against proc.cwd; \"\" for other programs and when none runs (-c code, -m module, stdin, interactive)",
		Str: func(e *Event) string { return e.Proc.Script }, SetStr: func(e *Event, s string) error { e.Proc.Script = s; return nil }},
	{Name: "proc.script_dir", Kind: KindString, Types: procTypes, Desc: "the directory of proc.script; \"\" without a script",
		Str: func(e *Event) string { return scriptDir(e.Proc.Script) }, Derived: "proc.script"},
	{Name: "proc.tty", Kind: KindUint, Types: procTypes, Desc: "controlling terminal (tty_nr), 0 if none",
		Uint: func(e *Event) uint64 { return uint64(e.Proc.TTY) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Proc.TTY, n) }},
	{Name: "proc.uid", Kind: KindUint, Types: procTypes, Desc: "real user id at the event",
		Uint: func(e *Event) uint64 { return uint64(e.UID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.UID, n, &e.Proc.UID) }},
	{Name: "proc.gid", Kind: KindUint, Types: procTypes, Desc: "real group id at the event",
		Uint: func(e *Event) uint64 { return uint64(e.GID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.GID, n, &e.Proc.GID) }},
	{Name: "proc.euid", Kind: KindUint, Types: procTypes, Desc: "effective user id at the event",
		Uint: func(e *Event) uint64 { return uint64(e.EUID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.EUID, n, &e.Proc.EUID) }},
	{Name: "proc.loginuid", Kind: KindInt, Types: procTypes, Desc: "audit login uid (the user who logged in, kept across su and sudo); -1 when unset, as for daemons",
		Int: func(e *Event) int64 {
			if e.LoginUID == NoLoginUID {
				return -1
			}
			return int64(e.LoginUID)
		},
		SetInt: func(e *Event, n int64) error {
			if n == -1 {
				e.LoginUID = NoLoginUID
				return nil
			}
			return setU32(&e.LoginUID, n)
		},
		Default: func(e *Event) { e.LoginUID = NoLoginUID }},
	{Name: "proc.cap_effective", Kind: KindStrings, Types: procTypes, MaxItems: 64, Desc: "effective capabilities at the event, by name (CAP_SYS_ADMIN, ...)", Values: capNames.values(),
		Strs: func(e *Event) []string { return CapNames(e.CapEff) },
		SetStrs: func(e *Event, l []string) error {
			m, err := capMask(l)
			e.CapEff = m
			return err
		}},
	{Name: "proc.cap_permitted", Kind: KindStrings, Types: procTypes, MaxItems: 64, Desc: "permitted capabilities at the event, by name: what the thread may make effective", Values: capNames.values(),
		Strs: func(e *Event) []string { return CapNames(e.CapPrm) },
		SetStrs: func(e *Event, l []string) error {
			m, err := capMask(l)
			e.CapPrm = m
			return err
		}},
	{Name: "proc.cap_inheritable", Kind: KindStrings, Types: procTypes, MaxItems: 64, Desc: "inheritable capabilities at the event, by name: those kept across an exec of a file that has them", Values: capNames.values(),
		Strs: func(e *Event) []string { return CapNames(e.CapInh) },
		SetStrs: func(e *Event, l []string) error {
			m, err := capMask(l)
			e.CapInh = m
			return err
		}},
	{Name: "proc.env", Kind: KindMap, Types: procTypes, Desc: "environment at exec, when collected (config events.env): every name, values only for allow-listed names (\"\" for the rest)",
		Map: func(e *Event) map[string]string { return e.Proc.Env }, SetMap: func(e *Event, m map[string]string) { e.Proc.Env = m }},
	{Name: "proc.env_text", Kind: KindString, Types: procTypes, Desc: "proc.env as NAME=value words in name order, as Falco's proc.env is one string",
		Str: func(e *Event) string { return envText(e.Proc.Env) }, Derived: "proc.env"},
	stdioTypeField("proc.stdin_type", 0), stdioTypeField("proc.stdout_type", 1), stdioTypeField("proc.stderr_type", 2),
	stdioPeerField("proc.stdin_peer", 0), stdioPeerField("proc.stdout_peer", 1), stdioPeerField("proc.stderr_peer", 2),
	{Name: "proc.stdin_writer", Kind: KindString, Types: procTypes, Desc: "when stdin was a pipe at exec: the command name of a process in the same pipeline (same parent or process group) whose stdout is that pipe and that had executed first (curl in curl | sh); \"\" otherwise",
		Str: func(e *Event) string { return e.Proc.Stdio[0].PipeName }, SetStr: func(e *Event, s string) error { e.Proc.Stdio[0].PipeName = s; return nil }},
	{Name: "proc.stdin_writer_exe", Kind: KindString, Types: procTypes, Desc: "the executable path of proc.stdin_writer",
		Str: func(e *Event) string { return e.Proc.Stdio[0].PipeExe }, SetStr: func(e *Event, s string) error { e.Proc.Stdio[0].PipeExe = s; return nil }},
	{Name: "proc.stdout_reader", Kind: KindString, Types: procTypes, Desc: "when stdout was a pipe at exec: the command name of a process in the same pipeline whose stdin is that pipe and that had executed first (sh in curl | sh); \"\" otherwise",
		Str: func(e *Event) string { return e.Proc.Stdio[1].PipeName }, SetStr: func(e *Event, s string) error { e.Proc.Stdio[1].PipeName = s; return nil }},
	{Name: "proc.stdout_reader_exe", Kind: KindString, Types: procTypes, Desc: "the executable path of proc.stdout_reader",
		Str: func(e *Event) string { return e.Proc.Stdio[1].PipeExe }, SetStr: func(e *Event, s string) error { e.Proc.Stdio[1].PipeExe = s; return nil }},
	{Name: "proc.start", Kind: KindTime, Types: procTypes, Desc: "when the process started",
		Time: func(e *Event) time.Time { return e.Proc.Start }, SetTime: func(e *Event, t time.Time) { e.Proc.Start = t }},
	{Name: "proc.exe_memfd", Kind: KindBool, Types: procTypes, Desc: "the executable is a memfd (fileless execution)",
		Bool: func(e *Event) bool { return e.Proc.ExeMemfd }, SetBool: func(e *Event, b bool) { e.Proc.ExeMemfd = b }},
	{Name: "proc.exe_upper_layer", Kind: KindBool, Types: procTypes, Desc: "in a container, the executable is on the overlay's upper layer: written or changed after the container started, not from its image (read at exec)",
		Bool: func(e *Event) bool { return e.Proc.ExeUpperLayer }, SetBool: func(e *Event, b bool) { e.Proc.ExeUpperLayer = b }},
	{Name: "proc.pname", Kind: KindString, Types: procTypes, Desc: "parent's command name; empty when unknown",
		Str: func(e *Event) string { return parentOf(e).Name }, SetStr: func(e *Event, s string) error { settableParent(e).Name = s; return nil }},
	{Name: "proc.pexe", Kind: KindString, Types: procTypes, Desc: "parent's executable path",
		Str: func(e *Event) string { return parentOf(e).Exe }, SetStr: func(e *Event, s string) error { settableParent(e).Exe = s; return nil }},
	{Name: "proc.pargv0", Kind: KindString, Types: procTypes, Desc: "the parent's argv[0] (Falco's proc.pexe)",
		Str: func(e *Event) string { return argv0(parentOf(e)) }, Derived: "proc.pcmdline"},
	{Name: "proc.pcmdline", Kind: KindString, Types: procTypes, Desc: "parent's command line",
		Str: func(e *Event) string { return parentOf(e).Cmdline }, SetStr: func(e *Event, s string) error { settableParent(e).Cmdline = s; return nil },
		Default: func(e *Event) {
			if e.Parent != nil {
				e.Parent.Cmdline = e.Parent.Name
			}
		}},
	{Name: "proc.ancestors", Kind: KindStrings, Types: procTypes, MaxItems: MaxAncestors, Desc: "names of the ancestors, nearest first (parent first)",
		Strs: func(e *Event) []string { return e.Proc.Ancestors }, SetStrs: func(e *Event, l []string) error { e.Proc.Ancestors = l; return nil }},
	{Name: "proc.ancestor_exes", Kind: KindStrings, Types: procTypes, MaxItems: MaxAncestors, Desc: "executable paths of the ancestors, in the order of proc.ancestors",
		Strs: func(e *Event) []string { return e.Proc.AncestorExes }, SetStrs: func(e *Event, l []string) error { e.Proc.AncestorExes = l; return nil }},
	{Name: "proc.ancestor_argv0s", Kind: KindStrings, Types: procTypes, MaxItems: MaxAncestors, Desc: "argv[0] of the ancestors, in the order of proc.ancestors",
		Strs: func(e *Event) []string { return e.Proc.AncestorArgv0s }, SetStrs: func(e *Event, l []string) error { e.Proc.AncestorArgv0s = l; return nil }},
	// A list of strings: the rule language has no list of numbers.
	{Name: "proc.ancestor_pids", Kind: KindStrings, Types: procTypes, MaxItems: MaxAncestors, Desc: "pids of the ancestors in decimal, in the order of proc.ancestors",
		Strs: func(e *Event) []string { return pidStrings(e.Proc.AncestorPIDs) },
		SetStrs: func(e *Event, l []string) error {
			pids, err := parsePIDs(l)
			e.Proc.AncestorPIDs = pids
			return err
		}},
	{Name: "user.uid", Kind: KindUint, Types: procTypes, Desc: "user id (same as proc.uid)",
		Uint: func(e *Event) uint64 { return uint64(e.User.UID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.User.UID, n) },
		Default: func(e *Event) { e.User.UID = e.UID }},
	{Name: "user.name", Kind: KindString, Types: procTypes, Desc: "user name from the host's passwd database",
		Str: func(e *Event) string { return e.User.Name }, SetStr: func(e *Event, s string) error { e.User.Name = s; return nil }},
	{Name: "user.home", Kind: KindString, Types: procTypes, Desc: "the user's home directory from the host's passwd database; \"\" when unknown",
		Str: func(e *Event) string { return e.User.Home }, SetStr: func(e *Event, s string) error { e.User.Home = s; return nil }},
	{Name: "user.shell", Kind: KindString, Types: procTypes, Desc: "the user's login shell from the host's passwd database (/usr/sbin/nologin, /bin/false for system accounts); \"\" when unknown",
		Str: func(e *Event) string { return e.User.Shell }, SetStr: func(e *Event, s string) error { e.User.Shell = s; return nil }},

	{Name: "file.path", Kind: KindString, Types: fileTypes, Desc: "absolute, lexically normalised path",
		Str: func(e *Event) string { return e.File.Path }, SetStr: func(e *Event, s string) error { e.File.Path = s; return nil }},
	{Name: "file.rawpath", Kind: KindString, Types: fileTypes, Desc: "path as passed to the syscall",
		Str: func(e *Event) string { return e.File.RawPath }, SetStr: func(e *Event, s string) error { e.File.RawPath = s; return nil },
		Default: func(e *Event) { e.File.RawPath = e.File.Path }},
	{Name: "file.name", Kind: KindString, Types: fileTypes, Desc: "last element of file.path",
		Str: func(e *Event) string { return e.File.Name() }, Derived: "file.path"},
	{Name: "file.dir", Kind: KindString, Types: fileTypes, Desc: "file.path without its last element",
		Str: func(e *Event) string { return e.File.Dir() }, Derived: "file.path"},
	{Name: "file.proc_pid", Kind: KindUint, Types: openTypes, Desc: "for a path /proc/N or below it the N; for /proc/self and /proc/thread-self the process's own proc.vpid; 0 for any other path",
		Uint: func(e *Event) uint64 { return uint64(procPID(e)) }, Derived: "file.path, proc.vpid"},
	{Name: "file.proc_other", Kind: KindBool, Types: openTypes, Desc: "the path is /proc/N or below it and N is another process: not the process's pid, its vpid (inside a pid namespace /proc shows namespace pids) or the thread's id, and not self or thread-self",
		Bool: procOther, Derived: "file.path, proc.pid, proc.vpid, proc.tid"},
	{Name: "file.flags", Kind: KindUint, Types: openTypes | setOf(TypeRename, TypeLink, TypeChmod, TypeChown, TypeUtimes, TypeXattr), Desc: "open flags (O_* bits); the flags of renameat2, linkat, fchmodat2, fchownat, utimensat, setxattrat, removexattrat (AT_SYMLINK_NOFOLLOW 0x100, AT_EMPTY_PATH 0x1000)",
		Uint: func(e *Event) uint64 { return uint64(e.File.Flags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.File.Flags, n) }},
	{Name: "file.flags_text", Kind: KindString, Types: openTypes, Desc: "file.flags of an open by name, as Falco renders them: O_WRONLY|O_CREAT|O_TRUNC",
		Str: func(e *Event) string { return OpenFlagsString(e.File.Flags) }, Derived: "file.flags"},
	{Name: "file.mode", Kind: KindUint, Types: modeTypes, Desc: "mode argument (permission bits used with O_CREAT, of the new directory, or set by chmod)",
		Uint: func(e *Event) uint64 { return uint64(e.File.Mode) }, SetInt: func(e *Event, n int64) error { return setU32(&e.File.Mode, n) }},
	{Name: "file.mode_text", Kind: KindString, Types: modeTypes, Desc: "file.mode's bits by name, as Falco renders them: S_IXOTH|S_IROTH|S_IWUSR|S_IRUSR",
		Str: func(e *Event) string { return ModeString(e.File.Mode) }, Derived: "file.mode"},
	{Name: "file.setuid", Kind: KindBool, Types: modeTypes, Desc: "file.mode has the set-user-id bit (S_ISUID)",
		Bool: func(e *Event) bool { return e.File.Mode&modeSetuid != 0 }, Derived: "file.mode"},
	{Name: "file.setgid", Kind: KindBool, Types: modeTypes, Desc: "file.mode has the set-group-id bit (S_ISGID)",
		Bool: func(e *Event) bool { return e.File.Mode&modeSetgid != 0 }, Derived: "file.mode"},
	{Name: "file.newpath", Kind: KindString, Types: setOf(TypeRename), Desc: "the new path of a rename (file.path is the old one), absolute and normalised",
		Str: func(e *Event) string { return e.File.Target }, SetStr: func(e *Event, s string) error { e.File.Target = s; return nil }},
	{Name: "file.target", Kind: KindString, Types: setOf(TypeLink, TypeSymlink), Desc: "what the new link (file.path) points to: the existing file of a hard link, a symlink's target resolved against the link's directory",
		Str: func(e *Event) string { return e.File.Target }, SetStr: func(e *Event, s string) error { e.File.Target = s; return nil }},
	{Name: "file.rawtarget", Kind: KindString, Types: setOf(TypeLink, TypeSymlink, TypeRename), Desc: "file.target (file.newpath for rename) as passed to the syscall",
		Str: func(e *Event) string { return e.File.RawTarget }, SetStr: func(e *Event, s string) error { e.File.RawTarget = s; return nil }},
	// Unlinks have no file.flags field: this is their one flag.
	{Name: "file.rmdir", Kind: KindBool, Types: setOf(TypeUnlink), Desc: "the unlink removed a directory (rmdir, or unlinkat with AT_REMOVEDIR)",
		Bool: func(e *Event) bool { return e.File.Flags&atRemoveDir != 0 },
		SetBool: func(e *Event, b bool) {
			if b {
				e.File.Flags |= atRemoveDir
			} else {
				e.File.Flags &^= atRemoveDir
			}
		}},
	{Name: "file.read", Kind: KindBool, Types: openTypes, Desc: "opened for reading",
		Bool: func(e *Event) bool { return e.File.Read() }, Derived: "file.flags"},
	{Name: "file.write", Kind: KindBool, Types: openTypes, Desc: "opened for writing",
		Bool: func(e *Event) bool { return e.File.Write() }, Derived: "file.flags"},
	{Name: "file.create", Kind: KindBool, Types: openTypes, Desc: "O_CREAT or O_TMPFILE",
		Bool: func(e *Event) bool { return e.File.Create() }, Derived: "file.flags"},
	{Name: "file.trunc", Kind: KindBool, Types: openTypes, Desc: "O_TRUNC",
		Bool: func(e *Event) bool { return e.File.Trunc() }, Derived: "file.flags"},
	// One notion of "this file was changed", whatever the syscall: rules
	// about a sensitive file name it once (docs/rules.md "File changes").
	{Name: "file.modified", Kind: KindBool, Types: changeTypes, Guard: true,
		Desc: "the event changes the file at file.modified_path: opened for writing, created or truncated; truncated by truncate(2); a file renamed, hard-linked or symlinked onto the name; its mode, owner, times, extended attributes or inode flags changed (file.change says how; failed calls count, evt.failed says)",
		Bool: func(e *Event) bool { return e.Change() != "" }, Derived: "evt.type, file.flags"},
	{Name: "file.change", Kind: KindString, Types: changeTypes, Values: Changes,
		Desc: "how the event changes the file: write, truncate (O_TRUNC, truncate, ftruncate), rename, link, symlink, chmod, chown, times (utimes), xattr, flags (chattr); \"\" when it changes none",
		Str:  func(e *Event) string { return e.Change() }, Derived: "evt.type, file.flags"},
	{Name: "file.modified_path", Kind: KindString, Types: changeTypes,
		Desc: "the path of the changed file: file.path, or for a rename the new path (file.newpath); \"\" when file.modified is false",
		Str:  func(e *Event) string { return e.ChangedPath() }, Derived: "file.path, file.newpath"},
	{Name: "file.modified_name", Kind: KindString, Types: changeTypes, Desc: "last element of file.modified_path",
		Str: func(e *Event) string { return baseName(e.ChangedPath()) }, Derived: "file.modified_path"},
	{Name: "file.modified_dir", Kind: KindString, Types: changeTypes, Desc: "file.modified_path without its last element",
		Str: func(e *Event) string { return dirName(e.ChangedPath()) }, Derived: "file.modified_path"},

	{Name: "net.family", Kind: KindString, Types: netTypes, Desc: "address family: ipv4, ipv6, unix",
		Str: func(e *Event) string { return e.Net.Family }, SetStr: func(e *Event, s string) error { e.Net.Family = s; return nil }},
	{Name: "net.proto", Kind: KindString, Types: netTypes, Desc: "transport protocol: tcp, udp, icmp, icmpv6, sctp, raw; empty for unix",
		Str: func(e *Event) string { return e.Net.Proto }, SetStr: func(e *Event, s string) error { e.Net.Proto = s; return nil }},
	{Name: "net.socktype", Kind: KindString, Types: netTypes, Desc: "socket type: stream, dgram, seqpacket, raw",
		Str: func(e *Event) string { return e.Net.SockType }, SetStr: func(e *Event, s string) error { e.Net.SockType = s; return nil }},
	{Name: "net.dip", Kind: KindIP, Types: netTypes, Desc: "destination IP address",
		IP: func(e *Event) netip.Addr { return e.Net.DIP }, SetIP: func(e *Event, ip netip.Addr) { e.Net.DIP = ip }},
	{Name: "net.dport", Kind: KindUint, Types: netTypes, Desc: "destination port",
		Uint: func(e *Event) uint64 { return uint64(e.Net.DPort) }, SetInt: func(e *Event, n int64) error { return setPort(&e.Net.DPort, n) }},
	{Name: "net.sip", Kind: KindIP, Types: netTypes, Desc: "source IP address, when the socket is bound",
		IP: func(e *Event) netip.Addr { return e.Net.SIP }, SetIP: func(e *Event, ip netip.Addr) { e.Net.SIP = ip }},
	{Name: "net.sport", Kind: KindUint, Types: netTypes, Desc: "source port, when the socket is bound",
		Uint: func(e *Event) uint64 { return uint64(e.Net.SPort) }, SetInt: func(e *Event, n int64) error { return setPort(&e.Net.SPort, n) }},
	{Name: "net.path", Kind: KindString, Types: netTypes, Desc: "unix socket path (abstract names start with @)",
		Str: func(e *Event) string { return e.Net.Path }, SetStr: func(e *Event, s string) error { e.Net.Path = s; return nil }},

	{Name: "ptrace.request", Kind: KindString, Types: setOf(TypePtrace), Desc: "the request by name (PTRACE_ATTACH, PTRACE_TRACEME, ...)", Values: ptraceNames.values(),
		Str:    func(e *Event) string { return PtraceRequestName(e.Ptrace.Request) },
		SetStr: setName(&ptraceNames, "ptrace request", false, func(e *Event) *uint32 { return &e.Ptrace.Request })},
	{Name: "ptrace.request_num", Kind: KindUint, Types: setOf(TypePtrace), Desc: "the request's number",
		Uint: func(e *Event) uint64 { return uint64(e.Ptrace.Request) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Ptrace.Request, n) }},
	{Name: "ptrace.pid", Kind: KindUint, Types: setOf(TypePtrace), Desc: "the target's pid; for PTRACE_TRACEME the parent, which becomes the tracer",
		Uint: func(e *Event) uint64 { return uint64(e.Ptrace.PID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Ptrace.PID, n) }},
	{Name: "ptrace.name", Kind: KindString, Types: setOf(TypePtrace), Desc: "the target's command name; empty when unknown",
		Str: func(e *Event) string { return target(e.Ptrace.Target).Name }, SetStr: func(e *Event, s string) error { settableTarget(&e.Ptrace.Target).Name = s; return nil }},
	{Name: "ptrace.exe", Kind: KindString, Types: setOf(TypePtrace), Desc: "the target's executable path; empty when unknown",
		Str: func(e *Event) string { return target(e.Ptrace.Target).Exe }, SetStr: func(e *Event, s string) error { settableTarget(&e.Ptrace.Target).Exe = s; return nil }},

	setidField("setid.real", "requested real id (uid for setuid, gid for setgid); -1: left unchanged", false, 0),
	setidField("setid.effective", "requested effective id; -1: left unchanged", false, 1),
	setidField("setid.saved", "requested saved id; -1: left unchanged", false, 2),
	setidField("setid.fs", "requested filesystem id; -1: left unchanged", false, 3),
	setidField("setid.old_real", "real id before the call; -1 if unknown", true, 0),
	setidField("setid.old_effective", "effective id before the call; -1 if unknown", true, 1),
	setidField("setid.old_saved", "saved id before the call; -1 if unknown", true, 2),
	setidField("setid.old_fs", "filesystem id before the call; -1 if unknown", true, 3),
	{Name: "setid.to_root", Kind: KindBool, Types: setidTypes, Desc: "one of the requested ids is 0",
		Bool: func(e *Event) bool { return slices.Contains(e.SetID.Req[:], 0) }, Derived: "setid.real, setid.effective, setid.saved or setid.fs"},

	{Name: "memfd.name", Kind: KindString, Types: setOf(TypeMemfd), Desc: "the name given to memfd_create",
		Str: func(e *Event) string { return e.Memfd.Name }, SetStr: func(e *Event, s string) error { e.Memfd.Name = s; return nil }},
	{Name: "memfd.flags", Kind: KindUint, Types: setOf(TypeMemfd), Desc: "memfd_create flags (MFD_*)",
		Uint: func(e *Event) uint64 { return uint64(e.Memfd.Flags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Memfd.Flags, n) }},

	{Name: "module.name", Kind: KindString, Types: setOf(TypeModule), Desc: "module name from the file name (finit_module); empty for init_module",
		Str: func(e *Event) string { return e.Module.Name }, SetStr: func(e *Event, s string) error { e.Module.Name = s; return nil }},
	{Name: "module.file", Kind: KindString, Types: setOf(TypeModule), Desc: "absolute path of the module file (finit_module)",
		Str: func(e *Event) string { return e.Module.File }, SetStr: func(e *Event, s string) error { e.Module.File = s; return nil }},
	{Name: "module.args", Kind: KindString, Types: setOf(TypeModule), Desc: "module parameters",
		Str: func(e *Event) string { return e.Module.Args }, SetStr: func(e *Event, s string) error { e.Module.Args = s; return nil }},

	{Name: "ns.types", Kind: KindStrings, Types: nsTypes, Desc: "namespace kinds changed: cgroup, ipc, mnt, net, pid, time, user, uts", Values: nsNames(),
		Strs: func(e *Event) []string { return e.NS.Types },
		SetStrs: func(e *Event, l []string) error {
			for _, t := range l {
				if NSFlag(t) == 0 {
					return fmt.Errorf("unknown namespace kind %q", t)
				}
			}
			e.NS.Types = l
			return nil
		}},
	{Name: "ns.flags", Kind: KindUint, Types: nsTypes, Desc: "unshare's flags, or setns's nstype argument (CLONE_* bits)",
		Uint: func(e *Event) uint64 { return e.NS.Flags }, SetInt: func(e *Event, n int64) error { return setU64(&e.NS.Flags, n) }},

	{Name: "mount.source", Kind: KindString, Types: setOf(TypeMount), Desc: "the source (device, directory or name)",
		Str: func(e *Event) string { return e.Mount.Source }, SetStr: func(e *Event, s string) error { e.Mount.Source = s; return nil }},
	{Name: "mount.target", Kind: KindString, Types: setOf(TypeMount), Desc: "the mount point, absolute and normalised",
		Str: func(e *Event) string { return e.Mount.Target }, SetStr: func(e *Event, s string) error { e.Mount.Target = s; return nil }},
	{Name: "mount.fstype", Kind: KindString, Types: setOf(TypeMount), Desc: "the filesystem type; empty for bind mounts and remounts",
		Str: func(e *Event) string { return e.Mount.FSType }, SetStr: func(e *Event, s string) error { e.Mount.FSType = s; return nil }},
	{Name: "mount.flags", Kind: KindUint, Types: setOf(TypeMount), Desc: "mount flags (MS_* bits)",
		Uint: func(e *Event) uint64 { return e.Mount.Flags }, SetInt: func(e *Event, n int64) error { return setU64(&e.Mount.Flags, n) }},

	{Name: "bpf.cmd", Kind: KindString, Types: setOf(TypeBPF), Desc: "the command: BPF_PROG_LOAD, BPF_MAP_CREATE, BPF_LINK_CREATE, ... (only those that load, attach or pin are reported)", Values: bpfCmdNames.values(),
		Str:    func(e *Event) string { return BPFCmdName(e.BPF.Cmd) },
		SetStr: setName(&bpfCmdNames, "bpf command", false, func(e *Event) *uint32 { return &e.BPF.Cmd }),
		// A rule test that gives a program type means a program load.
		Default: func(e *Event) {
			if e.BPF.ProgType != 0 {
				e.BPF.Cmd = bpfProgLoad
			}
		}},
	{Name: "bpf.prog_type", Kind: KindString, Types: setOf(TypeBPF), Desc: "program type of BPF_PROG_LOAD, as bpftool names it (kprobe, tracepoint, xdp, ...); empty otherwise", Values: progTypeNames.values(),
		Str: func(e *Event) string {
			if e.BPF.Cmd != bpfProgLoad {
				return ""
			}
			return BPFProgTypeName(e.BPF.ProgType)
		},
		SetStr: setName(&progTypeNames, "program type", true, func(e *Event) *uint32 { return &e.BPF.ProgType })},
	{Name: "bpf.map_type", Kind: KindString, Types: setOf(TypeBPF), Desc: "map type of BPF_MAP_CREATE (hash, ringbuf, ...); empty otherwise", Values: mapTypeNames.values(),
		Str: func(e *Event) string {
			if e.BPF.Cmd != bpfMapCreate {
				return ""
			}
			return BPFMapTypeName(e.BPF.MapType)
		},
		SetStr: setName(&mapTypeNames, "map type", true, func(e *Event) *uint32 { return &e.BPF.MapType })},
	{Name: "bpf.name", Kind: KindString, Types: setOf(TypeBPF), Desc: "the program's or map's name (at most 15 bytes)",
		Str: func(e *Event) string { return e.BPF.Name }, SetStr: func(e *Event, s string) error { e.BPF.Name = s; return nil }},

	{Name: "socket.domain", Kind: KindString, Types: setOf(TypeSocket), Desc: "the address family asked for: AF_PACKET, AF_INET, AF_NETLINK, ...", Values: sockDomainNames.values(),
		Str:    func(e *Event) string { return SockDomainName(e.Socket.Domain) },
		SetStr: setName(&sockDomainNames, "address family", false, func(e *Event) *uint32 { return &e.Socket.Domain })},
	{Name: "socket.type", Kind: KindString, Types: setOf(TypeSocket), Desc: "the socket type: SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, ... (SOCK_NONBLOCK and SOCK_CLOEXEC left out)", Values: sockTypeNames.values(),
		Str: func(e *Event) string { return SockTypeName(e.Socket.Type) },
		SetStr: func(e *Event, s string) error {
			v, ok := sockTypeNames.parse(s)
			if !ok || v > sockTypeMask {
				return fmt.Errorf("unknown socket type %q", s)
			}
			e.Socket.Type = e.Socket.Type&^sockTypeMask | v
			return nil
		}},
	{Name: "socket.protocol", Kind: KindUint, Types: setOf(TypeSocket), Desc: "the protocol as passed: IPPROTO_* for inet sockets, the ethertype in network byte order for packet sockets (768: ETH_P_ALL), 0 for the default",
		Uint: func(e *Event) uint64 { return uint64(e.Socket.Protocol) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Socket.Protocol, n) }},

	{Name: "userfaultfd.flags", Kind: KindUint, Types: setOf(TypeUserfaultfd), Desc: "userfaultfd flags: O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY (1)",
		Uint: func(e *Event) uint64 { return uint64(e.Uffd.Flags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Uffd.Flags, n) }},
	{Name: "userfaultfd.user_mode_only", Kind: KindBool, Types: setOf(TypeUserfaultfd), Desc: "UFFD_USER_MODE_ONLY: faults in kernel mode are not handled (what an unprivileged process may ask for when vm.unprivileged_userfaultfd is 0)",
		Bool: func(e *Event) bool { return e.Uffd.Flags&uffdUserModeOnly != 0 }, Derived: "userfaultfd.flags"},

	{Name: "truncate.length", Kind: KindInt, Types: setOf(TypeTruncate), Desc: "the length the file is cut or extended to, as passed (a negative one fails with EINVAL)",
		Int: func(e *Event) int64 { return e.Trunc.Length }, SetInt: func(e *Event, n int64) error { e.Trunc.Length = n; return nil }},

	{Name: "chown.uid", Kind: KindInt, Types: setOf(TypeChown), Desc: "the owner asked for, as passed: -1 leaves it unchanged",
		Int: func(e *Event) int64 { return e.Chown.UID }, SetInt: func(e *Event, n int64) error { e.Chown.UID = n; return nil },
		Default: func(e *Event) { e.Chown.UID = -1 }},
	{Name: "chown.gid", Kind: KindInt, Types: setOf(TypeChown), Desc: "the group asked for, as passed: -1 leaves it unchanged",
		Int: func(e *Event) int64 { return e.Chown.GID }, SetInt: func(e *Event, n int64) error { e.Chown.GID = n; return nil },
		Default: func(e *Event) { e.Chown.GID = -1 }},

	{Name: "utimes.atime", Kind: KindInt, Types: setOf(TypeUtimes), Desc: "the access time asked for, in ns since the epoch; -1: the current time (no times given, or UTIME_NOW), -2: left unchanged (UTIME_OMIT)",
		Int: func(e *Event) int64 { return e.Utimes.ATime }, SetInt: func(e *Event, n int64) error { e.Utimes.ATime = n; return nil },
		Default: func(e *Event) { e.Utimes.ATime = UtimeNow }},
	{Name: "utimes.mtime", Kind: KindInt, Types: setOf(TypeUtimes), Desc: "the modification time asked for, in ns since the epoch; -1: the current time, -2: left unchanged",
		Int: func(e *Event) int64 { return e.Utimes.MTime }, SetInt: func(e *Event, n int64) error { e.Utimes.MTime = n; return nil },
		Default: func(e *Event) { e.Utimes.MTime = UtimeNow }},
	{Name: "utimes.explicit", Kind: KindBool, Types: setOf(TypeUtimes), Desc: "some time is set to a given value, not the current time: timestomping (touch -d, touch -r) rather than touch",
		Bool: func(e *Event) bool { return e.Utimes.Explicit() }, Derived: "utimes.atime, utimes.mtime"},

	{Name: "xattr.name", Kind: KindString, Types: setOf(TypeXattr), Desc: "the extended attribute set or removed, with its namespace: security.capability, security.selinux, trusted.overlay.opaque, user.x, ...",
		Str: func(e *Event) string { return e.Xattr.Name }, SetStr: func(e *Event, s string) error { e.Xattr.Name = s; return nil }},
	{Name: "xattr.op", Kind: KindString, Types: setOf(TypeXattr), Desc: "set (setxattr, lsetxattr, fsetxattr, setxattrat) or remove (removexattr, ...)", Values: []string{XattrSet, XattrRemove},
		Str: func(e *Event) string { return e.Xattr.Op },
		SetStr: func(e *Event, s string) error {
			if s != XattrSet && s != XattrRemove {
				return fmt.Errorf("xattr.op %q: want set or remove", s)
			}
			e.Xattr.Op = s
			return nil
		}},
	{Name: "xattr.size", Kind: KindUint, Types: setOf(TypeXattr), Desc: "the length of the value asked for (0 for remove)",
		Uint: func(e *Event) uint64 { return e.Xattr.Size }, SetInt: func(e *Event, n int64) error { return setU64(&e.Xattr.Size, n) }},
	{Name: "xattr.flags", Kind: KindUint, Types: setOf(TypeXattr), Desc: "XATTR_CREATE (1), XATTR_REPLACE (2) of a set",
		Uint: func(e *Event) uint64 { return uint64(e.Xattr.Flags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Xattr.Flags, n) }},
	{Name: "xattr.caps", Kind: KindStrings, Types: setOf(TypeXattr), MaxItems: 64, Values: fileCapNames.values(),
		Desc: "of a set of security.capability (file capabilities, setcap(8)): the permitted capabilities the value grants, in lower case (cap_net_raw, ...); empty for other attributes",
		Strs: func(e *Event) []string { return FileCapNames(e.Xattr.Caps) },
		SetStrs: func(e *Event, l []string) error {
			m, err := fileCapMask(l)
			e.Xattr.Caps = m
			return err
		}},
	{Name: "xattr.caps_effective", Kind: KindBool, Types: setOf(TypeXattr), Desc: "of a set of security.capability: the effective bit (VFS_CAP_FLAGS_EFFECTIVE, setcap's +e): the capabilities are effective at exec, not only permitted",
		Bool: func(e *Event) bool { return e.Xattr.CapsEffective }, SetBool: func(e *Event, b bool) { e.Xattr.CapsEffective = b }},

	{Name: "chattr.flags", Kind: KindUint, Types: setOf(TypeChattr), Desc: "the FS_*_FL inode flags asked for (FS_IOC_SETFLAGS; FS_IOC_FSSETXATTR's immutable, append, sync, noatime, nodump xflags as FS_*_FL): immutable 0x10, append 0x20, ...",
		Uint: func(e *Event) uint64 { return uint64(e.Chattr.Flags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Chattr.Flags, n) }},
	{Name: "chattr.old_flags", Kind: KindUint, Types: setOf(TypeChattr), Desc: "the inode's flags before the call, of those the kernel's inode mirrors: sync, immutable, append, noatime, dirsync (0 when unknown)",
		Uint: func(e *Event) uint64 { return uint64(e.Chattr.OldFlags) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Chattr.OldFlags, n) }},
	{Name: "chattr.set", Kind: KindStrings, Types: setOf(TypeChattr), MaxItems: 5, Values: chattrKnownNames,
		Desc:    "the flags the call adds, of sync, immutable, append, noatime, dirsync (chattr +i: [immutable])",
		Strs:    func(e *Event) []string { return InodeFlagNames(e.Chattr.Set()) },
		Derived: "chattr.flags, chattr.old_flags"},
	{Name: "chattr.cleared", Kind: KindStrings, Types: setOf(TypeChattr), MaxItems: 5, Values: chattrKnownNames,
		Desc:    "the flags the call removes, of the same five (chattr -i: [immutable])",
		Strs:    func(e *Event) []string { return InodeFlagNames(e.Chattr.Cleared()) },
		Derived: "chattr.flags, chattr.old_flags"},
	{Name: "prctl.option", Kind: KindString, Types: setOf(TypePrctl), Desc: "the option by name (PR_SET_NAME, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAP_AMBIENT, ...)", Values: prctlNames.values(),
		Str:    func(e *Event) string { return PrctlOptionName(e.Prctl.Option) },
		SetStr: setName(&prctlNames, "prctl option", false, func(e *Event) *uint32 { return &e.Prctl.Option })},
	{Name: "prctl.option_num", Kind: KindUint, Types: setOf(TypePrctl), Desc: "the option's number",
		Uint: func(e *Event) uint64 { return uint64(e.Prctl.Option) }, SetInt: func(e *Event, n int64) error { return setU32(&e.Prctl.Option, n) }},
	{Name: "prctl.arg2", Kind: KindUint, Types: setOf(TypePrctl), Desc: "the second argument as passed (PR_SET_DUMPABLE's value, PR_SET_PTRACER's pid, PR_CAP_AMBIENT's operation, ...; an address for PR_SET_NAME)",
		Uint: func(e *Event) uint64 { return e.Prctl.Arg2 }, SetInt: func(e *Event, n int64) error { return setU64(&e.Prctl.Arg2, n) }},
	{Name: "prctl.name", Kind: KindString, Types: setOf(TypePrctl), Desc: "for PR_SET_NAME the new thread name (at most 15 bytes, as the kernel keeps it); empty otherwise",
		Str: func(e *Event) string { return e.Prctl.Name }, SetStr: func(e *Event, s string) error { e.Prctl.Name = s; return nil }},

	{Name: "process_vm.pid", Kind: KindUint, Types: setOf(TypeProcessVM), Desc: "the target's pid as passed (in the caller's pid namespace)",
		Uint: func(e *Event) uint64 { return uint64(e.ProcVM.PID) }, SetInt: func(e *Event, n int64) error { return setU32(&e.ProcVM.PID, n) }},
	{Name: "process_vm.write", Kind: KindBool, Types: setOf(TypeProcessVM), Desc: "process_vm_writev: the caller writes the target's memory (false: process_vm_readv reads it)",
		Bool: processVMWrite, Derived: "evt.syscall"},
	{Name: "process_vm.target_name", Kind: KindString, Types: setOf(TypeProcessVM), Desc: "the target's command name, from the process table; empty when unknown",
		Str: func(e *Event) string { return target(e.ProcVM.Target).Name }, SetStr: func(e *Event, s string) error { settableTarget(&e.ProcVM.Target).Name = s; return nil }},
	{Name: "process_vm.target_exe", Kind: KindString, Types: setOf(TypeProcessVM), Desc: "the target's executable path, from the process table; empty when unknown",
		Str: func(e *Event) string { return target(e.ProcVM.Target).Exe }, SetStr: func(e *Event, s string) error { settableTarget(&e.ProcVM.Target).Exe = s; return nil }},

	{Name: "container.id", Kind: KindString, Types: procTypes, Desc: "container id (12 characters for hex ids); empty on the host",
		Str: func(e *Event) string { return e.Proc.Container.ID }, SetStr: func(e *Event, s string) error { e.Proc.Container.ID = s; return nil }},
	{Name: "container.full_id", Kind: KindString, Types: procTypes, Desc: "full container id",
		Str: func(e *Event) string { return e.Proc.Container.FullID }, SetStr: func(e *Event, s string) error { e.Proc.Container.FullID = s; return nil }},
	{Name: "container.runtime", Kind: KindString, Types: procTypes, Desc: "runtime guessed from the cgroup path: docker, containerd, cri, cri-o, podman, lxc",
		Str: func(e *Event) string { return e.Proc.Container.Runtime }, SetStr: func(e *Event, s string) error { e.Proc.Container.Runtime = s; return nil }},
	{Name: "container.name", Kind: KindString, Types: procTypes, Desc: "container name from the runtime (empty until the runtime lookup answers)",
		Str: func(e *Event) string { return e.Proc.Container.Name }, SetStr: func(e *Event, s string) error { e.Proc.Container.Name = s; return nil }},
	{Name: "container.image", Kind: KindString, Types: procTypes, Desc: "container image from the runtime, as the user named it (empty until the runtime lookup answers)",
		Str: func(e *Event) string { return e.Proc.Container.Image }, SetStr: func(e *Event, s string) error { e.Proc.Container.Image = s; return nil }},
	{Name: "container.image_repository", Kind: KindString, Types: procTypes, Desc: "container.image without its tag and digest (docker.io/library/nginx)",
		Str: func(e *Event) string { r, _ := splitImage(e.Proc.Container.Image); return r }, Derived: "container.image"},
	{Name: "container.image_tag", Kind: KindString, Types: procTypes, Desc: "the tag of container.image (1.25); empty without one",
		Str: func(e *Event) string { _, t := splitImage(e.Proc.Container.Image); return t }, Derived: "container.image"},
	{Name: "container.labels", Kind: KindMap, Types: procTypes, Desc: "container labels from the runtime (empty until the runtime lookup answers); container.labels[?\"app\"].orValue(\"\") reads one safely",
		Map: func(e *Event) map[string]string { return e.Proc.Container.Labels },
		// No labels stay nil, as the runtime lookup leaves them.
		SetMap: func(e *Event, m map[string]string) {
			if len(m) > 0 {
				e.Proc.Container.Labels = m
			}
		}},
	{Name: "container.privileged", Kind: KindBool, Types: procTypes, Desc: "the runtime runs the container privileged (docker run --privileged, securityContext.privileged in Kubernetes); false until the runtime lookup answers",
		Bool: func(e *Event) bool { return e.Proc.Container.Privileged }, SetBool: func(e *Event, b bool) { e.Proc.Container.Privileged = b }},
	{Name: "container.mounts", Kind: KindStrings, Types: procTypes, MaxItems: MaxContainerMounts, Desc: "the mounts the runtime set up, as source:dest:rw or source:dest:ro (source: the host path of a bind mount or volume, or a filesystem name such as proc); empty until the runtime lookup answers",
		Strs: func(e *Event) []string { return mountStrings(e.Proc.Container.Mounts) }, SetStrs: setMounts},
	{Name: "container.mount_sources", Kind: KindStrings, Types: procTypes, MaxItems: MaxContainerMounts, Desc: "the sources of container.mounts, in order: container.mount_sources.exists(s, s.glob(\"/var/run/*.sock\")) finds a runtime socket mounted from the host",
		Strs: func(e *Event) []string { return mountParts(e.Proc.Container.Mounts, false) }, Derived: "container.mounts"},
	{Name: "container.mount_dests", Kind: KindStrings, Types: procTypes, MaxItems: MaxContainerMounts, Desc: "the destinations of container.mounts, in order",
		Strs: func(e *Event) []string { return mountParts(e.Proc.Container.Mounts, true) }, Derived: "container.mounts"},
	{Name: "k8s.ns", Kind: KindString, Types: procTypes, Desc: "Kubernetes namespace of the pod (from the runtime lookup)",
		Str: func(e *Event) string { return e.Proc.Container.PodNS }, SetStr: func(e *Event, s string) error { e.Proc.Container.PodNS = s; return nil }},
	{Name: "k8s.pod", Kind: KindString, Types: procTypes, Desc: "Kubernetes pod name (from the runtime lookup)",
		Str: func(e *Event) string { return e.Proc.Container.PodName }, SetStr: func(e *Event, s string) error { e.Proc.Container.PodName = s; return nil }},
}

// chattrKnownNames are the names chattr.set and chattr.cleared can hold.
var chattrKnownNames = InodeFlagNames(ChattrKnown)

// uffdUserModeOnly is UFFD_USER_MODE_ONLY, a flag of userfaultfd(2).
const uffdUserModeOnly = 1

var noProcess Process

// MaxAncestors is the number of ancestors a process's Ancestors holds at
// most.
const MaxAncestors = 16

// MaxContainerMounts is the number of mounts of a container that vigil
// keeps: runtimes set up a few dozen, and the cost estimate of a rule
// over the mount lists needs a bound.
const MaxContainerMounts = 256

func mountStrings(ms []ContainerMount) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		mode := ":ro"
		if m.RW {
			mode = ":rw"
		}
		out[i] = m.Source + ":" + m.Dest + mode
	}
	return out
}

func mountParts(ms []ContainerMount, dest bool) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Source
		if dest {
			out[i] = m.Dest
		}
	}
	return out
}

// setMounts parses container.mounts items. The source ends at the first
// colon, as in docker run -v; the destination must be absolute.
func setMounts(e *Event, l []string) error {
	if len(l) > MaxContainerMounts {
		return fmt.Errorf("%d mounts, more than the %d vigil keeps", len(l), MaxContainerMounts)
	}
	ms := make([]ContainerMount, 0, len(l))
	for _, s := range l {
		rest, mode, ok := cutLast(s, ':')
		src, dest, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || (mode != "rw" && mode != "ro") || !strings.HasPrefix(dest, "/") {
			return fmt.Errorf("mount %q is not source:/dest:rw or source:/dest:ro", s)
		}
		ms = append(ms, ContainerMount{Source: src, Dest: dest, RW: mode == "rw"})
	}
	e.Proc.Container.Mounts = ms
	return nil
}

func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func envText(env map[string]string) string {
	var b strings.Builder
	for i, k := range SortedKeys(env) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(env[k])
	}
	return b.String()
}

// pidStrings renders pids in decimal, in one allocation for the digits.
func pidStrings(pids []uint32) []string {
	if len(pids) == 0 {
		return nil
	}
	buf := make([]byte, 0, 8*len(pids))
	ends := make([]int, len(pids))
	for i, p := range pids {
		buf = strconv.AppendUint(buf, uint64(p), 10)
		ends[i] = len(buf)
	}
	all := string(buf)
	out := make([]string, len(pids))
	start := 0
	for i, end := range ends {
		out[i], start = all[start:end], end
	}
	return out
}

func parsePIDs(l []string) ([]uint32, error) {
	if len(l) == 0 {
		return nil, nil
	}
	out := make([]uint32, len(l))
	for i, s := range l {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("ancestor pid %q is not a number", s)
		}
		out[i] = uint32(n)
	}
	return out, nil
}

func argv0(p *Process) string {
	if len(p.Argv) == 0 {
		return ""
	}
	return p.Argv[0]
}

// splitImage splits an image reference into its repository and tag: the
// digest (@sha256:...) goes, and a tag is what follows the last colon
// after the last slash (a colon before it is a registry's port).
func splitImage(image string) (repo, tag string) {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		return image[:i], image[i+1:]
	}
	return image, ""
}

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
