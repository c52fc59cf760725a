package event

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e as one JSON object whose keys are the field names
// of the rule language ({"evt.type":"open","proc.name":"cat",...}), with the
// fields that apply to e's type, in table order. Strings are written by
// AppendJSONString: no byte from the kernel (newlines, escape sequences,
// bidi controls, invalid UTF-8) reaches the output raw, and every one is
// recoverable.
func AppendJSON(b []byte, e *Event) []byte {
	b = append(b, '{')
	first := true
	for i := range Fields {
		f := &Fields[i]
		if !f.Types.Has(e.Type) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, jsonKeys[i]...)
		b = appendJSONValue(b, f, e)
	}
	return append(b, '}')
}

// jsonKeys are the field names quoted once, with their colon.
var jsonKeys = func() []string {
	keys := make([]string, len(Fields))
	for i, f := range Fields {
		keys[i] = string(AppendJSONString(nil, f.Name)) + ":"
	}
	return keys
}()

// jsonSafe marks the ASCII bytes a JSON string may hold as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != 0x7f
	}
	return t
}()

func appendJSONValue(b []byte, f *Field, e *Event) []byte {
	if f.Absent != nil && f.Absent(e) {
		return append(b, "null"...)
	}
	switch f.Kind {
	case KindString:
		return AppendJSONString(b, f.Str(e))
	case KindInt:
		return strconv.AppendInt(b, f.Int(e), 10)
	case KindUint:
		return strconv.AppendUint(b, f.Uint(e), 10)
	case KindBool:
		return strconv.AppendBool(b, f.Bool(e))
	case KindTime:
		t := f.Time(e)
		if t.IsZero() {
			return append(b, `null`...)
		}
		b = append(b, '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case KindStrings:
		b = append(b, '[')
		for i, s := range f.Strs(e) {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, s)
		}
		return append(b, ']')
	case KindIP:
		ip := f.IP(e)
		if !ip.IsValid() {
			return append(b, `""`...)
		}
		b = append(b, '"')
		b = ip.AppendTo(b)
		return append(b, '"')
	case KindMap:
		b = append(b, '{')
		for i, k := range SortedKeys(f.Map(e)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			b = AppendJSONString(b, f.Map(e)[k])
		}
		return append(b, '}')
	}
	return append(b, `null`...)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string value, in the escape of
// untrusted bytes (escape.go): a byte that does not start valid UTF-8 is
// written as the text \xNN and a backslash as \\, so that Unescape, after
// the JSON decoder, gives s back byte for byte. Control characters and
// every other character strconv.IsPrint rejects (bidi and other format
// controls, U+2028/U+2029) are written with JSON's \u escapes, which
// decoders undo: the value is unchanged, and the line is safe on a
// terminal.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, `\\`...)
				if backslashBefore(s[i+1:], jsonEscapes) {
					b = append(b, `\\`...)
				}
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, '\\', '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case !strconv.IsPrint(r):
			b = append(b, s[start:i]...)
			b = appendJSONRune(b, r)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONRune writes r as JSON's \uNNNN, a surrogate pair beyond U+FFFF.
func appendJSONRune(b []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		b = appendJSONRune(b, 0xd800+r>>10)
		return appendJSONRune(b, 0xdc00+r&0x3ff)
	}
	return append(b, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// AppendText appends e as one human-readable line (no newline): time,
// type, then key=value pairs of the most useful fields for the type (its
// row's Text keys). Values with spaces, quotes or anything beyond
// printable ASCII are quoted in the text escape (AppendQuoted), so a line
// can never be split, coloured or reordered by what a process passed in.
func AppendText(b []byte, e *Event) []byte {
	b = e.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, e.Type.String()...)
	kv := func(k, v string) {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=')
		b = appendTextValue(b, v)
	}
	p := e.Proc
	kv("pid", strconv.FormatUint(uint64(p.PID), 10))
	kv("ppid", strconv.FormatUint(uint64(p.PPID), 10))
	kv("uid", strconv.FormatUint(uint64(e.UID), 10))
	kv("proc", p.Name)
	kv("exe", p.Exe)
	if p.Container.ID != "" {
		kv("container", p.Container.ID)
		if p.Container.Name != "" {
			kv("container_name", p.Container.Name)
		}
		if p.Container.Image != "" {
			kv("image", p.Container.Image)
		}
		if p.Container.PodName != "" {
			kv("pod", p.Container.PodNS+"/"+p.Container.PodName)
		}
	}
	for _, k := range e.Type.Info().Text {
		if v, ok := k.Value(e); ok {
			kv(k.Key, v)
		}
	}
	if e.Syscall != "" && e.Syscall != e.Type.String() {
		kv("syscall", e.Syscall)
	}
	// An exec's result is its new image; a refused one says so in its
	// enforcement.
	if e.Type != TypeExec {
		b = append(b, " res="...)
		b = strconv.AppendInt(b, e.Res, 10)
	}
	return b
}

// The text format's keys, for the Text column of the event-type table.
var (
	txtCmdline  = always("cmdline", func(e *Event) string { return e.Proc.Cmdline })
	txtCwd      = always("cwd", func(e *Event) string { return e.Proc.Cwd })
	txtParent   = always("parent", func(e *Event) string { return parentOf(e).Name })
	txtMemfdExe = TextKey{"memfd", func(e *Event) (string, bool) { return "true", e.Proc.ExeMemfd }}

	txtFile       = always("file", func(e *Event) string { return e.File.Path })
	txtOpenFlags  = always("flags", func(e *Event) string { return OpenFlagsString(e.File.Flags) })
	txtMode       = always("mode", func(e *Event) string { return "0" + strconv.FormatUint(uint64(e.File.Mode), 8) })
	txtNewPath    = always("new", func(e *Event) string { return e.File.Target })
	txtLink       = always("link", func(e *Event) string { return e.File.Path })
	txtLinkTarget = always("target", func(e *Event) string { return e.File.Target })

	txtDest = always("dest", func(e *Event) string {
		if e.Net.Path != "" {
			return e.Net.Path
		}
		return addrPort(e.Net.DIP.String(), e.Net.DPort)
	})
	txtSrc = TextKey{"src", func(e *Event) (string, bool) {
		return addrPort(e.Net.SIP.String(), e.Net.SPort), e.Net.SPort != 0
	}}
	txtProto = always("proto", func(e *Event) string { return e.Net.Proto })
	txtPeer  = TextKey{"peer", func(e *Event) (string, bool) {
		return addrPort(e.Net.DIP.String(), e.Net.DPort), e.Net.DIP.IsValid()
	}}
	txtLocal = TextKey{"local", func(e *Event) (string, bool) {
		return addrPort(e.Net.SIP.String(), e.Net.SPort), e.Net.SIP.IsValid()
	}}

	txtPtraceRequest = always("request", func(e *Event) string { return PtraceRequestName(e.Ptrace.Request) })
	txtPtracePID     = always("target_pid", func(e *Event) string { return strconv.FormatUint(uint64(e.Ptrace.PID), 10) })
	txtPtraceTarget  = TextKey{"target", func(e *Event) (string, bool) {
		if t := e.Ptrace.Target; t != nil {
			return t.Name, true
		}
		return "", false
	}}

	txtIDs    = always("ids", func(e *Event) string { return setIDs(e.SetID.Req) })
	txtOldIDs = always("old", func(e *Event) string { return setIDs(e.SetID.Old) })

	txtMemfdName   = always("name", func(e *Event) string { return e.Memfd.Name })
	txtModule      = always("module", func(e *Event) string { return e.Module.Name })
	txtModuleFile  = always("file", func(e *Event) string { return e.Module.File })
	txtNS          = always("ns", func(e *Event) string { return strings.Join(e.NS.Types, ",") })
	txtMountSource = always("source", func(e *Event) string { return e.Mount.Source })
	txtMountTarget = always("target", func(e *Event) string { return e.Mount.Target })
	txtFSType      = always("fstype", func(e *Event) string { return e.Mount.FSType })
	txtBPFCmd      = always("cmd", func(e *Event) string { return BPFCmdName(e.BPF.Cmd) })
	txtBPFName     = always("name", func(e *Event) string { return e.BPF.Name })
	txtSockDomain  = always("domain", func(e *Event) string { return SockDomainName(e.Socket.Domain) })
	txtSockType    = always("type", func(e *Event) string { return SockTypeName(e.Socket.Type) })
	txtSockProto   = always("proto", func(e *Event) string { return strconv.FormatUint(uint64(e.Socket.Protocol), 10) })
	txtUffdFlags   = always("flags", func(e *Event) string { return "0x" + strconv.FormatUint(uint64(e.Uffd.Flags), 16) })
	txtTruncLength = always("length", func(e *Event) string { return strconv.FormatInt(e.Trunc.Length, 10) })
	txtATime       = always("atime", func(e *Event) string { return utimeText(e.Utimes.ATime) })
	txtMTime       = always("mtime", func(e *Event) string { return utimeText(e.Utimes.MTime) })
	txtXattrOp     = always("op", func(e *Event) string { return e.Xattr.Op })
	txtXattrName   = always("name", func(e *Event) string { return e.Xattr.Name })
	txtXattrSize   = TextKey{"size", func(e *Event) (string, bool) {
		return strconv.FormatUint(e.Xattr.Size, 10), e.Xattr.Op == XattrSet
	}}
	txtXattrCaps = TextKey{"caps", func(e *Event) (string, bool) {
		return strings.Join(FileCapNames(e.Xattr.Caps), ","), e.Xattr.Op == XattrSet && e.Xattr.Name == XattrFileCaps
	}}
	txtXattrCapsEff  = TextKey{"effective", func(e *Event) (string, bool) { return "true", e.Xattr.CapsEffective }}
	txtChattrSet     = TextKey{"set", func(e *Event) (string, bool) { return inodeFlagsText(e.Chattr.Set()) }}
	txtChattrCleared = TextKey{"cleared", func(e *Event) (string, bool) { return inodeFlagsText(e.Chattr.Cleared()) }}
	txtChattrFlags   = always("flags", func(e *Event) string { return "0x" + strconv.FormatUint(uint64(e.Chattr.Flags), 16) })
	txtOwner         = always("owner", func(e *Event) string {
		return strconv.FormatInt(e.Chown.UID, 10) + ":" + strconv.FormatInt(e.Chown.GID, 10)
	})
	txtPrctlOption = always("option", func(e *Event) string { return PrctlOptionName(e.Prctl.Option) })
	// PR_SET_NAME's second argument is an address: its name instead.
	txtPrctlArg2 = TextKey{"arg2", func(e *Event) (string, bool) {
		return strconv.FormatUint(e.Prctl.Arg2, 10), e.Prctl.Option != prctlSetName
	}}
	txtProcVMWrite  = always("write", func(e *Event) string { return strconv.FormatBool(processVMWrite(e)) })
	txtProcVMPID    = always("target_pid", func(e *Event) string { return strconv.FormatUint(uint64(e.ProcVM.PID), 10) })
	txtProcVMTarget = TextKey{"target", func(e *Event) (string, bool) {
		if t := e.ProcVM.Target; t != nil {
			return t.Name, true
		}
		return "", false
	}}
	txtPrctlName = TextKey{"name", func(e *Event) (string, bool) { return e.Prctl.Name, e.Prctl.Option == prctlSetName }}
)

// inodeFlagsText names inode flags, comma separated; false for none.
func inodeFlagsText(f uint32) (string, bool) {
	return strings.Join(InodeFlagNames(f), ","), f != 0
}

// utimeText is a time of a utimes event: "now", "omit", or the time in
// UTC (RFC 3339, nanoseconds when there are any).
func utimeText(ns int64) string {
	switch ns {
	case UtimeNow:
		return "now"
	case UtimeOmit:
		return "omit"
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// always is a key printed for every event of its types.
func always(key string, v func(*Event) string) TextKey {
	return TextKey{key, func(e *Event) (string, bool) { return v(e), true }}
}

func setIDs(v [4]int64) string {
	return fmt.Sprintf("%d/%d/%d/%d", v[0], v[1], v[2], v[3])
}

func addrPort(ip string, port uint16) string {
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return ip + ":" + strconv.Itoa(int(port))
}

// appendTextValue writes v as it is when it is one token of printable
// ASCII, and quoted (AppendQuoted) otherwise.
func appendTextValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == '"' || c == '\\' || c >= 0x7f {
			return AppendQuoted(b, v)
		}
	}
	if v == "" {
		return append(b, `""`...)
	}
	return append(b, v...)
}

var openFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x40, "O_CREAT"}, {0x80, "O_EXCL"}, {0x100, "O_NOCTTY"}, {0x200, "O_TRUNC"},
	{0x400, "O_APPEND"}, {0x800, "O_NONBLOCK"}, {0x1000, "O_DSYNC"}, {0x4000, "O_DIRECT"},
	{0x10000, "O_DIRECTORY"}, {0x20000, "O_NOFOLLOW"}, {0x40000, "O_NOATIME"}, {0x80000, "O_CLOEXEC"},
	{0x200000, "O_PATH"}, {0x410000, "O_TMPFILE"},
}

// OpenFlagsString renders open flags as O_RDONLY|O_CLOEXEC (x86-64 values).
func OpenFlagsString(f uint32) string {
	var s strings.Builder
	s.WriteString([...]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[f&3])
	for _, n := range openFlagNames {
		if f&n.bit == n.bit {
			if n.bit == 0x10000 && f&0x410000 == 0x410000 {
				continue // part of O_TMPFILE
			}
			s.WriteByte('|')
			s.WriteString(n.name)
		}
	}
	return s.String()
}

var modeNames = []string{"S_IXOTH", "S_IWOTH", "S_IROTH", "S_IXGRP", "S_IWGRP", "S_IRGRP", "S_IXUSR", "S_IWUSR", "S_IRUSR", "S_ISVTX", "S_ISGID", "S_ISUID"}

// ModeString renders a mode's permission bits by name, lowest bit first,
// joined by | (S_IXOTH|S_IROTH|S_IRUSR); "" for none.
func ModeString(m uint32) string {
	var s strings.Builder
	for i, n := range modeNames {
		if m&(1<<i) != 0 {
			if s.Len() > 0 {
				s.WriteByte('|')
			}
			s.WriteString(n)
		}
	}
	return s.String()
}

// SortedKeys returns the keys of m in increasing order.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
