package event

// RecordKind names the C record struct (bpf/include/vigil.h) that carries
// an event type from the kernel: the decoder reads its layout by it.
type RecordKind uint8

// Record kinds.
const (
	RecordNone    RecordKind = iota
	RecordExec               // struct vg_exec
	RecordFork               // struct vg_fork
	RecordExit               // struct vg_exit
	RecordOpen               // struct vg_open: one path, flags and mode
	RecordConnect            // struct vg_connect: a socket and its addresses
	RecordSys                // struct vg_sys: six arguments and five strings
)

// String is the C struct's name ("vg_exec").
func (k RecordKind) String() string {
	return [...]string{"", "vg_exec", "vg_fork", "vg_exit", "vg_open", "vg_connect", "vg_sys"}[k]
}

// Filter is a set of kernel-side argument filters: checks that drop, in
// the kernel, the events of a type that no enabled rule can match
// (engine/argfilter.go derives them from the rules, bpf/filter.go installs
// them).
type Filter uint8

// Argument filters.
const (
	// FilterName: only the command names (proc.name) that every rule of
	// the type requires (map vg_names).
	FilterName Filter = 1 << iota
	// FilterOpenPath: the open filter, file.path prefixes with the open
	// flags the rules require (map vg_open_paths).
	FilterOpenPath
	// FilterPath: file.path prefixes, or those of TypeInfo.SecondPath for
	// a rule that does not constrain file.path (map vg_file_paths).
	FilterPath
	// FilterPtraceRequest: only the ptrace.request values the rules name.
	FilterPtraceRequest
	// FilterSetidRoot: only calls asking for id 0, when every rule
	// requires setid.to_root.
	FilterSetidRoot
	// FilterBPFCmd: only the bpf.cmd values the rules name.
	FilterBPFCmd
	// FilterPrctlOption: only the prctl.option values the rules name.
	FilterPrctlOption
	// FilterSocket: only the (socket.domain, socket.type) pairs the rules
	// can match.
	FilterSocket
)

// Class is an event type's traffic class: which kernel ring buffer
// carries its records and whether the per-process rate limit applies
// (bpf/c/common.h submit, docs/events.md "Kernel side").
type Class uint8

// Traffic classes.
const (
	ClassNone Class = iota
	// ClassProcess: exec, fork, exit. The priority ring, never rate
	// limited: the process table depends on every one of them.
	ClassProcess
	// ClassNetwork: sockets. The priority ring, rate limited per process.
	ClassNetwork
	// ClassPrivilege: credentials, namespaces, modules, mounts, ptrace,
	// bpf, memfd. The priority ring, rate limited per process.
	ClassPrivilege
	// ClassFile: the high-volume file types. The bulk ring, rate limited
	// per process, so that a flood of them never costs another class.
	ClassFile
)

// String is the class's name ("file").
func (c Class) String() string {
	return [...]string{"", "process", "network", "privilege", "file"}[c]
}

// Bulk says whether the class's records go through the bulk ring.
func (c Class) Bulk() bool { return c == ClassFile }

// Limited says whether the class's records are under the per-process
// rate limit.
func (c Class) Limited() bool { return c != ClassNone && c != ClassProcess }

// Syscall is one syscall that produces an event type. Its program is
// tp_<Name> on the tracepoint syscalls/sys_exit_<Name> (and, for a type
// with TypeInfo.Entry, tp_enter_<Name> on sys_enter_<Name>).
type Syscall struct {
	Name string
	// Optional says when the tracepoint may be missing: a syscall
	// younger than the oldest kernel vigil supports, or one a kernel can
	// be built without. Such a hook is skipped where it is missing (and
	// reported); any other failure to attach is an error.
	Optional string
}

// TypeInfo is one row of the event-type table: everything the decoder,
// the enricher, the kernel hooks, the argument filters and the text
// format need to know of a type.
type TypeInfo struct {
	Name   string     // evt.type
	C      string     // its enum vg_type constant in bpf/include/vigil.h
	Record RecordKind // the record struct it arrives in
	Class  Class      // the ring buffer and rate limit its records go through
	// Syscalls produce the type, in attach order; none for exec, fork and
	// exit, which come from scheduler tracepoints (bpf/c/process.c).
	Syscalls []Syscall
	// Entry: each syscall has an entry program too, which saves what is
	// gone at exit: the ids before a set*id call (attached only while a
	// rule reads them), the inode's flags before a chattr ioctl.
	Entry   bool
	Filters Filter
	// SecondPath is the field of the second path that a FilterPath
	// filter matches when a rule does not constrain file.path.
	SecondPath string
	// Text are the keys the text format prints after the process's.
	Text []TextKey
	// Change is how an event of the type changes a file (file.change, one
	// of Changes); "" for types that change none. An open changes a file
	// only when it writes, creates or truncates it (Event.Change).
	Change string
	// ChangedPath is the field that names the changed file when it is
	// not file.path: file.newpath, the name a rename puts a file at.
	ChangedPath string
}

// Changes are the values of file.change: how an event changes a file.
// Opens are "write" or, with O_TRUNC, "truncate".
var Changes = []string{ChangeWrite, ChangeTruncate, ChangeRename, ChangeLink, ChangeSymlink, ChangeChmod,
	ChangeChown, ChangeTimes, ChangeXattr, ChangeFlags}

// File changes (TypeInfo.Change).
const (
	ChangeWrite    = "write"    // opened for writing or created
	ChangeTruncate = "truncate" // emptied or cut: O_TRUNC
	ChangeRename   = "rename"   // another file renamed onto the name
	ChangeLink     = "link"     // a hard link created at the name
	ChangeSymlink  = "symlink"  // a symbolic link created at the name
	ChangeChmod    = "chmod"    // permission bits changed
	ChangeChown    = "chown"    // owner or group changed
	ChangeTimes    = "times"    // access or modification time set (utimes)
	ChangeXattr    = "xattr"    // an extended attribute set or removed (file capabilities)
	ChangeFlags    = "flags"    // inode flags set (chattr: immutable, append-only)
)

// ChangedPathField is the field that names the file an event of t
// changes: file.path, or TypeInfo.ChangedPath.
func (t Type) ChangedPathField() string {
	if p := t.Info().ChangedPath; p != "" {
		return p
	}
	return "file.path"
}

// Change is how e changes the file that ChangedPath names; "" when it
// changes none. Failed calls count: evt.failed says whether it happened.
func (e *Event) Change() string {
	c := e.Type.Info().Change
	if e.Type != TypeOpen || c == "" {
		return c
	}
	switch {
	case e.File.Trunc():
		return ChangeTruncate
	case e.File.Write() || e.File.Create():
		return ChangeWrite
	}
	return ""
}

// TypesChanging is the set of the types whose events can change a file
// in the way change names (a file.change value).
func TypesChanging(change string) TypeSet {
	return typesWhere(func(t *TypeInfo) bool {
		return t.Change == change || t.Change == ChangeWrite && change == ChangeTruncate
	})
}

// ChangedPath is the path of the file e changes, "" when it changes none.
func (e *Event) ChangedPath() string {
	if e.Change() == "" {
		return ""
	}
	if e.Type.ChangedPathField() == "file.newpath" {
		return e.File.Target
	}
	return e.File.Path
}

// TextKey is one key=value of the text format.
type TextKey struct {
	Key string
	// Value is the value; ok false leaves the key out.
	Value func(e *Event) (v string, ok bool)
}

// noModules: a kernel built without CONFIG_MODULES has no module syscalls
// (they fail with ENOSYS), so nothing is missed.
const noModules = "absent without CONFIG_MODULES"

func syscalls(names ...string) []Syscall {
	out := make([]Syscall, len(names))
	for i, n := range names {
		out[i] = Syscall{Name: n}
	}
	return out
}

// pathFilters are the argument filters of the types that name a file.
const pathFilters = FilterName | FilterPath

// typeTable is the event-type table, indexed by Type.
var typeTable = [numTypes]TypeInfo{
	TypeExec: {Name: "exec", C: "VG_EXEC", Record: RecordExec, Class: ClassProcess, Text: []TextKey{txtCmdline, txtCwd, txtParent, txtMemfdExe}},
	TypeFork: {Name: "fork", C: "VG_FORK", Record: RecordFork, Class: ClassProcess},
	TypeExit: {Name: "exit", C: "VG_EXIT", Record: RecordExit, Class: ClassProcess},
	TypeOpen: {Name: "open", C: "VG_OPEN", Record: RecordOpen, Class: ClassFile, Syscalls: syscalls("open", "openat", "openat2", "creat"),
		Filters: FilterOpenPath, Text: []TextKey{txtFile, txtOpenFlags}, Change: ChangeWrite},
	TypeConnect: {Name: "connect", C: "VG_CONNECT", Record: RecordConnect, Class: ClassNetwork, Syscalls: syscalls("connect"),
		Text: []TextKey{txtDest, txtProto, txtSrc}},
	TypeUnlink: {Name: "unlink", C: "VG_UNLINK", Record: RecordOpen, Class: ClassFile, Syscalls: syscalls("unlink", "unlinkat", "rmdir"),
		Filters: pathFilters, Text: []TextKey{txtFile}},
	TypeMkdir: {Name: "mkdir", C: "VG_MKDIR", Record: RecordOpen, Class: ClassFile, Syscalls: syscalls("mkdir", "mkdirat"),
		Filters: pathFilters, Text: []TextKey{txtFile, txtMode}},
	TypeRename: {Name: "rename", C: "VG_RENAME", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("rename", "renameat", "renameat2"),
		Filters: pathFilters, SecondPath: "file.newpath", Text: []TextKey{txtFile, txtNewPath},
		Change: ChangeRename, ChangedPath: "file.newpath"},
	TypeLink: {Name: "link", C: "VG_LINK", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("link", "linkat"),
		Filters: pathFilters, SecondPath: "file.target", Text: []TextKey{txtLink, txtLinkTarget}, Change: ChangeLink},
	TypeSymlink: {Name: "symlink", C: "VG_SYMLINK", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("symlink", "symlinkat"),
		Filters: pathFilters, SecondPath: "file.target", Text: []TextKey{txtLink, txtLinkTarget}, Change: ChangeSymlink},
	TypeChmod: {Name: "chmod", C: "VG_CHMOD", Record: RecordSys, Class: ClassFile,
		Syscalls: append(syscalls("chmod", "fchmod", "fchmodat"), Syscall{"fchmodat2", "Linux 6.6+"}),
		Filters:  pathFilters, Text: []TextKey{txtFile, txtMode}, Change: ChangeChmod},
	TypePtrace: {Name: "ptrace", C: "VG_PTRACE", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("ptrace"),
		Filters: FilterName | FilterPtraceRequest, Text: []TextKey{txtPtraceRequest, txtPtracePID, txtPtraceTarget}},
	TypeSetuid: {Name: "setuid", C: "VG_SETUID", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("setuid", "setreuid", "setresuid", "setfsuid"),
		Entry: true, Filters: FilterName | FilterSetidRoot, Text: []TextKey{txtIDs, txtOldIDs}},
	TypeSetgid: {Name: "setgid", C: "VG_SETGID", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("setgid", "setregid", "setresgid", "setfsgid"),
		Entry: true, Filters: FilterName | FilterSetidRoot, Text: []TextKey{txtIDs, txtOldIDs}},
	TypeMemfd: {Name: "memfd_create", C: "VG_MEMFD", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("memfd_create"),
		Filters: FilterName, Text: []TextKey{txtMemfdName}},
	TypeModule: {Name: "module_load", C: "VG_MODULE", Record: RecordSys, Class: ClassPrivilege,
		Syscalls: []Syscall{{"init_module", noModules}, {"finit_module", noModules}},
		Filters:  FilterName, Text: []TextKey{txtModule, txtModuleFile}},
	TypeSetns: {Name: "setns", C: "VG_SETNS", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("setns"),
		Filters: FilterName, Text: []TextKey{txtNS}},
	TypeUnshare: {Name: "unshare", C: "VG_UNSHARE", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("unshare"),
		Filters: FilterName, Text: []TextKey{txtNS}},
	TypeMount: {Name: "mount", C: "VG_MOUNT", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("mount"),
		Filters: FilterName, Text: []TextKey{txtMountSource, txtMountTarget, txtFSType}},
	TypeBPF: {Name: "bpf", C: "VG_BPF", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("bpf"),
		Filters: FilterName | FilterBPFCmd, Text: []TextKey{txtBPFCmd, txtBPFName}},
	TypeDup: {Name: "dup", C: "VG_DUP", Record: RecordConnect, Class: ClassNetwork, Syscalls: syscalls("dup", "dup2", "dup3", "fcntl"),
		Filters: FilterName, Text: []TextKey{txtPeer, txtLocal, txtProto}},
	TypeAccept: {Name: "accept", C: "VG_ACCEPT", Record: RecordConnect, Class: ClassNetwork, Syscalls: syscalls("accept", "accept4"),
		Filters: FilterName, Text: []TextKey{txtPeer, txtLocal, txtProto}},
	TypeListen: {Name: "listen", C: "VG_LISTEN", Record: RecordConnect, Class: ClassNetwork, Syscalls: syscalls("listen"),
		Filters: FilterName, Text: []TextKey{txtPeer, txtLocal, txtProto}},
	// As frequent as connect: network class, under the rate limit.
	TypeSocket: {Name: "socket", C: "VG_SOCKET", Record: RecordSys, Class: ClassNetwork, Syscalls: syscalls("socket"),
		Filters: FilterName | FilterSocket, Text: []TextKey{txtSockDomain, txtSockType, txtSockProto}},
	TypeUserfaultfd: {Name: "userfaultfd", C: "VG_USERFAULTFD", Record: RecordSys, Class: ClassPrivilege,
		Syscalls: []Syscall{{"userfaultfd", "absent without CONFIG_USERFAULTFD"}},
		Filters:  FilterName, Text: []TextKey{txtUffdFlags}},
	TypeTruncate: {Name: "truncate", C: "VG_TRUNCATE", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("truncate", "ftruncate"),
		Filters: pathFilters, Text: []TextKey{txtFile, txtTruncLength}, Change: ChangeTruncate},
	TypeChown: {Name: "chown", C: "VG_CHOWN", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("chown", "fchown", "lchown", "fchownat"),
		Filters: pathFilters, Text: []TextKey{txtFile, txtOwner}, Change: ChangeChown},
	TypeUtimes: {Name: "utimes", C: "VG_UTIMES", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("utime", "utimes", "futimesat", "utimensat"),
		Filters: pathFilters, Text: []TextKey{txtFile, txtATime, txtMTime}, Change: ChangeTimes},
	TypeXattr: {Name: "xattr", C: "VG_XATTR", Record: RecordSys, Class: ClassFile,
		Syscalls: append(syscalls("setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"),
			Syscall{"setxattrat", "Linux 6.13+"}, Syscall{"removexattrat", "Linux 6.13+"}),
		Filters: pathFilters, Text: []TextKey{txtFile, txtXattrOp, txtXattrName, txtXattrSize, txtXattrCaps, txtXattrCapsEff}, Change: ChangeXattr},
	// Only three ioctl commands: the programs return at once for others.
	TypeChattr: {Name: "chattr", C: "VG_CHATTR", Record: RecordSys, Class: ClassFile, Syscalls: syscalls("ioctl"),
		Entry: true, Filters: pathFilters, Text: []TextKey{txtFile, txtChattrSet, txtChattrCleared, txtChattrFlags}, Change: ChangeFlags},
	TypePrctl: {Name: "prctl", C: "VG_PRCTL", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("prctl"),
		Filters: FilterName | FilterPrctlOption, Text: []TextKey{txtPrctlOption, txtPrctlArg2, txtPrctlName}},
	TypeProcessVM: {Name: "process_vm", C: "VG_PROCESS_VM", Record: RecordSys, Class: ClassPrivilege, Syscalls: syscalls("process_vm_readv", "process_vm_writev"),
		Filters: FilterName, Text: []TextKey{txtProcVMWrite, txtProcVMPID, txtProcVMTarget}},
}

// Info is t's row of the event-type table; the empty row for TypeNone
// and unknown types.
func (t Type) Info() *TypeInfo {
	if t < numTypes {
		return &typeTable[t]
	}
	return &typeTable[TypeNone]
}

// TypesWith lists the types that have every filter of f, in tag order:
// where the argument filters are derived and installed.
func TypesWith(f Filter) []Type {
	var out []Type
	for _, t := range Types() {
		if t.Info().Filters&f == f {
			out = append(out, t)
		}
	}
	return out
}

// typesWhere is the set of the types whose row satisfies ok.
func typesWhere(ok func(*TypeInfo) bool) TypeSet {
	var s TypeSet
	for _, t := range Types() {
		if ok(t.Info()) {
			s |= 1 << t
		}
	}
	return s
}
