package falco_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// The lists and macros the conditions below use, written in Falco's style.
const prelude = `
- list: shells
  items: [bash, sh, zsh]
- list: more_shells
  items: [shells, fish]
- list: quoted
  items: ['"sh -c uname -p 2> /dev/null"', plain]
- list: web_ports
  items: [80, 443]
- macro: open_write
  condition: (evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0)
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.dir=<)
- macro: never_true
  condition: (evt.num=0)
`

func events(t *testing.T) map[string]*event.Event {
	t.Helper()
	mk := func(v map[string]any) *event.Event {
		e, err := event.FromFields(v)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	return map[string]*event.Event{
		// bash -c id, child of sshd, under systemd
		"exec": mk(map[string]any{"evt.type": "exec", "proc.name": "bash", "proc.exe": "/usr/bin/bash",
			"proc.args": []string{"-c", "id"}, "proc.cmdline": "bash -c id", "proc.pname": "sshd", "proc.ancestors": []string{"sshd", "systemd"},
			"proc.pexe": "/usr/sbin/sshd", "proc.ancestor_exes": []string{"/usr/sbin/sshd", "/usr/lib/systemd/systemd"}, "proc.ancestor_argv0s": []string{"sshd:", "/sbin/init"}, "proc.ancestor_pids": []string{"900", "1"},
			"proc.uid": 0, "user.name": "root", "proc.cap_effective": []string{"CAP_SYS_ADMIN", "CAP_NET_RAW"},
			"proc.cap_permitted": []string{"CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_SYS_PTRACE"}}),
		// vi writes /etc/passwd
		"write": mk(map[string]any{"evt.type": "open", "evt.syscall": "openat", "evt.res": 3, "proc.name": "vi",
			"file.path": "/etc/passwd", "file.flags": 0x241, "container.image": "docker.io/library/nginx:1.27",
			"container.id": "0123456789ab", "container.privileged": true, "container.mounts": []string{"/var/run/docker.sock:/run/docker.sock:rw", "proc:/proc:rw"}}),
		// cat fails to open /etc/shadow
		"denied": mk(map[string]any{"evt.type": "open", "evt.syscall": "open", "evt.res": -13, "proc.name": "cat",
			"file.path": "/etc/shadow", "file.flags": 0}),
		// nginx accepts 10.9.9.9:5555 on 0.0.0.0:80... its local 10.0.0.2:80
		"accept": mk(map[string]any{"evt.type": "accept", "evt.syscall": "accept4", "evt.res": 5, "proc.name": "nginx", "proc.cwd": "/srv",
			"net.family": "ipv4", "net.proto": "tcp", "net.dip": "10.9.9.9", "net.dport": 5555, "net.sip": "10.0.0.2", "net.sport": 80,
			"container.id": "0123456789ab"}),
		// rm removes /etc/cron.d/x (no fd: Falco's fd.* are absent)
		"unlink": mk(map[string]any{"evt.type": "unlink", "evt.syscall": "unlinkat", "evt.res": 0, "proc.name": "rm", "proc.cwd": "/etc/cron.d",
			"file.path": "/etc/cron.d/x", "file.rawpath": "x"}),
		// bpftool loads a program
		"bpf": mk(map[string]any{"evt.type": "bpf", "evt.syscall": "bpf", "evt.res": 7, "proc.name": "bpftool", "bpf.cmd": "BPF_PROG_LOAD"}),
		// a miner disguises itself as a kernel thread
		"prctl": mk(map[string]any{"evt.type": "prctl", "evt.syscall": "prctl", "evt.res": 0, "proc.name": "kworker/0:1", "prctl.option": "PR_SET_NAME", "prctl.name": "kworker/0:1"}),
		// tcpdump opens a packet socket
		"socket": mk(map[string]any{"evt.type": "socket", "evt.syscall": "socket", "evt.res": 3, "proc.name": "tcpdump", "socket.domain": "AF_PACKET", "socket.type": "SOCK_RAW", "socket.protocol": 768}),
		// curl connects to 10.1.2.3:443 from 192.168.0.5:40000
		"connect": mk(map[string]any{"evt.type": "connect", "evt.syscall": "connect", "evt.res": 0, "proc.name": "curl",
			"net.family": "ipv4", "net.proto": "tcp", "net.dip": "10.1.2.3", "net.dport": 443, "net.sip": "192.168.0.5", "net.sport": 40000}),
	}
}

// Each Falco condition, and the events Falco's answer is true for.
var semantics = []struct {
	cond string
	want string // the events that match, space separated, in name order
}{
	{`spawned_process and proc.name in (shells)`, "exec"},
	{`spawned_process and proc.name in (more_shells)`, "exec"},
	{`spawned_process and proc.name in (fish)`, ""},
	{`spawned_process and proc.cmdline in (quoted)`, ""},
	{`spawned_process and proc.pname = sshd`, "exec"},
	{`spawned_process and proc.aname[1] = sshd and proc.aname[2] = systemd`, "exec"},
	{`spawned_process and proc.aname[3] = systemd`, ""},
	{`spawned_process and proc.aname = systemd`, "exec"},
	{`spawned_process and proc.aname[0] = bash`, "exec"},
	{`spawned_process and proc.aexepath[2] = /usr/lib/systemd/systemd and proc.aexe[2] = /sbin/init and proc.apid[2] = 1`, "exec"},
	{`spawned_process and proc.aexepath endswith /sshd`, "exec"},
	{`spawned_process and proc.apid[3] = 1`, ""},
	{`spawned_process and proc.args contains "-c"`, "exec"},
	{`spawned_process and proc.args = "-c id"`, "exec"},
	{`spawned_process and thread.cap_effective contains CAP_SYS_ADMIN`, "exec"},
	{`spawned_process and thread.cap_effective icontains cap_net_raw`, "exec"},
	{`spawned_process and not proc.pname exists`, ""},
	{`spawned_process and thread.cap_permitted contains CAP_SYS_PTRACE and not thread.cap_effective contains CAP_SYS_PTRACE`, "exec"},
	{`evt.dir = >`, ""},
	{`open_write and fd.name startswith /etc`, "write"},
	{`open_write and fd.directory = /etc and fd.filename = passwd`, "write"},
	{`open_write and evt.arg.flags contains O_TRUNC`, "write"},
	{`evt.type = open and evt.res = EACCES`, "denied"},
	{`evt.type in (open, openat) and evt.res startswith E`, "denied"},
	{`evt.type = openat and evt.res = SUCCESS`, "write"},
	{`evt.type in (open, openat) and evt.res != -1 and not evt.res = 3`, "denied write"},
	{`evt.type = open and fd.name != /etc/passwd`, "denied"},
	{`evt.type in (open, openat, connect) and fd.name != /etc/passwd`, "denied"},
	{`evt.type in (open, openat, connect) and fd.num >= 0`, "write"},
	{`evt.type = connect and fd.sip = 10.1.2.3 and fd.sport = 443 and fd.cport = 40000`, "connect"},
	{`evt.type = connect and fd.snet = 10.0.0.0/8 and not fd.cnet = 10.0.0.0/8`, "connect"},
	{`evt.type = connect and fd.rport in (web_ports) and fd.l4proto = tcp and fd.typechar = 4`, "connect"},
	{`evt.type = connect and fd.ip = 192.168.0.5`, "connect"},
	{`evt.type = connect and fd.sockfamily = ip`, "connect"},
	{`evt.type in (connect, sendto) and fd.sport exists`, "connect"},
	{`evt.type in (open, openat) and container.image.repository = docker.io/library/nginx and container.image.tag = "1.27"`, "write"},
	{`evt.type != connect and proc.name glob "c*"`, "denied"},
	{`evt.type in (open, openat) and fd.name pmatch (/etc)`, "denied write"},
	{`evt.type in (open, openat) and fd.name regex "^/etc/(passwd|shadow)$"`, "denied write"},
	{`evt.type in (open, openat) and fd.name icontains PASSWD`, "write"},
	{`evt.type in (open, openat) and tolower(proc.name) = VI`, ""},
	{`evt.type in (open, openat) and toupper(proc.name) = VI`, "write"},
	{`evt.type in (open, openat) and never_true`, ""},
	{`evt.type in (accept, accept4) and fd.sip = 10.0.0.2 and fd.sport = 80 and fd.cip = 10.9.9.9 and fd.rport = 5555 and fd.lport = 80`, "accept"},
	{`evt.type = accept4 and proc.cwd = /srv/`, "accept"},
	{`evt.type in (accept4, unlinkat) and container.id != host`, "accept"},
	{`evt.type in (accept, connect) and fd.ip != 10.0.0.2`, "connect"},
	{`evt.type in (accept, connect) and not fd.net = 10.0.0.0/8`, ""},
	{`evt.type in (open, openat, unlink, unlinkat) and fd.name startswith /etc`, "denied write"},
	{`evt.type = unlinkat and evt.arg.name = /etc/cron.d/x`, "unlink"},
	{`evt.type in (unlink, unlinkat) and not fd.name exists`, "unlink"},
	{`evt.type = bpf and (evt.arg.cmd=5 or evt.arg.cmd=BPF_PROG_LOAD)`, "bpf"},
	{`evt.type = bpf and evt.arg.cmd=0`, ""},
	{`evt.type = prctl and (evt.arg.option=15 or evt.arg.option=PR_SET_NAME) and evt.arg.arg2_str startswith kworker`, "prctl"},
	{`evt.type = prctl and evt.arg.option=PR_SET_DUMPABLE`, ""},
	{`evt.type in (sendto, recvfrom) and fd.name = /x`, ""},
	{`evt.type in (open, openat) and container.privileged = true`, "write"},
	{`evt.type in (open, openat) and container.mount.dest[/var/run/docker.sock] = /run/docker.sock`, "write"},
	{`evt.type in (open, openat) and not container.mount.dest[/var/run/*.sock] in ("<NA>", "N/A")`, "write"},
	{`evt.type in (open, openat) and container.mount.dest[/etc*] != "N/A"`, ""},
	{`evt.type in (open, openat) and container.mount.source[/proc] = proc`, "write"},
	{`evt.type = connect and fd.sip.name = db.example`, "connect"},
	{`evt.type = connect and fd.sip.name in (x.example, db.example) and not fd.cip.name = db.example`, "connect"},
	{`evt.type = connect and fd.sip.name != db.example`, ""},
	{`evt.type in (open, openat) and not never_true and not (proc.name=vi)`, "denied"},
}

// A Falco condition that vigil evaluates gives Falco's answer on every
// event: each condition is a rule of its own in one Falco file.
func TestFalcoSemantics(t *testing.T) {
	var b strings.Builder
	b.WriteString(prelude)
	for i, c := range semantics {
		fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: %s\n  output: o %%proc.name\n  priority: WARNING\n", i, strings.ReplaceAll(c.cond, "\n", " "))
	}
	set, err := rules.LoadSources(rules.Source{Name: "semantics.yaml", Data: []byte(b.String()), Dialect: rules.DialectFalco})
	if err != nil {
		t.Fatal(err)
	}
	c, err := engine.NewCompiler(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = c.WithNames(names{"db.example": "10.1.2.3"}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.CompileContext(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	// A condition false on every event (in Falco too) loads and never
	// fires; one that only events vigil lacks can match is skipped; one
	// that does not restrict evt.type runs on every type: each warned.
	warned := map[string]string{}
	for _, w := range rs.Warnings {
		warned[w.Item] = w.Code
	}
	index := func(cond string) string {
		for i, c := range semantics {
			if c.cond == cond {
				return fmt.Sprintf("rule %q", fmt.Sprintf("r%d", i))
			}
		}
		t.Fatalf("no case %s", cond)
		return ""
	}
	want := map[string]string{
		index(`evt.dir = >`): "LOAD_NO_EVTTYPE",
		index(`evt.type in (open, openat) and never_true`):       "LOAD_NO_EVTTYPE",
		index(`evt.type != connect and proc.name glob "c*"`):     "LOAD_NO_EVTTYPE",
		index(`evt.type in (sendto, recvfrom) and fd.name = /x`): "LOAD_SKIPPED_RULE",
	}
	if !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings %v\nwant %v", warned, want)
	}
	evs := events(t)
	got := make([][]string, len(semantics))
	m := engine.NewMatcher()
	for _, name := range []string{"accept", "bpf", "connect", "denied", "exec", "prctl", "unlink", "write"} {
		for _, a := range m.Match(rs, evs[name], nil) {
			var i int
			fmt.Sscanf(a.Rule, "r%d", &i)
			got[i] = append(got[i], name)
		}
	}
	for i, c := range semantics {
		if g := strings.Join(got[i], " "); g != c.want {
			t.Errorf("%s\n\tmatches %q, want %q", c.cond, g, c.want)
		}
	}
}

// A Falco rule's output renders Falco's fields the way Falco prints them,
// and its output_fields are keyed by the names the template used.
func TestFalcoOutput(t *testing.T) {
	src := `- rule: out
  desc: d
  condition: evt.type in (open, openat, connect, execve)
  output: "%evt.type %evt.res %proc.name parent=%proc.aname[1] gp=%proc.aname[2] ggp=%proc.aname[5] gpexe=%proc.aexepath[2] file=%fd.name type=%fd.type uid=%user.uid exe=%proc.exepath flags=%evt.arg.flags conn=%fd.sip:%fd.sport nope=%proc.is_exe_writable"
  priority: WARNING
`
	set, err := rules.LoadSources(rules.Source{Name: "out.yaml", Data: []byte(src), Dialect: rules.DialectFalco})
	if err != nil {
		t.Fatal(err)
	}
	c, err := engine.NewCompiler(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.CompileContext(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t)
	m := engine.NewMatcher()
	for name, want := range map[string]string{
		"exec":    "execve SUCCESS bash parent=sshd gp=systemd ggp=<NA> gpexe=/usr/lib/systemd/systemd file=<NA> type=<NA> uid=0 exe=/usr/bin/bash flags=<NA> conn=<NA>:<NA> nope=<NA>",
		"denied":  "open EACCES cat parent=<NA> gp=<NA> ggp=<NA> gpexe=<NA> file=/etc/shadow type=<NA> uid=0 exe= flags=O_RDONLY conn=<NA>:<NA> nope=<NA>",
		"connect": "connect SUCCESS curl parent=<NA> gp=<NA> ggp=<NA> gpexe=<NA> file=192.168.0.5:40000->10.1.2.3:443 type=ipv4 uid=0 exe= flags=<NA> conn=10.1.2.3:443 nope=<NA>",
	} {
		as := m.Match(rs, evs[name], nil)
		if len(as) != 1 {
			t.Fatalf("%s: %d alerts", name, len(as))
		}
		if as[0].Output != want {
			t.Errorf("%s:\n\tgot  %s\n\twant %s", name, as[0].Output, want)
		}
	}
	var got struct {
		Fields map[string]any `json:"output_fields"`
	}
	a := m.Match(rs, evs["connect"], nil)[0]
	if err := json.Unmarshal(event.AppendAlertJSON(nil, a), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := "evt.arg.flags evt.res evt.type fd.name fd.sip fd.sport fd.type proc.aexepath[2] proc.aname[1] proc.aname[2] proc.aname[5] proc.exepath proc.is_exe_writable proc.name user.uid"; strings.Join(keys, " ") != want {
		t.Errorf("output_fields keys %s\nwant %s", strings.Join(keys, " "), want)
	}
	if got.Fields["fd.sip"] != "10.1.2.3" || got.Fields["user.uid"] != 0.0 || got.Fields["proc.aname[1]"] != nil || got.Fields["proc.is_exe_writable"] != nil {
		t.Errorf("output_fields %v", got.Fields)
	}
}

// names resolves each name to one address.
type names map[string]string

func (n names) Resolves(name string, ip netip.Addr) bool { return n[name] == ip.String() }

// A macro no rule uses is not compiled (its ka.* fields are k8s_audit's);
// a macro's error is reported once, whatever rules name it; a rule with
// skip-if-unknown-filter is skipped, with a warning, for a field Falco
// does not know.
func TestFalcoErrors(t *testing.T) {
	load := func(src string) (*engine.Ruleset, error) {
		set, err := rules.LoadSources(rules.Source{Name: "e.yaml", Data: []byte(src), Dialect: rules.DialectFalco})
		if err != nil {
			return nil, err
		}
		c, err := engine.NewCompiler(engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c.CompileContext(context.Background(), set)
	}
	if _, err := load("- macro: audit_only\n  condition: ka.verb = create\n- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n"); err != nil {
		t.Errorf("an unused macro failed the load: %v", err)
	}
	_, err := load(`- macro: bad
  condition: proc.nmae = x
- rule: a
  desc: d
  condition: evt.type = execve and bad
  output: o
  priority: INFO
- rule: b
  desc: d
  condition: evt.type = execve and not bad
  output: o
  priority: INFO
`)
	want := `e.yaml:2:14: macro "bad": unknown field proc.nmae (did you mean proc.name?) (LOAD_UNKNOWN_FIELD)`
	if err == nil || strings.Split(err.Error(), "\n")[0] != want || strings.Count(err.Error(), "LOAD_") != 1 {
		t.Errorf("error:\n%v\nwant once:\n%s", err, want)
	}
	rs, err := load(`- rule: new field
  desc: d
  condition: evt.type = execve and proc.future_field = 1
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: kept
  desc: d
  condition: evt.type = execve
  output: o
  priority: INFO
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 1 || rs.Rules[0].Name != "kept" || len(rs.Warnings) != 1 ||
		rs.Warnings[0].Error() != `e.yaml:3:36: rule "new field": skipped (skip-if-unknown-filter): unknown field proc.future_field (LOAD_SKIPPED_RULE)` {
		t.Errorf("rules %d, warnings %v", len(rs.Rules), rs.Warnings)
	}
}

// Fields whose Falco value vigil computes at output time: the cwd with
// its slash, the environment, "host", setuid's user name, a dup'ed
// reverse shell's socket (client -> server).
func TestFalcoOutputComputed(t *testing.T) {
	src := `- rule: out
  desc: d
  condition: evt.type in (execve, setuid, dup2)
  output: "cwd=%proc.cwd env=%proc.env pre=%proc.env[LD_PRELOAD] ctr=%container.id uid=%evt.arg.uid conn=%fd.name sip=%fd.sip lport=%fd.lport"
  priority: WARNING
`
	set, err := rules.LoadSources(rules.Source{Name: "out.yaml", Data: []byte(src), Dialect: rules.DialectFalco})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := engine.NewCompiler(engine.Options{})
	rs, err := c.CompileContext(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(v map[string]any) *event.Event {
		e, err := event.FromFields(v)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	m := engine.NewMatcher()
	for _, c := range []struct {
		ev   map[string]any
		want string
	}{
		{map[string]any{"evt.type": "exec", "proc.cwd": "/srv", "proc.env": map[string]any{"LD_PRELOAD": "/tmp/x.so", "HOME": ""}},
			"cwd=/srv/ env=HOME= LD_PRELOAD=/tmp/x.so pre=/tmp/x.so ctr=host uid=<NA> conn=<NA> sip=<NA> lport=<NA>"},
		{map[string]any{"evt.type": "setuid", "evt.syscall": "setuid", "setid.real": 0, "proc.cwd": "/", "container.id": "0123456789ab"},
			"cwd=/ env= pre=<NA> ctr=0123456789ab uid=root conn=<NA> sip=<NA> lport=<NA>"},
		{map[string]any{"evt.type": "dup", "evt.syscall": "dup2", "proc.cwd": "/tmp/", "net.family": "ipv4", "net.proto": "tcp",
			"net.sip": "10.0.0.5", "net.sport": 50892, "net.dip": "192.0.2.2", "net.dport": 4444},
			"cwd=/tmp/ env= pre=<NA> ctr=host uid=<NA> conn=10.0.0.5:50892->192.0.2.2:4444 sip=192.0.2.2 lport=50892"},
	} {
		as := m.Match(rs, mk(c.ev), nil)
		if len(as) != 1 || as[0].Output != c.want {
			t.Errorf("%v:\n\tgot  %v\n\twant %s", c.ev["evt.type"], as, c.want)
		}
	}
}
