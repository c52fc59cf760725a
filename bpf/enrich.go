package bpf

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// handle applies a decoded record to the process table and returns the
// event for it.
func (r *Reader) handle(d *Record) *event.Event {
	ev := &event.Event{
		Time:   r.clock.wall(d.Ktime),
		Source: "tracepoint",
		TID:    d.TID,
		UID:    d.UID,
		GID:    d.GID,
		EUID:   d.EUID,
		User:   event.User{UID: d.UID, Name: r.users.Name(d.UID)},
	}
	switch d.Type {
	case vgExec:
		ev.Type = event.TypeExec
		if d.Flags&uint16(vigilVgExecFlagsVG_EXEC_DENIED) != 0 {
			// Refused by BPF LSM: the process keeps its image.
			ev.Proc = r.procs.ExecAttempt(execProcess(d, r.clock))
			ev.Res = -1 // EPERM
			break
		}
		ev.Proc = r.procs.Exec(execProcess(d, r.clock))
	case vgFork:
		// The event is the parent's (the caller's); the result is the child.
		ev.Type = event.TypeFork
		ev.Proc = r.proc(d)
		ev.Res = int64(d.ChildPID)
		r.procs.Fork(d.PID, d.ChildPID, r.clock.wall(d.ChildStartNs), d.CgroupID)
	case vgExit:
		ev.Type = event.TypeExit
		ev.Proc = r.proc(d)
		ev.Res = exitCode(d.Status)
		r.procs.Exit(d.PID)
	case vgOpen:
		ev.Type = event.TypeOpen
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		ev.File = event.File{
			Path:    absPath(d.RawPath, d.Base, ev.Proc.Cwd),
			RawPath: d.RawPath,
			Flags:   d.OFlags,
			Mode:    d.Mode,
		}
	case vgUnlink, vgMkdir:
		ev.Type = event.TypeUnlink
		if d.Type == vgMkdir {
			ev.Type = event.TypeMkdir
		}
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		ev.File = event.File{Path: absPath(d.RawPath, d.Base, ev.Proc.Cwd), RawPath: d.RawPath, Flags: d.OFlags, Mode: d.Mode}
	case vgConnect:
		ev.Type = event.TypeConnect
		ev.Proc = r.proc(d)
		ev.Res = d.Ret
		ev.Net = connectNet(d)
	default:
		return nil
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
	}
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
	}
	if sockType&0xf == 3 {
		return "raw"
	}
	if p == 0 {
		return ""
	}
	return "proto_" + strconv.Itoa(int(p))
}
