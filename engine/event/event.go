package event

import (
	"net/netip"
	"path"
	"strings"
	"time"
)

// Type is the kind of an event.
type Type uint8

// Event types: the index of the type's row in the event-type table
// (types.go), and the record tag of the kernel side (enum vg_type in
// bpf/include/vigil.h; bpf/types_test.go checks that they agree).
const (
	TypeNone Type = iota
	TypeExec
	TypeFork
	TypeExit
	TypeOpen
	TypeConnect
	TypeUnlink
	TypeMkdir
	TypeRename
	TypeLink
	TypeSymlink
	TypeChmod
	TypePtrace
	TypeSetuid
	TypeSetgid
	TypeMemfd
	TypeModule
	TypeSetns
	TypeUnshare
	TypeMount
	TypeBPF
	TypeDup // of a socket onto fd 0, 1 or 2 (dup, dup2, dup3, fcntl F_DUPFD)
	TypeAccept
	TypeListen
	TypeSocket
	TypeUserfaultfd
	TypeTruncate
	TypeChown
	TypeUtimes
	TypeXattr
	TypeChattr
	TypePrctl
	TypeProcessVM
	numTypes
)

// NumTypes bounds the Type values: arrays indexed by Type have this length.
const NumTypes = numTypes

func (t Type) String() string {
	if t < numTypes {
		return typeTable[t].Name
	}
	return "unknown"
}

// ParseType returns the Type named s ("exec", "open", ...).
func ParseType(s string) (Type, bool) {
	for _, t := range Types() {
		if typeTable[t].Name == s {
			return t, true
		}
	}
	return TypeNone, false
}

// Types lists every event type with a name, in tag order.
func Types() []Type {
	ts := make([]Type, 0, numTypes-1)
	for t := TypeExec; t < numTypes; t++ {
		ts = append(ts, t)
	}
	return ts
}

// Names are the names of ts, in the order given (for messages and logs).
func Names(ts ...Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// Values of evt.source: the kind of kernel hook that built the record.
const (
	SourceTracepoint = "tracepoint" // a tracepoint (syscall exit, or the scheduler's for exec, fork, exit)
	SourceLSM        = "lsm"        // a BPF LSM hook: an exec it refused, which no tracepoint sees
)

// Event is one decoded, enriched kernel event. Proc is never nil once the
// event has left the bpf package; Parent is nil when the parent is unknown.
// Process values are immutable snapshots and may be shared between events.
type Event struct {
	Type   Type
	Time   time.Time
	Res    int64  // syscall result: fd, 0, or -errno; exit code for exit
	Source string // SourceTracepoint or SourceLSM

	TID      uint32 // thread that caused the event
	UID      uint32 // credentials at the time of the event
	GID      uint32
	EUID     uint32
	CapEff   uint64 // effective capabilities (bit n: capability n)
	CapPrm   uint64 // permitted capabilities
	CapInh   uint64 // inheritable capabilities
	LoginUID uint32 // audit login uid; NoLoginUID when unset
	Syscall  string // the syscall, for types that several syscalls produce ("" for exec, fork, exit)

	Proc   *Process
	Parent *Process
	User   User

	File   File        // open, unlink, mkdir, rename, link, symlink, chmod, truncate, chown, utimes, xattr, chattr
	Net    Net         // connect, dup, accept, listen
	Ptrace Ptrace      // ptrace
	SetID  SetID       // setuid, setgid
	Memfd  Memfd       // memfd_create
	Module Module      // module_load
	NS     NS          // setns, unshare
	Mount  Mount       // mount
	BPF    BPF         // bpf
	Socket Socket      // socket
	Uffd   Userfaultfd // userfaultfd
	Trunc  Truncate    // truncate
	Chown  Chown       // chown
	Utimes Utimes      // utimes
	Xattr  Xattr       // xattr
	Chattr Chattr      // chattr
	Prctl  Prctl       // prctl
	ProcVM ProcessVM   // process_vm

	// Enforcement is what the kernel's policy did (deny and kill rules).
	Enforcement Enforcement
}

// NoLoginUID is the login uid of processes no login session started.
const NoLoginUID = 0xffffffff

// Failed reports whether the syscall returned an error.
func (e *Event) Failed() bool { return e.Res < 0 }

// User is the user of the event's thread.
type User struct {
	UID   uint32
	Name  string // from the host's passwd database; "" when unknown
	Home  string // home directory from the passwd database
	Shell string // login shell from the passwd database (/usr/sbin/nologin for system users)
}

// Process is what is known of a process (thread group) at some point of its
// life: it is replaced, never modified, on exec.
type Process struct {
	PID  uint32
	PPID uint32
	// The ids as the process sees them in its own pid namespace (where a
	// container's init is 1), at exec or fork: setsid(2) and setpgid(2)
	// after that are not seen. 0: not visible there.
	VPID      uint32
	VPGID     uint32   // process group id
	SID       uint32   // session id
	SName     string   // the session leader's Name: the eldest ancestor in the session, or the process itself
	Name      string   // comm, at most 15 bytes
	Exe       string   // absolute path, as /proc/PID/exe shows it
	Argv      []string // argv[0] included
	ArgsTrunc bool     // the kernel cut argv short
	Cmdline   string   // Name followed by Argv[1:], space separated (Falco's proc.cmdline)
	Cwd       string
	TTY       uint32 // tty_nr as in /proc/PID/stat; 0 without a controlling terminal
	UID       uint32
	GID       uint32
	EUID      uint32
	Start     time.Time
	ExeMemfd  bool // the executable is a memfd (fileless execution)
	// ExeUpperLayer: in a container, the executable is on its overlay's
	// upper layer (written or changed since the container started), as
	// far as vigil could tell at exec.
	ExeUpperLayer bool
	CgroupID      uint64
	Container     Container
	Ancestors     []string // names of the ancestors, nearest first, as they were when this image started
	// The ancestors' executable paths, argv[0]s and pids, in the order
	// of Ancestors.
	AncestorExes   []string
	AncestorArgv0s []string
	AncestorPIDs   []uint32
	// Env is the environment at exec, when collected (opt-in): every
	// name, with its value for allow-listed names and "" for the rest.
	Env map[string]string
	// Stdio is what fds 0, 1 and 2 were at exec (a later dup2 onto them
	// is an event of its own, dup).
	Stdio [3]Stdio
	// Script is the script file an interpreter runs (a shell, python,
	// perl, ...), absolute; "" for other programs and for code from -c,
	// a module or stdin.
	Script string
}

// Stdio is what one of a process's fds 0, 1 and 2 was at exec.
type Stdio struct {
	Type string // one of StdioTypes
	Ino  uint64 // inode number: the two ends of one pipe have the same
	Peer string // inet sockets: the remote end, "ip:port" or "[ipv6]:port"; "" otherwise
	// Pipes of stdin and stdout: the name and executable of the process
	// on the pipe's other end (stdin: a writer, stdout: a reader) in the
	// same pipeline, when it had executed before this process did.
	PipeName, PipeExe string
}

// StdioTypes are the values of Stdio.Type: a terminal (the kernel's tty
// drivers: tty 4:*, /dev/tty 5:0, console 5:1, pts 136-143:*), another
// character device, a pipe (or FIFO), a socket, a regular file, a
// directory, a closed fd, and anything else (block devices, anonymous
// inodes such as an eventfd).
var StdioTypes = []string{"tty", "char", "pipe", "socket", "file", "dir", "none", "other"}

// Args returns argv without argv[0] (Falco's proc.args).
func (p *Process) Args() []string {
	if len(p.Argv) <= 1 {
		return nil
	}
	return p.Argv[1:]
}

// MakeCmdline builds the Cmdline value for a name and argv.
func MakeCmdline(name string, argv []string) string {
	if len(argv) <= 1 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	for _, a := range argv[1:] {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	return b.String()
}

// Container describes the container a process runs in. ID is empty for
// processes of the host.
type Container struct {
	ID      string // short id: 12 hex characters for hex ids, the whole name otherwise
	FullID  string
	Runtime string // docker, containerd, cri, cri-o, podman, lxc
	Name    string // from the runtime (Known); may be empty
	Image   string
	Labels  map[string]string // never modified once set
	PodNS   string
	PodName string
	// Privileged: the runtime gives the container every capability and
	// every device, and no seccomp or LSM confinement.
	Privileged bool
	Mounts     []ContainerMount // never modified once set
	// Known is set once the runtime's answer (possibly "no such
	// container") has been applied to Name, Image, Labels, the pod,
	// Privileged and Mounts.
	Known bool
}

// ContainerMount is a mount the runtime set up for a container: a bind
// mount of a host path, a volume, or a filesystem such as proc.
type ContainerMount struct {
	Source string // host path, volume path or filesystem name (proc, tmpfs)
	Dest   string // where it is mounted in the container
	RW     bool   // mounted read-write
}

// File is the file of a file event.
type File struct {
	Path    string // absolute and lexically normalised
	RawPath string // as passed to the syscall
	Flags   uint32 // open flags (O_*); unlinkat, renameat2, linkat, fchmodat2, fchownat, utimensat, *xattrat flags
	Mode    uint32 // mode argument (permission bits for O_CREAT, mkdir, chmod)
	// Target is a second path: the new path of a rename, the existing
	// file of a link, what a symlink points to (resolved against the
	// link's directory), absolute and normalised; RawTarget as passed.
	Target    string
	RawTarget string
}

// atRemoveDir is unlinkat's AT_REMOVEDIR, kept in File.Flags of unlinks.
const atRemoveDir = 0x200

// Open flag bits used by the derived fields (values of x86-64 and arm64).
const (
	oAccMode = 0x3
	oWronly  = 0x1
	oRdwr    = 0x2
	oCreat   = 0x40
	oTrunc   = 0x200
	oTmpfile = 0x410000
)

// Name is the last element of Path.
func (f *File) Name() string { return baseName(f.Path) }

// Dir is Path without its last element.
func (f *File) Dir() string { return dirName(f.Path) }

// baseName is p's last element, "" for "".
func baseName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// dirName is p without its last element, "" for "".
func dirName(p string) string {
	if p == "" {
		return ""
	}
	return path.Dir(p)
}

// Read reports whether the file was opened for reading.
func (f *File) Read() bool { acc := f.Flags & oAccMode; return acc == 0 || acc == oRdwr }

// Write reports whether the file was opened for writing.
func (f *File) Write() bool { acc := f.Flags & oAccMode; return acc == oWronly || acc == oRdwr }

// Create reports whether the open may create the file (O_CREAT or O_TMPFILE).
func (f *File) Create() bool { return f.Flags&oCreat != 0 || f.Flags&oTmpfile == oTmpfile }

// Trunc reports whether the open truncates the file.
func (f *File) Trunc() bool { return f.Flags&oTrunc != 0 }

// Net is the socket address of a connect event.
type Net struct {
	Family   string // "ipv4", "ipv6", "unix", or "af_N" for other families
	Proto    string // "tcp", "udp", "icmp", "icmpv6", "sctp", "raw" or ""
	SockType string // "stream", "dgram", "seqpacket", "raw"
	DIP      netip.Addr
	DPort    uint16
	SIP      netip.Addr
	SPort    uint16
	Path     string // unix socket path; abstract names start with "@"
}

// Ptrace is the request of a ptrace event and the process it targets.
type Ptrace struct {
	Request uint32
	PID     uint32   // as passed (a thread id); for PTRACE_TRACEME the tracer, the parent
	Target  *Process // nil when the target is unknown
}

// SetID are the ids of a setuid or setgid family call (user ids for
// setuid, group ids for setgid), in the order real, effective, saved,
// filesystem.
type SetID struct {
	Req [4]int64 // as requested; -1: left unchanged
	Old [4]int64 // before the call; -1: unknown
}

// Memfd is a memfd_create call.
type Memfd struct {
	Name  string
	Flags uint32 // MFD_*
}

// Module is a module load attempt.
type Module struct {
	Name  string // from the file name for finit_module; "" for init_module
	File  string // the module file (finit_module)
	Args  string // the parameters
	Flags uint32 // finit_module flags
}

// NS is a setns or unshare call.
type NS struct {
	Types []string // namespace kinds: cgroup, ipc, mnt, net, pid, time, user, uts
	Flags uint64   // unshare's flags, setns's nstype argument
}

// Mount is a mount call.
type Mount struct {
	Source string
	Target string // absolute, normalised
	FSType string
	Flags  uint64 // MS_*
}

// BPF is a bpf(2) call that loads, attaches or pins something.
type BPF struct {
	Cmd      uint32 // enum bpf_cmd
	ProgType uint32 // for BPF_PROG_LOAD
	MapType  uint32 // for BPF_MAP_CREATE
	Name     string // the program's or map's name
}

// Socket is a socket(2) call.
type Socket struct {
	Domain uint32 // AF_*
	Type   uint32 // SOCK_*, with the SOCK_NONBLOCK and SOCK_CLOEXEC flags
	// Protocol is as passed: IPPROTO_* for inet sockets, the ethertype
	// in network byte order for packet sockets (768: ETH_P_ALL), 0 for
	// the domain's default.
	Protocol uint32
}

// Userfaultfd is a userfaultfd(2) call.
type Userfaultfd struct {
	Flags uint32 // O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY
}

// Truncate is a truncate(2) or ftruncate(2) call.
type Truncate struct {
	Length int64 // the length asked for, as passed
}

// Chown is a chown, fchown, lchown or fchownat call: the owner and group
// asked for, as passed (-1: left unchanged).
type Chown struct {
	UID int64
	GID int64
}

// Utimes is a utime, utimes, futimesat or utimensat call: the access and
// modification times asked for, in nanoseconds since the epoch, or
// UtimeNow or UtimeOmit.
type Utimes struct {
	ATime int64
	MTime int64
}

// The values of Utimes times that are not a time.
const (
	// UtimeNow: the current time (a NULL array, or UTIME_NOW), what
	// touch(1) without -d or -r asks for.
	UtimeNow = -1
	// UtimeOmit: left as it is (UTIME_OMIT).
	UtimeOmit = -2
)

// Explicit reports whether some time is set to a given value rather than
// to the current time: what timestomping (touch -d, touch -r) does.
func (u *Utimes) Explicit() bool {
	return (u.ATime != UtimeNow && u.ATime != UtimeOmit) || (u.MTime != UtimeNow && u.MTime != UtimeOmit)
}

// Xattr is a call that sets or removes an extended attribute.
type Xattr struct {
	Name  string // the attribute, with its namespace: security.capability, user.x, ...
	Op    string // XattrSet or XattrRemove
	Size  uint64 // the value's length asked for (set)
	Flags uint32 // XATTR_CREATE, XATTR_REPLACE (set)
	// Caps and CapsEffective are what a security.capability value
	// grants: the permitted set (bit n: capability n) and the effective
	// bit (VFS_CAP_FLAGS_EFFECTIVE), zero for any other attribute.
	Caps          uint64
	CapsEffective bool
}

// Values of Xattr.Op.
const (
	XattrSet    = "set"
	XattrRemove = "remove"
)

// XattrFileCaps is the attribute holding a file's capabilities.
const XattrFileCaps = "security.capability"

// Chattr is an ioctl that sets a file's inode flags (chattr(1)):
// FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS or FS_IOC_FSSETXATTR.
type Chattr struct {
	// Flags are the FS_*_FL flags asked for (FSSETXATTR's immutable,
	// append, sync, noatime and nodump xflags as their FS_*_FL bits).
	Flags uint32
	// OldFlags are the inode's before the call, as far as the kernel's
	// own inode flags tell them: the ChattrKnown bits only (0: unknown).
	OldFlags uint32
}

// FS_*_FL flags (linux/fs.h) of the inode flags.
const (
	FSSyncFL      = 0x8
	FSImmutableFL = 0x10
	FSAppendFL    = 0x20
	FSNodumpFL    = 0x40
	FSNoatimeFL   = 0x80
	FSDirsyncFL   = 0x10000
	// ChattrKnown are the flags OldFlags can know: the ones the VFS
	// inode mirrors (S_SYNC, S_IMMUTABLE, S_APPEND, S_NOATIME,
	// S_DIRSYNC). Others (nodump, extent, ...) live in each filesystem's
	// own inode only.
	ChattrKnown = FSSyncFL | FSImmutableFL | FSAppendFL | FSNoatimeFL | FSDirsyncFL
)

// Set are the ChattrKnown flags the call adds.
func (c *Chattr) Set() uint32 { return c.Flags &^ c.OldFlags & ChattrKnown }

// Cleared are the ChattrKnown flags the call removes.
func (c *Chattr) Cleared() uint32 { return c.OldFlags &^ c.Flags & ChattrKnown }

// Prctl is a prctl(2) call.
type Prctl struct {
	Option uint32 // PR_*
	Arg2   uint64 // as passed (for PR_SET_NAME the name's address)
	Name   string // the new name of PR_SET_NAME; "" for other options
}

// ProcessVM is a process_vm_readv(2) or process_vm_writev(2) call (which
// one is evt.syscall).
type ProcessVM struct {
	PID    uint32   // the target's pid as passed
	Target *Process // nil when the target is unknown
}
