package bpf

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// handle applies a decoded record to the process table and returns the
// event for it. The record's layout, from the event-type table, says how;
// the record tag is the event type.
func (r *Reader) handle(d *Record) *event.Event {
	t := event.Type(d.Type)
	ev := &event.Event{
		Type:     t,
		Time:     r.clock.wall(d.Ktime),
		Source:   event.SourceTracepoint,
		TID:      d.TID,
		UID:      d.UID,
		GID:      d.GID,
		EUID:     d.EUID,
		CapEff:   d.CapEff,
		CapPrm:   d.CapPrm,
		CapInh:   d.CapInh,
		LoginUID: d.LoginUID,
		User:     r.users.User(d.UID),
	}
	switch t.Info().Record {
	case event.RecordExec:
		r.applyExec(ev, d)
	case event.RecordFork:
		// The event is the parent's (the caller's); the result is the child.
		ev.Proc = r.proc(d)
		ev.Res = int64(d.ChildPID)
		r.procs.Fork(d.PID, process.Child{PID: d.ChildPID, Start: r.clock.wall(d.ChildStartNs), CgroupID: d.CgroupID,
			VPID: d.VPID, VPGID: d.VPGID, SID: d.SID})
	case event.RecordExit:
		ev.Proc = r.proc(d)
		ev.Res = exitCode(d.Status)
		r.procs.Exit(d.PID)
	case event.RecordOpen:
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		ev.File = event.File{Path: absPath(d.RawPath, d.Base, ev.Proc.Cwd), RawPath: d.RawPath, Flags: d.OFlags, Mode: d.Mode}
	case event.RecordConnect:
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		if t == event.TypeConnect {
			ev.Net = connectNet(d) // the address passed, not the socket's peer
		} else {
			ev.Net = sockNet(d)
		}
	case event.RecordSys:
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		r.sysEvent(ev, d)
	default:
		return nil
	}
	if d.Syscall != 0 {
		ev.Syscall = syscallName(d.Syscall)
	}
	if c := ev.Proc.Container; r.meta != nil && c.FullID != "" && !c.Known {
		if c, ok := r.meta(c); ok {
			ev.Proc = r.procs.WithContainer(ev.Proc, c)
		}
	}
	ev.Parent = r.procs.Parent(ev.Proc)
	if d.Policy != 0 {
		ev.Enforcement = r.policy.Load().outcome(ev.Type, d.Policy)
	}
	return ev
}

// applyExec applies an exec record: a new image, or an attempt that the BPF
// LSM hook refused (and reported, since no tracepoint sees it), which
// leaves the process its image.
func (r *Reader) applyExec(ev *event.Event, d *Record) {
	p := execProcess(d, r.clock)
	if d.Flags&uint16(vigilVgExecFlagsVG_EXEC_DENIED) != 0 {
		ev.Source = event.SourceLSM
		ev.Proc = r.procs.ExecAttempt(p)
		ev.Res = -1 // EPERM
		return
	}
	if len(d.Env) > 0 {
		p.Env = parseEnv(d.Env, d.Flags&uint16(vigilVgExecFlagsVG_EXEC_ENV_TRUNC) != 0, r.envValues())
	}
	ev.Proc = r.procs.Exec(p)
}

// proc is the process of a record, from the table or, when neither the
// table nor /proc knows it, from what the record itself says.
func (r *Reader) proc(d *Record) *event.Process {
	if p := r.procs.Lookup(d.PID); p != nil {
		return r.procs.Moved(p, d.CgroupID)
	}
	return &event.Process{PID: d.PID, Name: d.Comm, Cmdline: d.Comm, UID: d.UID, GID: d.GID, EUID: d.EUID, CgroupID: d.CgroupID}
}

func execProcess(d *Record, c clock) *event.Process {
	exe := d.Exe
	if d.Flags&uint16(vigilVgExecFlagsVG_EXEC_EXE_DELETED) != 0 {
		exe += " (deleted)" // as /proc/PID/exe shows it
	}
	return &event.Process{
		PID:       d.PID,
		PPID:      d.PPID,
		VPID:      d.VPID,
		VPGID:     d.VPGID,
		SID:       d.SID,
		Name:      d.Comm,
		Exe:       exe,
		Argv:      slices.Clone(d.Argv),
		ArgsTrunc: d.Flags&uint16(vigilVgExecFlagsVG_EXEC_ARGS_TRUNC) != 0,
		Cwd:       d.Cwd,
		TTY:       d.TTY,
		UID:       d.UID,
		GID:       d.GID,
		EUID:      d.EUID,
		Start:     c.wall(d.StartNs),
		ExeMemfd:  d.Flags&uint16(vigilVgExecFlagsVG_EXEC_EXE_MEMFD) != 0,
		CgroupID:  d.CgroupID,
		Stdio:     [3]event.Stdio{stdioOf(&d.Stdio[0]), stdioOf(&d.Stdio[1]), stdioOf(&d.Stdio[2])},
	}
}

// S_IFMT kinds of a struct vg_stdio's mode.
const (
	sIFIFO  = 0o010000
	sIFCHR  = 0o020000
	sIFDIR  = 0o040000
	sIFREG  = 0o100000
	sIFSOCK = 0o140000
)

// stdioOf is what an fd was at exec, as event.Stdio says it.
func stdioOf(s *Stdio) event.Stdio {
	if !s.Open {
		return event.Stdio{Type: "none"}
	}
	out := event.Stdio{Type: "other", Ino: s.Ino}
	switch s.Mode {
	case sIFIFO:
		out.Type = "pipe"
	case sIFCHR:
		out.Type = "char"
		if isTTY(s.Rdev>>20, s.Rdev&0xfffff) {
			out.Type = "tty"
		}
	case sIFDIR:
		out.Type = "dir"
	case sIFREG:
		out.Type = "file"
	case sIFSOCK:
		out.Type = "socket"
		out.Peer = stdioPeer(s)
	}
	return out
}

// isTTY: the terminal devices (Documentation/admin-guide/devices.txt):
// virtual consoles and serial ports (4), /dev/tty and /dev/console (5:0,
// 5:1; 5:2 is /dev/ptmx, a pseudo-terminal's master side) and the
// pseudo-terminals' slave side (136-143).
func isTTY(major, minor uint32) bool {
	return major == 4 || major == 5 && minor <= 1 || major >= 136 && major <= 143
}

// stdioPeer is an inet socket's remote end, "" when it has none.
func stdioPeer(s *Stdio) string {
	if s.DPort == 0 {
		return ""
	}
	switch s.Family {
	case afInet:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(s.DAddr[:4])), s.DPort).String()
	case afInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.DAddr), s.DPort).String()
	}
	return ""
}

// exitCode is what a shell would report: the exit status, or 128+signal.
func exitCode(status uint32) int64 {
	if sig := status & 0x7f; sig != 0 {
		return 128 + int64(sig)
	}
	return int64(status>>8) & 0xff
}

// absPath is the absolute, lexically normalised path of an open: raw as is
// when absolute, else joined to the directory the kernel resolved it
// against (the cwd or the dirfd's path). When the kernel could not tell
// that directory, the process's cwd as known at exec is the best guess.
func absPath(raw, base, cwd string) string {
	switch {
	case raw == "":
		return ""
	case raw[0] == '/':
		return path.Clean(raw)
	case base != "":
		return path.Join(base, raw)
	case cwd != "":
		return path.Join(cwd, raw)
	}
	return raw
}

const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

func familyName(f uint16) string {
	switch f {
	case afInet:
		return "ipv4"
	case afInet6:
		return "ipv6"
	case afUnix:
		return "unix"
	}
	return "af_" + strconv.Itoa(int(f))
}

func connectNet(d *Record) event.Net {
	family := d.Family
	if d.Flags&uint16(vigilVgConnectFlagsVG_CONNECT_ADDR_FAULT) != 0 {
		family = d.SockFamily
	}
	n := event.Net{Family: familyName(family), SockType: sockTypeName(d.SockType)}
	if family != afUnix {
		n.Proto = protoName(d.Protocol, d.SockType)
	}
	switch family {
	case afInet:
		n.DIP = netip.AddrFrom4([4]byte(d.DAddr[:4]))
		n.DPort = d.DPort
	case afInet6:
		n.DIP = netip.AddrFrom16(d.DAddr)
		n.DPort = d.DPort
	case afUnix:
		n.Path = unixPath(d.UnixPath)
	}
	if d.SPort != 0 {
		switch d.SockFamily {
		case afInet:
			n.SIP = netip.AddrFrom4([4]byte(d.SAddr[:4]))
		case afInet6:
			n.SIP = netip.AddrFrom16(d.SAddr)
		}
		n.SPort = d.SPort
	}
	return n
}

// unixPath renders sun_path: abstract names (leading NUL) get a leading
// "@", as ss(8) and Falco show them; a filesystem path ends at its NUL.
func unixPath(p string) string {
	if p == "" {
		return ""
	}
	if p[0] == 0 {
		return "@" + strings.TrimRight(p[1:], "\x00")
	}
	if i := strings.IndexByte(p, 0); i >= 0 {
		return p[:i]
	}
	return p
}

func sockTypeName(t uint16) string {
	switch t & 0xf { // the rest are SOCK_NONBLOCK/SOCK_CLOEXEC
	case 1:
		return "stream"
	case 2:
		return "dgram"
	case 3:
		return "raw"
	case 5:
		return "seqpacket"
	case 0:
		return ""
	}
	return "type_" + strconv.Itoa(int(t&0xf))
}

func protoName(p, sockType uint16) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	case 255:
		return "raw"
	case 262:
		return "mptcp" // Go listeners use it by default since Go 1.24
	}
	if sockType&0xf == 3 {
		return "raw"
	}
	if p == 0 {
		return ""
	}
	return "proto_" + strconv.Itoa(int(p))
}

// sysEvent fills the type-specific part of a vg_sys record's event (the
// meaning of Args and Strs per syscall is in vigil.h).
func (r *Reader) sysEvent(ev *event.Event, d *Record) {
	cwd := ev.Proc.Cwd
	a := d.Args
	switch ev.Type {
	case event.TypeRename:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0],
			Target: absPath(d.Strs[2], d.Strs[3], cwd), RawTarget: d.Strs[2], Flags: uint32(a[0])}
	case event.TypeLink:
		ev.File = event.File{Path: absPath(d.Strs[2], d.Strs[3], cwd), RawPath: d.Strs[2],
			Target: absPath(d.Strs[0], d.Strs[1], cwd), RawTarget: d.Strs[0], Flags: uint32(a[0])}
	case event.TypeSymlink:
		link := absPath(d.Strs[2], d.Strs[3], cwd)
		ev.File = event.File{Path: link, RawPath: d.Strs[2], Target: symlinkTarget(d.Strs[0], link), RawTarget: d.Strs[0]}
	case event.TypeChmod:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0], Mode: uint32(a[0]), Flags: uint32(a[1])}
	case event.TypePtrace:
		ev.Ptrace = event.Ptrace{Request: uint32(a[0]), PID: uint32(a[1])}
		if ev.Ptrace.Request == ptraceTraceme {
			ev.Ptrace.PID = ev.Proc.PPID // the tracer-to-be
		}
		if ev.Ptrace.PID != 0 {
			// A thread id; /proc answers for threads too.
			ev.Ptrace.Target = r.procs.Lookup(ev.Ptrace.PID)
		}
	case event.TypeSetuid, event.TypeSetgid:
		for i := range 4 {
			ev.SetID.Req[i] = int64(int32(uint32(a[i])))
		}
		old := [4]uint32{uint32(a[4]), uint32(a[4] >> 32), uint32(a[5]), uint32(a[5] >> 32)}
		for i, v := range old {
			ev.SetID.Old[i] = int64(int32(v))
		}
	case event.TypeMemfd:
		ev.Memfd = event.Memfd{Name: d.Strs[0], Flags: uint32(a[0])}
	case event.TypeModule:
		ev.Module = event.Module{File: d.Strs[0], Name: moduleName(d.Strs[0]), Args: d.Strs[4]}
		if d.Syscall == uint16(vigilVgSyscallVG_SYS_FINIT_MODULE) {
			ev.Module.Flags = uint32(a[0])
		}
	case event.TypeSetns:
		kind := a[2] // what the descriptor is, when it is a namespace
		if kind == 0 {
			kind = a[0] // a pidfd: the nstype argument says which
		}
		ev.NS = event.NS{Types: event.NSTypes(kind), Flags: a[0]}
	case event.TypeUnshare:
		ev.NS = event.NS{Types: event.NSTypes(a[0]), Flags: a[0]}
	case event.TypeMount:
		ev.Mount = event.Mount{Source: d.Strs[0], Target: absPath(d.Strs[2], d.Strs[3], cwd), FSType: d.Strs[4], Flags: a[0]}
	case event.TypeBPF:
		ev.BPF = event.BPF{Cmd: uint32(a[0]), Name: cString(d.Strs[0])}
		switch ev.BPF.Cmd {
		case bpfProgLoad:
			ev.BPF.ProgType = uint32(a[1])
		case bpfMapCreate:
			ev.BPF.MapType = uint32(a[1])
		}
	case event.TypeSocket:
		ev.Socket = event.Socket{Domain: uint32(a[0]), Type: uint32(a[1]), Protocol: uint32(a[2])}
	case event.TypeUserfaultfd:
		ev.Uffd = event.Userfaultfd{Flags: uint32(a[0])}
	case event.TypeTruncate:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0]}
		ev.Trunc = event.Truncate{Length: int64(a[0])}
	case event.TypeChown:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0], Flags: uint32(a[2])}
		ev.Chown = event.Chown{UID: int64(int32(uint32(a[0]))), GID: int64(int32(uint32(a[1])))}
	case event.TypeXattr:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0], Flags: uint32(a[2])}
		ev.Xattr = event.Xattr{Name: cString(d.Strs[2]), Op: event.XattrRemove}
		switch vigilVgSyscall(d.Syscall) {
		case vigilVgSyscallVG_SYS_SETXATTR, vigilVgSyscallVG_SYS_LSETXATTR, vigilVgSyscallVG_SYS_FSETXATTR, vigilVgSyscallVG_SYS_SETXATTRAT:
			ev.Xattr.Op, ev.Xattr.Size, ev.Xattr.Flags = event.XattrSet, a[0], uint32(a[1])
			if ev.Xattr.Name == event.XattrFileCaps {
				ev.Xattr.Caps, ev.Xattr.CapsEffective = fileCaps([]byte(d.Strs[4]))
			}
		}
	case event.TypeChattr:
		ev.File = event.File{Path: absPath(d.Strs[0], "", cwd), RawPath: d.Strs[0]}
		ev.Chattr = event.Chattr{Flags: uint32(a[0]), OldFlags: inodeFlags(uint32(a[2]))}
		if a[1] == fsIocFSSetXattr {
			ev.Chattr.Flags = xflagsFL(uint32(a[0]))
		}
	case event.TypeUtimes:
		ev.File = event.File{Path: absPath(d.Strs[0], d.Strs[1], cwd), RawPath: d.Strs[0], Flags: uint32(a[5])}
		ev.Utimes = event.Utimes{ATime: utimesTime(d.Syscall, a[4], a[0], a[1]), MTime: utimesTime(d.Syscall, a[4], a[2], a[3])}
	case event.TypeProcessVM:
		ev.ProcVM = event.ProcessVM{PID: uint32(a[0])}
		if ev.ProcVM.PID != 0 {
			ev.ProcVM.Target = r.procs.Lookup(ev.ProcVM.PID)
		}
	case event.TypePrctl:
		ev.Prctl = event.Prctl{Option: uint32(a[0]), Arg2: a[1], Name: cString(d.Strs[0])}
	}
}

// fsIocFSSetXattr is FS_IOC_FSSETXATTR, whose flags are FS_XFLAG_*.
const fsIocFSSetXattr = 0x401c5820

// xflagsFL maps FS_XFLAG_* flags to their FS_*_FL equivalents (those of
// chattr(1); the others have none).
func xflagsFL(x uint32) uint32 {
	var fl uint32
	for _, m := range [...][2]uint32{
		{0x8, event.FSImmutableFL}, {0x10, event.FSAppendFL}, {0x20, event.FSSyncFL},
		{0x40, event.FSNoatimeFL}, {0x80, event.FSNodumpFL},
	} {
		if x&m[0] != 0 {
			fl |= m[1]
		}
	}
	return fl
}

// inodeFlags maps the VFS inode's S_* flags (i_flags) to FS_*_FL: the
// event.ChattrKnown flags.
func inodeFlags(s uint32) uint32 {
	var fl uint32
	for _, m := range [...][2]uint32{
		{0x1, event.FSSyncFL}, {0x2, event.FSNoatimeFL}, {0x4, event.FSAppendFL},
		{0x8, event.FSImmutableFL}, {0x40, event.FSDirsyncFL},
	} {
		if s&m[0] != 0 {
			fl |= m[1]
		}
	}
	return fl
}

// fileCaps decodes the head of a security.capability value (struct
// vfs_cap_data, revision 1, 2 or 3; little endian): the permitted set and
// the effective bit. A value too short for its revision, or of another
// revision, grants nothing: the kernel refuses it (EINVAL).
func fileCaps(v []byte) (permitted uint64, effective bool) {
	const (
		revMask = 0xff000000
		rev1    = 0x01000000 // 32 capabilities: 12 bytes
		rev2    = 0x02000000 // 64: 20 bytes
		rev3    = 0x03000000 // 64 and the namespace's root uid: 24 bytes
		capsEff = 0x000001   // VFS_CAP_FLAGS_EFFECTIVE
	)
	if len(v) < 4 {
		return 0, false
	}
	magic := binary.LittleEndian.Uint32(v)
	need := map[uint32]int{rev1: 12, rev2: 20, rev3: 24}[magic&revMask]
	if need == 0 || len(v) < need {
		return 0, false
	}
	permitted = uint64(binary.LittleEndian.Uint32(v[4:]))
	if magic&revMask != rev1 {
		permitted |= uint64(binary.LittleEndian.Uint32(v[12:])) << 32
	}
	return permitted, magic&capsEff != 0
}

// utimesTime is one time of a utime* call (how: enum vg_utimes_how; the
// seconds and sub-seconds as passed) in ns since the epoch, or
// event.UtimeNow or event.UtimeOmit. An unreadable array counts as
// omitted: the call fails with EFAULT. Times beyond int64 nanoseconds
// saturate; a given time equal to a sentinel is moved to -3 ns, so that
// no given time reads as "now" or "omitted".
func utimesTime(sc uint16, how, sec, sub uint64) int64 {
	switch vigilVgUtimesHow(how) {
	case vigilVgUtimesHowVG_UTIMES_NULL:
		return event.UtimeNow
	case vigilVgUtimesHowVG_UTIMES_FAULT:
		return event.UtimeOmit
	}
	var ns int64
	switch vigilVgSyscall(sc) {
	case vigilVgSyscallVG_SYS_UTIMENSAT:
		switch sub {
		case utimeNow:
			return event.UtimeNow
		case utimeOmit:
			return event.UtimeOmit
		}
		ns = int64(sub)
	case vigilVgSyscallVG_SYS_UTIMES, vigilVgSyscallVG_SYS_FUTIMESAT:
		ns = int64(sub) * 1000 // microseconds; out of range fails with EINVAL
	}
	s := int64(sec)
	switch {
	case s > math.MaxInt64/nsPerSec:
		return math.MaxInt64
	case s < math.MinInt64/nsPerSec:
		return math.MinInt64
	}
	t := s * nsPerSec
	switch {
	case ns > 0 && t > math.MaxInt64-ns:
		return math.MaxInt64
	case ns < 0 && t < math.MinInt64-ns:
		return math.MinInt64
	}
	t += ns
	if t == event.UtimeNow || t == event.UtimeOmit {
		return -3
	}
	return t
}

const (
	nsPerSec = 1_000_000_000
	// utimensat's special tv_nsec values.
	utimeNow  = 1<<30 - 1
	utimeOmit = 1<<30 - 2
)

const (
	ptraceTraceme = 0
	bpfMapCreate  = 0
	bpfProgLoad   = 5
)

// symlinkTarget is where a symlink at link pointing to target leads,
// lexically: relative targets are relative to the link's directory.
func symlinkTarget(target, link string) string {
	switch {
	case target == "":
		return ""
	case target[0] == '/':
		return path.Clean(target)
	case link == "" || link[0] != '/':
		return target
	}
	return path.Join(path.Dir(link), target)
}

// moduleName is the module name a module file's name implies
// ("/lib/modules/x/kernel/fs/fat/vfat.ko.xz" -> "vfat"); modprobe's
// convention of "-" for "_" is applied too.
func moduleName(file string) string {
	if file == "" {
		return ""
	}
	name := path.Base(file)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		name = strings.TrimSuffix(name, ext)
	}
	name = strings.TrimSuffix(name, ".ko")
	return strings.ReplaceAll(name, "-", "_")
}

// cString is s up to its first NUL.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// sockNet is the socket of a dup, accept or listen record: its own
// family and local address, and its peer's when connected.
func sockNet(d *Record) event.Net {
	if d.Flags&uint16(vigilVgConnectFlagsVG_CONNECT_NOT_SOCKET) != 0 {
		return event.Net{}
	}
	n := event.Net{Family: familyName(d.SockFamily), SockType: sockTypeName(d.SockType)}
	if d.SockFamily != afUnix {
		n.Proto = protoName(d.Protocol, d.SockType)
	}
	switch d.SockFamily {
	case afInet:
		n.SIP = netip.AddrFrom4([4]byte(d.SAddr[:4]))
		if d.DPort != 0 {
			n.DIP = netip.AddrFrom4([4]byte(d.DAddr[:4]))
		}
	case afInet6:
		n.SIP = netip.AddrFrom16(d.SAddr)
		if d.DPort != 0 {
			n.DIP = netip.AddrFrom16(d.DAddr)
		}
	}
	n.SPort, n.DPort = d.SPort, d.DPort
	return n
}

// parseEnv turns a NUL-separated environment into names and, for names
// in values, their values ("" for the rest: a name is never a secret, a
// value may be). The last variable of a truncated environment is dropped
// unless its name is whole.
func parseEnv(b []byte, trunc bool, values map[string]bool) map[string]string {
	env := make(map[string]string)
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		last := i < 0
		if last {
			i = len(b)
		}
		kv := b[:i]
		b = b[min(i+1, len(b)):]
		eq := bytes.IndexByte(kv, '=')
		if eq <= 0 {
			continue // not NAME=VALUE (or a cut name)
		}
		name := string(kv[:eq])
		val := ""
		if values[name] && !(last && trunc) {
			val = string(kv[eq+1:])
		}
		env[name] = val
	}
	return env
}

// syscallNames is indexed by enum vg_syscall: the kernel's ids of the
// syscalls of the event-type table (bpf/types_test.go checks both ways).
var syscallNames [vigilVgSyscallVG_SYS_PROCESS_VM_WRITEV + 1]string

func init() {
	for id, name := range map[vigilVgSyscall]string{
		vigilVgSyscallVG_SYS_OPEN: "open", vigilVgSyscallVG_SYS_OPENAT: "openat", vigilVgSyscallVG_SYS_OPENAT2: "openat2",
		vigilVgSyscallVG_SYS_CREAT: "creat", vigilVgSyscallVG_SYS_UNLINK: "unlink", vigilVgSyscallVG_SYS_UNLINKAT: "unlinkat",
		vigilVgSyscallVG_SYS_RMDIR: "rmdir", vigilVgSyscallVG_SYS_MKDIR: "mkdir", vigilVgSyscallVG_SYS_MKDIRAT: "mkdirat",
		vigilVgSyscallVG_SYS_RENAME: "rename", vigilVgSyscallVG_SYS_RENAMEAT: "renameat", vigilVgSyscallVG_SYS_RENAMEAT2: "renameat2",
		vigilVgSyscallVG_SYS_LINK: "link", vigilVgSyscallVG_SYS_LINKAT: "linkat", vigilVgSyscallVG_SYS_SYMLINK: "symlink",
		vigilVgSyscallVG_SYS_SYMLINKAT: "symlinkat", vigilVgSyscallVG_SYS_CHMOD: "chmod", vigilVgSyscallVG_SYS_FCHMOD: "fchmod",
		vigilVgSyscallVG_SYS_FCHMODAT: "fchmodat", vigilVgSyscallVG_SYS_FCHMODAT2: "fchmodat2", vigilVgSyscallVG_SYS_PTRACE: "ptrace",
		vigilVgSyscallVG_SYS_SETUID: "setuid", vigilVgSyscallVG_SYS_SETREUID: "setreuid", vigilVgSyscallVG_SYS_SETRESUID: "setresuid",
		vigilVgSyscallVG_SYS_SETFSUID: "setfsuid", vigilVgSyscallVG_SYS_SETGID: "setgid", vigilVgSyscallVG_SYS_SETREGID: "setregid",
		vigilVgSyscallVG_SYS_SETRESGID: "setresgid", vigilVgSyscallVG_SYS_SETFSGID: "setfsgid",
		vigilVgSyscallVG_SYS_MEMFD_CREATE: "memfd_create", vigilVgSyscallVG_SYS_INIT_MODULE: "init_module",
		vigilVgSyscallVG_SYS_FINIT_MODULE: "finit_module", vigilVgSyscallVG_SYS_SETNS: "setns", vigilVgSyscallVG_SYS_UNSHARE: "unshare",
		vigilVgSyscallVG_SYS_MOUNT: "mount", vigilVgSyscallVG_SYS_BPF: "bpf", vigilVgSyscallVG_SYS_DUP: "dup",
		vigilVgSyscallVG_SYS_DUP2: "dup2", vigilVgSyscallVG_SYS_DUP3: "dup3", vigilVgSyscallVG_SYS_ACCEPT: "accept",
		vigilVgSyscallVG_SYS_ACCEPT4: "accept4", vigilVgSyscallVG_SYS_LISTEN: "listen", vigilVgSyscallVG_SYS_CONNECT: "connect",
		vigilVgSyscallVG_SYS_SOCKET: "socket", vigilVgSyscallVG_SYS_USERFAULTFD: "userfaultfd",
		vigilVgSyscallVG_SYS_TRUNCATE: "truncate", vigilVgSyscallVG_SYS_FTRUNCATE: "ftruncate",
		vigilVgSyscallVG_SYS_CHOWN: "chown", vigilVgSyscallVG_SYS_FCHOWN: "fchown", vigilVgSyscallVG_SYS_LCHOWN: "lchown",
		vigilVgSyscallVG_SYS_FCHOWNAT: "fchownat", vigilVgSyscallVG_SYS_UTIME: "utime", vigilVgSyscallVG_SYS_UTIMES: "utimes",
		vigilVgSyscallVG_SYS_FUTIMESAT: "futimesat", vigilVgSyscallVG_SYS_UTIMENSAT: "utimensat",
		vigilVgSyscallVG_SYS_SETXATTR: "setxattr", vigilVgSyscallVG_SYS_LSETXATTR: "lsetxattr", vigilVgSyscallVG_SYS_FSETXATTR: "fsetxattr",
		vigilVgSyscallVG_SYS_REMOVEXATTR: "removexattr", vigilVgSyscallVG_SYS_LREMOVEXATTR: "lremovexattr",
		vigilVgSyscallVG_SYS_FREMOVEXATTR: "fremovexattr", vigilVgSyscallVG_SYS_SETXATTRAT: "setxattrat",
		vigilVgSyscallVG_SYS_REMOVEXATTRAT: "removexattrat", vigilVgSyscallVG_SYS_IOCTL: "ioctl",
		vigilVgSyscallVG_SYS_PRCTL: "prctl", vigilVgSyscallVG_SYS_FCNTL: "fcntl",
		vigilVgSyscallVG_SYS_PROCESS_VM_READV: "process_vm_readv", vigilVgSyscallVG_SYS_PROCESS_VM_WRITEV: "process_vm_writev",
	} {
		syscallNames[uint16(id)] = name
	}
}

// syscallName names a record's syscall id (enum vg_syscall).
func syscallName(id uint16) string {
	if int(id) < len(syscallNames) && syscallNames[id] != "" {
		return syscallNames[id]
	}
	return "syscall_" + strconv.Itoa(int(id))
}
