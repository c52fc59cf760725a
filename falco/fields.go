package falco

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// argKind is what a Falco field takes in brackets.
type argKind uint8

const (
	argNone     argKind = iota
	argIndex            // [N], required
	argIndexAny         // [N], or none: then any of the values (proc.aname)
	argKey              // [NAME], required
	argKeyOpt           // [NAME], or none
)

// variant is how vigil computes a Falco field on some event types: where
// cond holds (a CEL condition, "" for always) on those types, the value is
// expr. A field whose variants do not cover an event is absent there, and
// Falco's comparisons on an absent field are false.
type variant struct {
	types event.TypeSet
	cond  string
	expr  func(arg string) string
	// condZero says expr is its kind's zero value wherever cond fails
	// (net.dip where net.family is not IP, proc.pname where it is ""), so
	// cond may be left out of a comparison the zero value fails.
	condZero bool
	// render, when set, is the value in Go, for outputs (expr is CEL that
	// is not a plain field).
	render func(*event.Event) string
}

// field is one Falco field: its kind in CEL after translation, and how
// vigil computes it, or what it would need.
type field struct {
	name     string
	arg      argKind
	kind     event.Kind
	network  bool // an IPNET: = and in test membership in a CIDR
	duration bool // nanoseconds: expr is a CEL duration
	dns      bool // the names of an address: = and in test resolvesTo
	// numName names a number written as the value (Falco's evt.arg.cmd=5
	// is BPF_PROG_LOAD): vigil's field holds names.
	numName func(uint32) string
	// nameNum is the other way: a name written as the value is looked up
	// at load (Falco's evt.arg.uid=nobody; vigil's field holds the id).
	nameNum  func(string) (int64, bool)
	many     bool // expr is a list: a comparison holds if it holds for one item
	variants []variant
	// zero is what expr gives where cond fails (when variants cover all
	// types): Falco would not extract the field there, so a comparison the
	// zero value satisfies needs the condition.
	needs string // non-empty: vigil cannot compute it; what it needs
}

func ident(name string) func(string) string { return func(string) string { return name } }

// vigilField is a Falco field that is exactly a vigil field.
func vigilField(falco, vigil string) field {
	f, ok := event.FieldByName(vigil)
	if !ok {
		panic("falco: no vigil field " + vigil)
	}
	return field{name: falco, kind: f.Kind, variants: []variant{{types: f.Types, expr: ident(vigil)}}}
}

func needs(name, what string) field { return field{name: name, needs: what} }

func types(ts ...event.Type) event.TypeSet {
	var s event.TypeSet
	for _, t := range ts {
		s |= 1 << t
	}
	return s
}

var (
	fileTypes = types(event.TypeOpen, event.TypeUnlink, event.TypeMkdir, event.TypeRename, event.TypeLink, event.TypeSymlink, event.TypeChmod)
	netTypes  = types(event.TypeConnect, event.TypeDup, event.TypeAccept, event.TypeListen)
)

// ancestor is proc.aname[N] and its relatives: N 0 is the process, 1 its
// parent, and so on; with no N, any ancestor (the process excluded).
func ancestor(name, self, parent, list string) field {
	return field{name: name, arg: argIndexAny, kind: event.KindString, many: true, variants: []variant{{
		types: event.AllTypes,
		expr: func(arg string) string {
			switch arg {
			case "":
				return list
			case "0":
				return self
			case "1":
				return parent
			}
			n, _ := strconv.Atoi(arg)
			return fmt.Sprintf("%s[%d]", list, n-1)
		},
	}}}
}

var fieldTable = map[string]field{}

func init() {
	for _, f := range []field{
		vigilField("proc.name", "proc.name"),
		vigilField("proc.exepath", "proc.exe"),
		vigilField("proc.cmdline", "proc.cmdline"),
		vigilField("proc.pcmdline", "proc.pcmdline"),
		vigilField("proc.pexepath", "proc.pexe"),
		vigilField("proc.pid", "proc.pid"),
		vigilField("proc.ppid", "proc.ppid"),
		vigilField("thread.tid", "proc.tid"),
		// Falco's proc.cwd always ends in a slash.
		{name: "proc.cwd", kind: event.KindString, variants: []variant{{types: event.AllTypes, expr: ident(`(proc.cwd.endsWith("/") ? proc.cwd : proc.cwd + "/")`)}}},
		vigilField("proc.tty", "proc.tty"),
		vigilField("proc.is_exe_from_memfd", "proc.exe_memfd"),
		vigilField("proc.is_exe_upper_layer", "proc.exe_upper_layer"),
		// Falco's user and group are the effective ids.
		vigilField("user.uid", "proc.euid"),
		vigilField("user.name", "user.name"),
		vigilField("user.homedir", "user.home"),
		vigilField("user.shell", "user.shell"),
		vigilField("user.loginuid", "proc.loginuid"),
		vigilField("group.gid", "proc.gid"),
		vigilField("thread.cap_effective", "proc.cap_effective"),
		vigilField("thread.cap_permitted", "proc.cap_permitted"),
		vigilField("thread.cap_inheritable", "proc.cap_inheritable"),
		// Falco's container.id is "host" on the host.
		{name: "container.id", kind: event.KindString, variants: []variant{{types: event.AllTypes, expr: ident(`(container.id == "" ? "host" : container.id)`)}}},
		vigilField("container.name", "container.name"),
		vigilField("container.image", "container.image"),
		vigilField("k8s.ns.name", "k8s.ns"),
		vigilField("k8s.pod.name", "k8s.pod"),
		// A file's fd.* exist on opens only (the other file syscalls take
		// no fd); a failed open has a name but no fd.type or fd.filename.
		argField("fd.directory", "file.dir", event.TypeOpen),
		{name: "fd.filename", kind: event.KindString, variants: []variant{{types: types(event.TypeOpen), cond: "evt.res >= 0", expr: ident("file.name")}}},
		argField("fd.nameraw", "file.rawpath", event.TypeOpen),
		// Falco's creat is neither (it has no flags argument).
		{name: "evt.is_open_read", kind: event.KindBool, variants: []variant{{types: types(event.TypeOpen), expr: ident(`(file.read && evt.syscall != "creat")`)}}},
		{name: "evt.is_open_write", kind: event.KindBool, variants: []variant{{types: types(event.TypeOpen), expr: ident(`(file.write && evt.syscall != "creat")`)}}},
		vigilField("evt.rawres", "evt.res"),
		vigilField("fd.l4proto", "net.proto"),
		vigilField("container.image.repository", "container.image_repository"),
		vigilField("container.image.tag", "container.image_tag"),
		// evt.arg.flags of an open renders its O_* names; of userfaultfd,
		// the number.
		{name: "evt.arg.flags", kind: event.KindString, variants: []variant{{types: types(event.TypeOpen), expr: ident("file.flags_text")}}},
		argField("evt.arg.domain", "socket.domain", event.TypeSocket),
		argField("evt.arg.type", "socket.type", event.TypeSocket),
		argField("evt.arg.proto", "socket.protocol", event.TypeSocket),
		// Falco names a syscall's arguments as its driver records them;
		// vigil's path fields are the same values (file.rawpath: as passed).
		// Falco resolves a relative path argument (against the cwd or the
		// dirfd) and gives an absolute one as passed.
		pathArg("evt.arg.name", variant{types: types(event.TypeOpen)}, variant{types: types(event.TypeUnlink), cond: `evt.syscall == "unlinkat"`}),
		pathArg("evt.arg.path", variant{types: types(event.TypeMkdir)}, variant{types: types(event.TypeUnlink), cond: `evt.syscall in ["unlink", "rmdir"]`}),
		pathArg("evt.arg.filename", variant{types: types(event.TypeChmod), cond: `evt.syscall != "fchmod"`}),
		argField("evt.arg.mode", "file.mode_text", event.TypeOpen, event.TypeMkdir, event.TypeChmod),
		{name: "proc.env", arg: argKeyOpt, kind: event.KindString, variants: []variant{{types: event.AllTypes, expr: func(arg string) string {
			if arg == "" {
				return "proc.env_text"
			}
			return fmt.Sprintf("proc.env[?%q].orValue(\"\")", arg)
		}}}},
		{name: "evt.arg.oldpath", kind: event.KindString, variants: []variant{
			{types: types(event.TypeRename), expr: ident("file.rawpath")},
			{types: types(event.TypeLink), expr: ident("file.rawtarget")},
		}},
		{name: "evt.arg.newpath", kind: event.KindString, variants: []variant{
			{types: types(event.TypeRename), expr: ident("file.rawtarget")},
			{types: types(event.TypeLink), expr: ident("file.rawpath")},
		}},
		argField("evt.arg.target", "file.rawtarget", event.TypeSymlink),
		argField("evt.arg.linkpath", "file.rawpath", event.TypeSymlink),
		withNames(argField("evt.arg.request", "ptrace.request", event.TypePtrace), event.PtraceRequestName),
		withNames(argField("evt.arg.cmd", "bpf.cmd", event.TypeBPF), event.BPFCmdName),
		withNames(argField("evt.arg.option", "prctl.option", event.TypePrctl), event.PrctlOptionName),
		argField("evt.arg.arg2_int", "prctl.arg2", event.TypePrctl),
		argField("evt.arg.arg2_str", "prctl.name", event.TypePrctl),
		// evt.rawarg.X: the argument's number, not its rendering.
		{name: "evt.rawarg.flags", kind: event.KindUint, variants: []variant{
			{types: types(event.TypeOpen), expr: ident("file.flags")},
			{types: types(event.TypeUserfaultfd), expr: ident("userfaultfd.flags")},
		}},
		argField("evt.rawarg.mode", "file.mode", event.TypeOpen, event.TypeMkdir, event.TypeChmod),
		argField("evt.rawarg.request", "ptrace.request_num", event.TypePtrace),
		{name: "evt.rawarg.uid", kind: event.KindInt, variants: []variant{{types: types(event.TypeSetuid), cond: `evt.syscall == "setuid"`, expr: ident("setid.real")}}},
		vigilField("evt.rawarg.res", "evt.res"),
		vigilField("evt.arg.res", "evt.res"),
		// setuid(2)'s argument; Falco renders it as the user's name.
		{name: "evt.arg.uid", kind: event.KindInt, nameNum: lookupUID, variants: []variant{{types: types(event.TypeSetuid), cond: `evt.syscall == "setuid"`, expr: ident("setid.real")}}},
		{name: "proc.pname", kind: event.KindString, variants: []variant{{types: event.AllTypes, cond: `proc.pname != ""`, expr: ident("proc.pname"), condZero: true}}},
		vigilField("proc.args", "proc.args_text"),
		vigilField("proc.vpid", "proc.vpid"),
		vigilField("proc.vpgid", "proc.vpgid"),
		vigilField("proc.is_vpgid_leader", "proc.vpgid_leader"),
		vigilField("proc.sid", "proc.sid"),
		vigilField("proc.is_sid_leader", "proc.sid_leader"),
		vigilField("proc.sname", "proc.sname"),
		vigilField("container.privileged", "container.privileged"),
		// Falco's container.mount.dest[KEY] is the destination of the
		// first mount whose source matches the glob KEY, or "N/A";
		// container.mount.source[KEY] the other way round.
		mountField("container.mount.dest", "container.mount_sources", "container.mount_dests"),
		mountField("container.mount.source", "container.mount_dests", "container.mount_sources"),
		// Falco: an open that creates a file with an execute bit.
		{name: "evt.is_open_exec", kind: event.KindBool, variants: []variant{{types: types(event.TypeOpen), expr: ident(`(file.create && file.mode_text.contains("S_IX"))`)}}},
		{name: "proc.duration", kind: event.KindInt, duration: true, variants: []variant{{types: event.AllTypes, expr: ident("(evt.time - proc.start)")}}},
		vigilField("proc.exe", "proc.argv0"),
		vigilField("proc.pexe", "proc.pargv0"),
		// Either end of a socket.
		{name: "fd.ip", kind: event.KindIP, many: true, variants: []variant{{types: netTypes, cond: inet, expr: ident("[net.sip, net.dip]")}}},
		{name: "fd.net", kind: event.KindIP, network: true, many: true, variants: []variant{{types: netTypes, cond: inet, expr: ident("[net.sip, net.dip]")}}},
		{name: "fd.port", kind: event.KindUint, many: true, variants: []variant{{types: netTypes, cond: inet, expr: ident("[net.sport, net.dport]")}}},
		ancestor("proc.aname", "proc.name", "proc.pname", "proc.ancestors"),
		ancestor("proc.aexepath", "proc.exe", "proc.pexe", "proc.ancestor_exes"),
		ancestor("proc.aexe", "proc.argv0", "proc.pargv0", "proc.ancestor_argv0s"),
		{name: "proc.apid", arg: argIndex, kind: event.KindInt, variants: []variant{{types: event.AllTypes, expr: func(arg string) string {
			switch arg {
			case "0":
				return "proc.pid"
			case "1":
				return "proc.ppid"
			}
			n, _ := strconv.Atoi(arg)
			return fmt.Sprintf("int(proc.ancestor_pids[%d])", n-1)
		}}}},
		{name: "fd.name", kind: event.KindString, variants: []variant{
			{types: types(event.TypeOpen), expr: ident("file.path")},
			{types: netTypes, cond: `net.family == "unix"`, expr: ident("net.path"), condZero: true},
		}},
		{name: "fd.typechar", kind: event.KindString, variants: append([]variant{
			{types: types(event.TypeOpen), cond: notDirCond, expr: ident(`"f"`)},
			{types: types(event.TypeOpen), cond: dirCond, expr: ident(`"d"`)},
		}, sockVariants("4", "6", "u")...)},
		{name: "fd.type", kind: event.KindString, variants: append([]variant{
			{types: types(event.TypeOpen), cond: "evt.res >= 0 && " + notDirCond, expr: ident(`"file"`)},
			{types: types(event.TypeOpen), cond: "evt.res >= 0 && " + dirCond, expr: ident(`"directory"`)},
		}, sockVariants("ipv4", "ipv6", "unix")...)},
		{name: "fd.num", kind: event.KindInt, variants: []variant{{types: types(event.TypeOpen), expr: ident("evt.res")}}},
		{name: "fd.sockfamily", kind: event.KindString, variants: []variant{
			{types: netTypes, cond: `net.family in ["ipv4", "ipv6"]`, expr: ident(`"ip"`)},
			{types: netTypes, cond: `net.family == "unix"`, expr: ident(`"unix"`)},
		}},
		// Server and client as Falco has them: for connect the process is
		// the client (vigil's source end), for accept and listen the
		// server; a listening socket has no client. A dup'ed socket's role
		// is not recorded: the end with the higher port is taken for the
		// client's (an ephemeral port), as for the reverse shells the
		// rules look for.
		netField("fd.sip", "fd.sport", side{connect, "d", ""}, side{accept, "s", ""}, side{listen, "s", ""}, side{dup, "d", dupClient}, side{dup, "s", dupServer}),
		netField("fd.cip", "fd.cport", side{connect, "s", ""}, side{accept, "d", ""}, side{dup, "s", dupClient}, side{dup, "d", dupServer}),
		netField("fd.rip", "fd.rport", side{connect, "d", ""}, side{accept, "d", ""}, side{dup, "d", ""}),
		netField("fd.lip", "fd.lport", side{connect, "s", ""}, side{accept, "s", ""}, side{listen, "s", ""}, side{dup, "s", ""}),
	} {
		add(f)
	}
}

// pathArg is a Falco path argument: file.rawpath when absolute, else the
// path vigil resolved (file.path), on each variant's events.
func pathArg(name string, vs ...variant) field {
	for i := range vs {
		vs[i].expr = ident(`(file.rawpath.startsWith("/") ? file.rawpath : file.path)`)
		vs[i].render = func(e *event.Event) string {
			if strings.HasPrefix(e.File.RawPath, "/") {
				return e.File.RawPath
			}
			return e.File.Path
		}
	}
	return field{name: name, kind: event.KindString, variants: vs}
}

func mountField(name, by, value string) field {
	return field{name: name, arg: argKey, kind: event.KindString, variants: []variant{{types: event.AllTypes, expr: func(arg string) string {
		i := fmt.Sprintf("%s.globIndex(%q)", by, arg)
		return fmt.Sprintf(`(%s >= 0 ? %s[%s] : "N/A")`, i, value, i)
	}}}}
}

// lookupUID is the uid of a user name in this host's user database.
func lookupUID(name string) (int64, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(u.Uid, 10, 64)
	return n, err == nil
}

func withNames(f field, name func(uint32) string) field {
	f.numName = name
	return f
}

// argField is a Falco syscall argument that is a vigil field on some types.
func argField(falco, vigil string, ts ...event.Type) field {
	f := vigilField(falco, vigil)
	f.variants[0].types = types(ts...)
	return f
}

const inet = `net.family in ["ipv4", "ipv6"]`

// dirCond is an open with O_DIRECTORY (0x10000): CEL has no bit
// operators, but integer division and remainder do it without formatting
// the flags.
const (
	dirCond    = "file.flags / 65536 % 2 == 1"
	notDirCond = "file.flags / 65536 % 2 == 0"
)

var (
	connect = types(event.TypeConnect)
	accept  = types(event.TypeAccept)
	listen  = types(event.TypeListen)
	dup     = types(event.TypeDup)
)

// side is which of vigil's ends (s: net.sip/sport, d: net.dip/dport) a
// Falco address field is on some types.
type side struct {
	types event.TypeSet
	end   string
	cond  string // and when, beyond an IP family
}

const (
	dupClient = "net.sport > net.dport"
	dupServer = "net.sport <= net.dport"
)

// sockVariants are fd.typechar's or fd.type's values on sockets.
func sockVariants(v4, v6, unix string) []variant {
	return []variant{
		{types: netTypes, cond: `net.family == "ipv4"`, expr: ident(strconv.Quote(v4))},
		{types: netTypes, cond: `net.family == "ipv6"`, expr: ident(strconv.Quote(v6))},
		{types: netTypes, cond: `net.family == "unix"`, expr: ident(strconv.Quote(unix))},
	}
}

// netField adds the port field of an address field, the network form
// (fd.snet for fd.sip) and the DNS name form (fd.sip.name), and returns
// the address field.
func netField(ip, port string, sides ...side) field {
	var ips, ports []variant
	for _, sd := range sides {
		cond, zero := inet, true
		if sd.cond != "" {
			cond, zero = inet+" && "+sd.cond, false
		}
		ips = append(ips, variant{types: sd.types, cond: cond, expr: ident("net." + sd.end + "ip"), condZero: zero})
		ports = append(ports, variant{types: sd.types, cond: cond, expr: ident("net." + sd.end + "port"), condZero: zero})
	}
	add(field{name: port, kind: event.KindUint, variants: ports})
	add(field{name: strings.TrimSuffix(ip, "ip") + "net", kind: event.KindIP, network: true, variants: ips})
	// The names rules compare the address with are resolved in the
	// background (as Falco does; it never reverse-resolves).
	add(field{name: ip + ".name", kind: event.KindString, dns: true, variants: ips})
	return field{name: ip, kind: event.KindIP, variants: ips}
}

func add(f field) {
	if _, dup := fieldTable[f.name]; dup {
		panic("falco: field " + f.name + " twice")
	}
	fieldTable[f.name] = f
}
