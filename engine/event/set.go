package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// derived fields are computed from others and cannot be set.
var derived = map[string]string{
	"evt.failed":  "evt.res",
	"file.name":   "file.path",
	"file.dir":    "file.path",
	"file.read":   "file.flags",
	"file.write":  "file.flags",
	"file.create": "file.flags",
	"file.trunc":  "file.flags",
	"file.setuid": "file.mode",
	"file.setgid": "file.mode",
	// setid.to_root derives from the requested ids
	"setid.to_root": "setid.real, setid.effective, setid.saved or setid.fs",
}

// FromFields builds an event from field values, as rule tests give them:
// strings, numbers, booleans, timestamps (RFC 3339 strings) and lists of
// strings, keyed by field name. Derived fields (file.name, file.read, ...)
// cannot be given; set the field they derive from. proc.args sets argv
// after proc.name; proc.cmdline, file.rawpath and user.uid default to what
// the other fields imply.
func FromFields(values map[string]any) (*Event, error) {
	e := &Event{Proc: &Process{}, Source: "tracepoint"}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors
	var parent Process
	hasParent, hasCmdline, hasRaw, hasUser := false, false, false, false
	var args []string
	hasArgs := false
	for _, name := range names {
		v := values[name]
		if from, ok := derived[name]; ok {
			return nil, fmt.Errorf("%s is derived from %s; set %s instead", name, from, from)
		}
		f, ok := FieldByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown field %q", name)
		}
		var err error
		switch name {
		case "proc.pname", "proc.pexe", "proc.pcmdline":
			hasParent = true
			var s string
			if s, err = toString(v); err == nil {
				switch name {
				case "proc.pname":
					parent.Name = s
				case "proc.pexe":
					parent.Exe = s
				default:
					parent.Cmdline = s
				}
			}
		case "proc.args":
			hasArgs = true
			args, err = toStrings(v)
		default:
			hasCmdline = hasCmdline || name == "proc.cmdline"
			hasRaw = hasRaw || name == "file.rawpath"
			hasUser = hasUser || name == "user.uid"
			err = set(e, f, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if hasArgs {
		e.Proc.Argv = append([]string{e.Proc.Name}, args...)
	}
	if !hasCmdline {
		e.Proc.Cmdline = MakeCmdline(e.Proc.Name, e.Proc.Argv)
	}
	if !hasRaw {
		e.File.RawPath = e.File.Path
	}
	if !hasUser {
		e.User.UID = e.UID
	}
	if _, ok := values["bpf.cmd"]; !ok {
		if _, ok := values["bpf.prog_type"]; ok {
			e.BPF.Cmd = 5 // BPF_PROG_LOAD, the command the field belongs to
		}
	}
	if _, ok := values["proc.loginuid"]; !ok {
		e.LoginUID = NoLoginUID
	}
	// Ids not given are -1 (unchanged, unknown), not root.
	for i, names := range [2][4]string{
		{"setid.real", "setid.effective", "setid.saved", "setid.fs"},
		{"setid.old_real", "setid.old_effective", "setid.old_saved", "setid.old_fs"},
	} {
		for j, name := range names {
			if _, ok := values[name]; !ok {
				if i == 0 {
					e.SetID.Req[j] = -1
				} else {
					e.SetID.Old[j] = -1
				}
			}
		}
	}
	if hasParent {
		parent.PID = e.Proc.PPID
		if parent.Cmdline == "" {
			parent.Cmdline = parent.Name
		}
		e.Parent = &parent
	}
	return e, nil
}

// DecodeJSON reads one event as `vigil events --format json` prints it.
// Derived fields are recomputed rather than read.
func DecodeJSON(line []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for name := range derived {
		delete(m, name)
	}
	// Zero values of the other event types' fields are not printed, and
	// null times come from zero times.
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return FromFields(m)
}

func set(e *Event, f *Field, v any) error {
	p := e.Proc
	switch f.Kind {
	case KindString:
		s, err := toString(v)
		if err != nil {
			return err
		}
		return setString(e, f.Name, s)
	case KindInt, KindUint:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		if f.Kind == KindUint && (n < 0 || (!wideFields[f.Name] && n > math.MaxUint32)) {
			return fmt.Errorf("%d out of range", n)
		}
		return setInt(e, f.Name, n)
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want a boolean, got %T", v)
		}
		switch f.Name {
		case "proc.args_truncated":
			p.ArgsTrunc = b
		case "proc.exe_memfd":
			p.ExeMemfd = b
		}
	case KindTime:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		if f.Name == "evt.time" {
			e.Time = t
		} else {
			p.Start = t
		}
	case KindStrings:
		l, err := toStrings(v)
		if err != nil {
			return err
		}
		switch f.Name {
		case "proc.cap_effective":
			for _, c := range l {
				i := slices.Index(capNames[:], c)
				if i < 0 {
					return fmt.Errorf("unknown capability %q", c)
				}
				e.CapEff |= 1 << i
			}
		case "ns.types":
			for _, t := range l {
				if NSFlag(t) == 0 {
					return fmt.Errorf("unknown namespace kind %q", t)
				}
			}
			e.NS.Types = l
		default:
			p.Ancestors = l // proc.args is handled by FromFields
		}
	case KindMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object of strings, got %T", v)
		}
		m := make(map[string]string, len(obj))
		for k, x := range obj {
			s, err := toString(x)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			m[k] = s
		}
		if f.Name == "proc.env" {
			p.Env = m
		} else if len(m) > 0 {
			p.Container.Labels = m
		}
	case KindIP:
		s, err := toString(v)
		if err != nil {
			return err
		}
		var ip netip.Addr
		if s != "" {
			if ip, err = netip.ParseAddr(s); err != nil {
				return err
			}
		}
		if f.Name == "net.dip" {
			e.Net.DIP = ip
		} else {
			e.Net.SIP = ip
		}
	}
	return nil
}

func setString(e *Event, name, s string) error {
	p := e.Proc
	switch name {
	case "evt.type":
		t, ok := ParseType(s)
		if !ok {
			return fmt.Errorf("unknown event type %q", s)
		}
		e.Type = t
	case "evt.source":
		e.Source = s
	case "proc.name":
		p.Name = s
	case "proc.exe":
		p.Exe = s
	case "proc.cmdline":
		p.Cmdline = s
	case "proc.cwd":
		p.Cwd = s
	case "user.name":
		e.User.Name = s
	case "file.path":
		e.File.Path = s
	case "file.rawpath":
		e.File.RawPath = s
	case "net.family":
		e.Net.Family = s
	case "net.proto":
		e.Net.Proto = s
	case "net.socktype":
		e.Net.SockType = s
	case "net.path":
		e.Net.Path = s
	case "container.id":
		p.Container.ID = s
	case "container.full_id":
		p.Container.FullID = s
	case "container.runtime":
		p.Container.Runtime = s
	case "container.name":
		p.Container.Name = s
	case "container.image":
		p.Container.Image = s
	case "k8s.ns":
		p.Container.PodNS = s
	case "k8s.pod":
		p.Container.PodName = s
	case "evt.syscall":
		e.Syscall = s
	case "file.newpath", "file.target":
		e.File.Target = s
	case "file.rawtarget":
		e.File.RawTarget = s
	case "ptrace.request":
		n, ok := ParsePtraceRequest(s)
		if !ok {
			return fmt.Errorf("unknown ptrace request %q", s)
		}
		e.Ptrace.Request = n
	case "ptrace.name", "ptrace.exe":
		if e.Ptrace.Target == nil {
			e.Ptrace.Target = &Process{}
		}
		if name == "ptrace.name" {
			e.Ptrace.Target.Name = s
		} else {
			e.Ptrace.Target.Exe = s
		}
	case "memfd.name":
		e.Memfd.Name = s
	case "module.name":
		e.Module.Name = s
	case "module.file":
		e.Module.File = s
	case "module.args":
		e.Module.Args = s
	case "mount.source":
		e.Mount.Source = s
	case "mount.target":
		e.Mount.Target = s
	case "mount.fstype":
		e.Mount.FSType = s
	case "bpf.name":
		e.BPF.Name = s
	case "bpf.cmd":
		i := slices.Index(bpfCmdNames[:], s)
		if i < 0 {
			return fmt.Errorf("unknown bpf command %q", s)
		}
		e.BPF.Cmd = uint32(i)
	case "bpf.prog_type":
		i := slices.Index(progTypeNames[:], s)
		if i < 0 {
			return fmt.Errorf("unknown program type %q", s)
		}
		e.BPF.ProgType = uint32(i)
	case "bpf.map_type":
		i := slices.Index(mapTypeNames[:], s)
		if i < 0 {
			return fmt.Errorf("unknown map type %q", s)
		}
		e.BPF.MapType = uint32(i)
	default:
		return fmt.Errorf("cannot be set")
	}
	return nil
}

func setInt(e *Event, name string, n int64) error {
	p := e.Proc
	u := uint32(n)
	switch name {
	case "evt.res":
		e.Res = n
	case "proc.pid":
		p.PID = u
	case "proc.tid":
		e.TID = u
	case "proc.ppid":
		p.PPID = u
	case "proc.tty":
		p.TTY = u
	case "proc.uid":
		e.UID, p.UID = u, u
	case "proc.gid":
		e.GID, p.GID = u, u
	case "proc.euid":
		e.EUID, p.EUID = u, u
	case "user.uid":
		e.User.UID = u
	case "file.flags":
		e.File.Flags = u
	case "file.mode":
		e.File.Mode = u
	case "net.dport":
		e.Net.DPort = uint16(n)
	case "net.sport":
		e.Net.SPort = uint16(n)
	case "proc.loginuid":
		e.LoginUID = u // -1 is NoLoginUID
	case "ptrace.request_num":
		e.Ptrace.Request = u
	case "ptrace.pid":
		e.Ptrace.PID = u
	case "setid.real", "setid.effective", "setid.saved", "setid.fs":
		e.SetID.Req[setidIndex(name)] = n
	case "setid.old_real", "setid.old_effective", "setid.old_saved", "setid.old_fs":
		e.SetID.Old[setidIndex(name)] = n
	case "memfd.flags":
		e.Memfd.Flags = u
	case "ns.flags":
		e.NS.Flags = uint64(n)
	case "mount.flags":
		e.Mount.Flags = uint64(n)
	default:
		return fmt.Errorf("cannot be set")
	}
	if (name == "net.dport" || name == "net.sport") && n > math.MaxUint16 {
		return fmt.Errorf("port %d out of range", n)
	}
	return nil
}

// wideFields are the unsigned fields wider than 32 bits, or bit masks.
var wideFields = map[string]bool{"file.flags": true, "file.mode": true, "ns.flags": true, "mount.flags": true}

func setidIndex(name string) int {
	switch name[strings.LastIndexByte(name, '.')+1:] {
	case "real", "old_real":
		return 0
	case "effective", "old_effective":
		return 1
	case "saved", "old_saved":
		return 2
	}
	return 3
}

func toString(v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case json.Number:
		return s.String(), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func toInt(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d out of range", n)
		}
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("want an integer, got %v", n)
		}
		return int64(n), nil
	case json.Number:
		return strconv.ParseInt(n.String(), 10, 64)
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

func toTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time, got %T", v)
}

func toStrings(v any) ([]string, error) {
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			s, err := toString(x)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}
