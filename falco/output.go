package falco

import (
	"fmt"
	"net/netip"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-project/vigil/engine/event"
)

// NA is what Falco prints for a field it cannot extract.
const NA = "<NA>"

// OutputField returns the field a Falco output token %name or %name[arg]
// renders: a vigil field where it is the same value, or one computed the
// way Falco renders it. A field vigil cannot compute renders NA; a name
// Falco does not have is an error.
func OutputField(name, arg string, hasArg bool) (*event.Field, error) {
	label := name
	if hasArg {
		label += "[" + arg + "]"
	}
	// A value of NA is absent: JSON's null, as Falco's output_fields.
	str := func(get func(*event.Event) string) (*event.Field, error) {
		return &event.Field{Name: label, Kind: event.KindString, Str: get,
			Absent: func(e *event.Event) bool { return get(e) == NA }}, nil
	}
	switch name {
	case "evt.type":
		return str(falcoEventName)
	case "evt.dir":
		return str(func(*event.Event) string { return "<" })
	case "evt.res":
		return str(func(e *event.Event) string {
			if e.Res >= 0 {
				return "SUCCESS"
			}
			if n := errnoName(-e.Res); n != "" {
				return n
			}
			return strconv.FormatInt(e.Res, 10)
		})
	case "proc.args":
		return str(func(e *event.Event) string { return strings.Join(e.Proc.Args(), " ") })
	case "proc.cwd":
		return str(func(e *event.Event) string {
			if strings.HasSuffix(e.Proc.Cwd, "/") {
				return e.Proc.Cwd
			}
			return e.Proc.Cwd + "/"
		})
	case "proc.env":
		if hasArg {
			return str(func(e *event.Event) string {
				if v, ok := e.Proc.Env[arg]; ok {
					return v
				}
				return NA
			})
		}
		return str(func(e *event.Event) string {
			var b strings.Builder
			for i, k := range event.SortedKeys(e.Proc.Env) {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(k + "=" + e.Proc.Env[k])
			}
			return b.String()
		})
	case "container.id":
		return str(func(e *event.Event) string {
			if e.Proc.Container.ID == "" {
				return "host"
			}
			return e.Proc.Container.ID
		})
	case "evt.is_open_read", "evt.is_open_write", "evt.is_open_exec":
		return str(func(e *event.Event) string {
			if e.Type != event.TypeOpen {
				return NA
			}
			var v bool
			switch name {
			case "evt.is_open_read":
				v = e.File.Flags&3 != 1 && e.Syscall != "creat"
			case "evt.is_open_write":
				v = e.File.Flags&3 != 0 && e.Syscall != "creat"
			default:
				v = e.File.Flags&0o100 != 0 && e.File.Mode&0o111 != 0
			}
			return strconv.FormatBool(v)
		})
	case "proc.duration":
		return str(func(e *event.Event) string {
			if e.Proc.Start.IsZero() {
				return NA
			}
			return strconv.FormatInt(e.Time.Sub(e.Proc.Start).Nanoseconds(), 10)
		})
	case "evt.arg.uid":
		// Falco renders setuid's argument as the user's name.
		return str(func(e *event.Event) string {
			if e.Type != event.TypeSetuid || e.Syscall != "setuid" {
				return NA
			}
			return userName(e.SetID.Req[0])
		})
	case "proc.aname", "proc.aexepath", "proc.aexe", "proc.apid":
		n, err := strconv.Atoi(arg)
		if hasArg && (err != nil || n < 0) {
			return nil, fmt.Errorf("%s: the index must be a number from 0", label)
		}
		// self is the process's own value, list its ancestors', parent first.
		self, list := ancestry(name)
		if !hasArg {
			return str(func(e *event.Event) string { return strings.Join(list(e), " ") })
		}
		return str(func(e *event.Event) string {
			l := list(e)
			switch {
			case n == 0:
				return self(e)
			case n-1 < len(l):
				return l[n-1]
			}
			return NA
		})
	case "proc.pname":
		return str(func(e *event.Event) string {
			if e.Parent == nil || e.Parent.Name == "" {
				return NA
			}
			return e.Parent.Name
		})
	case "fd.name":
		return str(func(e *event.Event) string {
			switch {
			case fileTypes.Has(e.Type):
				return e.File.Path
			case netTypes.Has(e.Type) && e.Net.Family == "unix":
				return e.Net.Path
			case netTypes.Has(e.Type):
				c, s := endpoints(e)
				return c.String() + "->" + s.String()
			}
			return NA
		})
	}
	if f, ok := fieldTable[name]; ok && f.needs == "" && len(f.variants) == 1 && f.arg == argNone && f.variants[0].types == event.AllTypes {
		if vf, ok := event.FieldByName(f.variants[0].expr("")); ok {
			named := *vf // the vigil field under Falco's name
			named.Name = label
			return &named, nil
		}
	}
	if f, ok := fieldTable[name]; ok && f.needs == "" && f.arg == argNone {
		return str(func(e *event.Event) string { return renderVariants(f, e) })
	}
	if _, ok := fieldTable[name]; ok {
		return str(func(*event.Event) string { return NA })
	}
	if _, ok := missingFields[name]; ok || strings.HasPrefix(name, "evt.arg") || strings.HasPrefix(name, "evt.rawarg") {
		return str(func(*event.Event) string { return NA })
	}
	if name == "evt.time" || name == "evt.hostname" || name == "container.image.repository" || name == "container.image.tag" {
		return str(func(*event.Event) string { return NA })
	}
	return nil, fmt.Errorf("unknown field %%%s%s", label, suggestField(name))
}

// goConds are the variant conditions of fields.go, evaluated in Go for
// outputs.
var goConds = map[string]func(*event.Event) bool{
	"":                                   func(*event.Event) bool { return true },
	inet:                                 func(e *event.Event) bool { return e.Net.Family == "ipv4" || e.Net.Family == "ipv6" },
	`net.family == "unix"`:               func(e *event.Event) bool { return e.Net.Family == "unix" },
	`net.family == "ipv4"`:               func(e *event.Event) bool { return e.Net.Family == "ipv4" },
	`net.family == "ipv6"`:               func(e *event.Event) bool { return e.Net.Family == "ipv6" },
	"evt.res >= 0":                       func(e *event.Event) bool { return e.Res >= 0 },
	`evt.syscall == "unlinkat"`:          func(e *event.Event) bool { return e.Syscall == "unlinkat" },
	`evt.syscall in ["unlink", "rmdir"]`: func(e *event.Event) bool { return e.Syscall == "unlink" || e.Syscall == "rmdir" },
	`evt.syscall != "fchmod"`:            func(e *event.Event) bool { return e.Syscall != "fchmod" },
	inet + " && " + dupClient:            func(e *event.Event) bool { return isInet(e) && e.Net.SPort > e.Net.DPort },
	inet + " && " + dupServer:            func(e *event.Event) bool { return isInet(e) && e.Net.SPort <= e.Net.DPort },
	`evt.syscall == "setuid"`:            func(e *event.Event) bool { return e.Syscall == "setuid" },
	`proc.pname != ""`:                   func(e *event.Event) bool { return e.Parent != nil && e.Parent.Name != "" },
	notDirCond:                           func(e *event.Event) bool { return !isDir(e) },
	dirCond:                              isDir,
	"evt.res >= 0 && " + notDirCond:      func(e *event.Event) bool { return e.Res >= 0 && !isDir(e) },
	"evt.res >= 0 && " + dirCond:         func(e *event.Event) bool { return e.Res >= 0 && isDir(e) },
}

func isInet(e *event.Event) bool { return e.Net.Family == "ipv4" || e.Net.Family == "ipv6" }

func isDir(e *event.Event) bool {
	return e.File.Flags&0x10000 != 0
}

// renderVariants renders a field of fields.go whose value is a vigil
// field (or a quoted constant) on each variant: the first variant that
// applies to e, or NA.
func renderVariants(f field, e *event.Event) string {
	for _, v := range f.variants {
		ok := goConds[v.cond]
		if !v.types.Has(e.Type) || ok == nil || !ok(e) {
			continue
		}
		x := v.expr("")
		if u, err := strconv.Unquote(x); err == nil {
			return u
		}
		if vf, found := event.FieldByName(x); found {
			if vf.Kind == event.KindString {
				return vf.Str(e) // the alert's text escapes it
			}
			return string(event.AppendValueText(nil, vf, e))
		}
		if v.render != nil {
			return v.render(e)
		}
	}
	return NA
}

var userNames sync.Map // uid (int64) -> name

// userName is the name of uid in this host's user database, or the
// number when it has none.
func userName(uid int64) string {
	if v, ok := userNames.Load(uid); ok {
		return v.(string)
	}
	name := strconv.FormatInt(uid, 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	userNames.Store(uid, name)
	return name
}

// ancestry gives the process's own value of proc.aname and its relatives,
// and its ancestors' (parent first).
func ancestry(name string) (self func(*event.Event) string, list func(*event.Event) []string) {
	switch name {
	case "proc.aexepath":
		return func(e *event.Event) string { return e.Proc.Exe }, func(e *event.Event) []string { return e.Proc.AncestorExes }
	case "proc.aexe":
		return func(e *event.Event) string {
			if len(e.Proc.Argv) > 0 {
				return e.Proc.Argv[0]
			}
			return ""
		}, func(e *event.Event) []string { return e.Proc.AncestorArgv0s }
	case "proc.apid":
		return func(e *event.Event) string { return strconv.FormatUint(uint64(e.Proc.PID), 10) }, func(e *event.Event) []string {
			out := make([]string, len(e.Proc.AncestorPIDs))
			for i, p := range e.Proc.AncestorPIDs {
				out[i] = strconv.FormatUint(uint64(p), 10)
			}
			return out
		}
	}
	return func(e *event.Event) string { return e.Proc.Name }, func(e *event.Event) []string { return e.Proc.Ancestors }
}

// endpoints are a socket's client and server addresses: for connect the
// process is the client (vigil's source end), for accept and listen the
// server; for a dup, the end with the higher port is the client's.
func endpoints(e *event.Event) (client, server netip.AddrPort) {
	src, dst := netip.AddrPortFrom(e.Net.SIP, e.Net.SPort), netip.AddrPortFrom(e.Net.DIP, e.Net.DPort)
	if e.Type == event.TypeConnect || (e.Type == event.TypeDup && e.Net.SPort > e.Net.DPort) {
		return src, dst
	}
	return dst, src
}

// falcoEventName is Falco's evt.type of a vigil event.
func falcoEventName(e *event.Event) string {
	switch e.Type {
	case event.TypeExec:
		return "execve"
	case event.TypeFork:
		return "clone"
	case event.TypeExit:
		return "procexit"
	}
	if e.Syscall != "" {
		return e.Syscall
	}
	return e.Type.String()
}
