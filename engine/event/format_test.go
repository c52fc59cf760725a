package event

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleOpen() *Event {
	parent := &Process{PID: 1, Name: "systemd", Exe: "/usr/lib/systemd/systemd", Cmdline: "systemd"}
	return &Event{
		Type: TypeOpen, Time: time.Date(2026, 11, 22, 4, 0, 0, 123456789, time.UTC), Res: 3, Source: "tracepoint",
		TID: 101, UID: 1000, GID: 1000, EUID: 1000, CapEff: 1<<21 | 1<<1, CapPrm: 1<<21 | 1<<1 | 1<<7, CapInh: 1 << 13, LoginUID: 1000, Syscall: "openat",
		Proc: &Process{PID: 100, PPID: 1, VPID: 100, VPGID: 100, SID: 1, SName: "systemd", Name: "cat", Exe: "/usr/bin/cat", Argv: []string{"cat", "/etc/hosts"}, Env: map[string]string{"HOME": "", "LD_PRELOAD": "/tmp/x.so"},
			Cmdline: "cat /etc/hosts", Cwd: "/root", Start: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
			Stdio:     [3]Stdio{{Type: "tty", Ino: 3}, {Type: "pipe", Ino: 9002, PipeName: "sh", PipeExe: "/usr/bin/dash"}, {Type: "socket", Ino: 9001, Peer: "1.2.3.4:4444"}},
			Ancestors: []string{"systemd"}, AncestorExes: []string{"/usr/lib/systemd/systemd"}, AncestorArgv0s: []string{"/sbin/init"}, AncestorPIDs: []uint32{1},
			Container: Container{ID: "0123456789ab", FullID: strings.Repeat("0123456789abcdef", 4), Runtime: "docker",
				Name: "web-1", Image: "nginx:1.27", Labels: map[string]string{"tier": "front", "app": "web"},
				Privileged: true, Mounts: []ContainerMount{{Source: "/var/run/docker.sock", Dest: "/run/docker.sock", RW: true}, {Source: "proc", Dest: "/proc"}}, Known: true}},
		Parent: parent,
		User:   User{UID: 1000, Name: "alice", Home: "/home/alice", Shell: "/bin/bash"},
		File:   File{Path: "/etc/hosts", RawPath: "/etc/hosts", Flags: 0x80000},
	}
}

func TestAppendJSON(t *testing.T) {
	var got map[string]any
	b := AppendJSON(nil, sampleOpen())
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	want := map[string]any{
		"evt.type": "open", "evt.time": "2026-11-22T04:00:00.123456789Z", "evt.res": 3.0, "evt.failed": false, "evt.source": "tracepoint", "evt.syscall": "openat",
		"proc.loginuid": 1000.0, "proc.cap_effective": []any{"CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN"},
		"proc.cap_permitted": []any{"CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SYS_ADMIN"}, "proc.cap_inheritable": []any{"CAP_NET_RAW"}, "proc.env": map[string]any{"HOME": "", "LD_PRELOAD": "/tmp/x.so"},
		"file.setuid": false, "file.setgid": false,
		"proc.pid": 100.0, "proc.tid": 101.0, "proc.ppid": 1.0, "proc.name": "cat",
		"proc.vpid": 100.0, "proc.vpgid": 100.0, "proc.vpgid_leader": true, "proc.sid": 1.0, "proc.sid_leader": false, "proc.sname": "systemd", "proc.exe": "/usr/bin/cat",
		"proc.args": []any{"/etc/hosts"}, "proc.args_text": "/etc/hosts", "proc.argv0": "cat", "proc.pargv0": "", "proc.args_truncated": false, "proc.cmdline": "cat /etc/hosts", "proc.cwd": "/root",
		"proc.tty": 0.0, "proc.uid": 1000.0, "proc.gid": 1000.0, "proc.euid": 1000.0, "proc.start": "2026-11-22T03:00:00Z",
		"proc.exe_memfd": false, "proc.exe_upper_layer": false, "proc.pname": "systemd", "proc.pexe": "/usr/lib/systemd/systemd", "proc.pcmdline": "systemd",
		"proc.ancestors": []any{"systemd"}, "proc.ancestor_exes": []any{"/usr/lib/systemd/systemd"}, "proc.ancestor_argv0s": []any{"/sbin/init"}, "proc.ancestor_pids": []any{"1"}, "user.uid": 1000.0, "user.name": "alice", "user.home": "/home/alice", "user.shell": "/bin/bash",
		"file.path": "/etc/hosts", "file.rawpath": "/etc/hosts", "file.name": "hosts", "file.dir": "/etc", "file.flags": float64(0x80000), "file.flags_text": "O_RDONLY|O_CLOEXEC",
		"file.mode": 0.0, "file.mode_text": "", "proc.env_text": "HOME= LD_PRELOAD=/tmp/x.so", "file.read": true, "file.write": false, "file.create": false, "file.trunc": false,
		"file.modified": false, "file.change": "", "file.modified_path": "", "file.modified_name": "", "file.modified_dir": "",
		"file.proc_pid": 0.0, "file.proc_other": false,
		"container.id": "0123456789ab", "container.full_id": strings.Repeat("0123456789abcdef", 4), "container.runtime": "docker",
		"container.name": "web-1", "container.image": "nginx:1.27", "container.image_repository": "nginx", "container.image_tag": "1.27", "container.labels": map[string]any{"app": "web", "tier": "front"},
		"container.privileged": true, "container.mounts": []any{"/var/run/docker.sock:/run/docker.sock:rw", "proc:/proc:ro"},
		"container.mount_sources": []any{"/var/run/docker.sock", "proc"}, "container.mount_dests": []any{"/run/docker.sock", "/proc"},
		"k8s.ns": "", "k8s.pod": "",
		"proc.stdin_type": "tty", "proc.stdout_type": "pipe", "proc.stderr_type": "socket", "proc.stdin_peer": "", "proc.stdout_peer": "", "proc.stderr_peer": "1.2.3.4:4444",
		"proc.stdin_writer": "", "proc.stdin_writer_exe": "", "proc.stdout_reader": "sh", "proc.stdout_reader_exe": "/usr/bin/dash",
		"proc.script": "", "proc.script_dir": "",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected key %s", k)
			}
		}
	}
	// Keys follow the field table's order.
	if !bytes.HasPrefix(b, []byte(`{"evt.type":"open","evt.time":`)) {
		t.Errorf("key order: %.60s", b)
	}
}

func TestAppendJSONConnect(t *testing.T) {
	e := sampleOpen()
	e.Type = TypeConnect
	e.Res = -111
	e.Net = Net{Family: "ipv6", Proto: "tcp", SockType: "stream", DIP: netip.MustParseAddr("::1"), DPort: 443}
	var got map[string]any
	if err := json.Unmarshal(AppendJSON(nil, e), &got); err != nil {
		t.Fatal(err)
	}
	if got["net.dip"] != "::1" || got["net.dport"] != 443.0 || got["net.sip"] != "" || got["evt.failed"] != true || got["evt.res"] != -111.0 {
		t.Errorf("connect JSON: %v", got)
	}
	if _, ok := got["file.path"]; ok {
		t.Error("connect event carries file fields")
	}
}

// Whatever a process puts in a path, an argument or the environment, the
// JSON stays one valid, printable line, and each string decodes (JSON,
// then Unescape) to the bytes it had.
func TestJSONHostileStrings(t *testing.T) {
	for _, c := range hostileStrings {
		e := sampleOpen()
		e.File.RawPath = c.in
		e.Proc.Argv = []string{"cat", c.in}
		e.Proc.Env = map[string]string{c.in: c.in}
		b := AppendJSON(nil, e)
		if !json.Valid(b) {
			t.Fatalf("%s: invalid JSON %s", c.name, b)
		}
		checkPrintable(t, "AppendJSON", c.in, string(b))
		want := `"file.rawpath":` + c.json + `,`
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s: no %s in %s", c.name, want, b)
		}
		if want := `"proc.args":[` + c.json + `]`; !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s: no %s in %s", c.name, want, b)
		}
		if want := `"proc.env":{` + c.json + `:` + c.json + `}`; !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s: no %s in %s", c.name, want, b)
		}
		back, err := DecodeJSON(b)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		if back.File.RawPath != c.in || back.Proc.Argv[1] != c.in || back.Proc.Env[c.in] != c.in {
			t.Errorf("%s: decoded rawpath %q, args %q, env %q; want %q", c.name, back.File.RawPath, back.Proc.Argv, back.Proc.Env, c.in)
		}
	}
	if _, err := DecodeJSON([]byte(`{"evt.type":"open","file.path":"a\\ud800"}`)); err == nil || err.Error() != `file.path: offset 1: bad escape: \ud800 is not a character` {
		t.Errorf("decode of a bad escape: %v", err)
	}
}

// hostileAlert is an alert on an open of path, with the output the engine
// renders for "open %file.path" (values in the text escape).
func hostileAlert(path string) *Alert {
	e := sampleOpen()
	e.File.Path = path
	e.Proc.Argv = []string{"cat", path}
	return &Alert{Time: e.Time, Rule: "Open \u202e rule", Priority: "Warning", Level: 4, Source: "syscall",
		Output: "open " + string(AppendEscaped(nil, path)), Fields: []string{"file.path", "proc.args"},
		Tags: []string{"t\u202e"}, Hostname: "node-1", Action: "kill", Event: e}
}

// output, output_fields and event carry the same bytes the same way: an
// invalid byte as \xNN and a literal backslash doubled, so that a literal
// "\x41" in a path stays apart from the byte 0x41.
func TestAlertJSONHostile(t *testing.T) {
	const path = "/tmp/a\xffb\\x41\u202e\n"
	a := hostileAlert(path)
	b := AppendAlertJSON(nil, a)
	checkPrintable(t, "AppendAlertJSON", path, string(b))
	for _, want := range []string{
		`"rule":"Open \\u202e rule",`,
		`"output":"open /tmp/a\\xffb\\\\x41\\u202e\\n",`,
		`"output_fields":{"file.path":"/tmp/a\\xffb\\\\x41\u202e\n","proc.args":["/tmp/a\\xffb\\\\x41\u202e\n"]},`,
		`"tags":["t\\u202e"],`,
		`"file.path":"/tmp/a\\xffb\\\\x41\u202e\n",`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %s in\n%s", want, b)
		}
	}
	var got struct {
		Output string         `json:"output"`
		Fields map[string]any `json:"output_fields"`
		Event  map[string]any `json:"event"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	text := strings.TrimPrefix(got.Output, "open ")
	if text != `/tmp/a\xffb\\x41\u202e\n` {
		t.Errorf("output value %s", text)
	}
	for what, v := range map[string]any{"output": text, "output_fields": got.Fields["file.path"], "event": got.Event["file.path"],
		"output_fields args": got.Fields["proc.args"].([]any)[0]} {
		if back, err := Unescape(v.(string)); err != nil || back != path {
			t.Errorf("%s: %q unescapes to %q, %v; want %q", what, v, back, err, path)
		}
	}
}

func TestAlertTextHostile(t *testing.T) {
	a := hostileAlert("/tmp/a\xffb\\x41\u202e\n")
	got := string(AppendAlertText(nil, a))
	want := `2026-11-22T04:00:00.123456Z Warning "Open \u202e rule" open /tmp/a\xffb\\x41\u202e\n action=kill`
	if got != want {
		t.Errorf("text:\n got %s\nwant %s", got, want)
	}
	// An output built elsewhere, unescaped, is made safe all the same.
	a.Output, a.Priority, a.Action = "raw \u202e\x1b[2J\nforged \xff \\x41", "Warn\ning", "deny\u2066"
	got = string(AppendAlertText(nil, a))
	want = `2026-11-22T04:00:00.123456Z Warn\ning "Open \u202e rule" raw \u202e\x1b[2J\nforged \xff \x41 action=deny\u2066`
	if got != want {
		t.Errorf("text:\n got %s\nwant %s", got, want)
	}
}

func TestAppendText(t *testing.T) {
	e := sampleOpen()
	got := string(AppendText(nil, e))
	want := `2026-11-22T04:00:00.123456Z open pid=100 ppid=1 uid=1000 proc=cat exe=/usr/bin/cat container=0123456789ab container_name=web-1 image=nginx:1.27 file=/etc/hosts flags=O_RDONLY|O_CLOEXEC syscall=openat res=3`
	if got != want {
		t.Errorf("text:\n got %s\nwant %s", got, want)
	}
	e.File.Path = "/tmp/evil\n2026-01-01 exec pid=1"
	got = string(AppendText(nil, e))
	if strings.ContainsAny(got, "\n") || !strings.Contains(got, `file="/tmp/evil\n2026-01-01 exec pid=1"`) {
		t.Errorf("hostile path not quoted: %s", got)
	}
	for _, c := range hostileStrings {
		e.File.Path = c.in
		got := string(AppendText(nil, e))
		checkPrintable(t, "AppendText", c.in, got)
		// One token of printable ASCII as it is, anything else quoted.
		want := "file=" + string(AppendQuoted(nil, c.in))
		if c.in != "" && strings.IndexFunc(c.in, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '"' || r == '\\' }) < 0 {
			want = "file=" + c.in
		}
		if !strings.Contains(got, " "+want+" flags=") {
			t.Errorf("%s: no %s in %s", c.name, want, got)
		}
	}
	e.File.Path = "/tmp/\u202ecod.sh \xff\\x41"
	if got, want := string(AppendText(nil, e)), `file="/tmp/\u202ecod.sh \xff\\x41" flags=`; !strings.Contains(got, want) {
		t.Errorf("no %s in %s", want, got)
	}
}

// The text line of each syscall type names what the event is about.
func TestAppendTextNewTypes(t *testing.T) {
	base := func(typ Type, syscall string) *Event {
		e := sampleOpen()
		e.Type, e.Syscall, e.Res, e.File = typ, syscall, 0, File{}
		e.Proc = &Process{PID: 7, PPID: 1, Name: "x", Exe: "/x"}
		return e
	}
	suffix := func(e *Event) string {
		s := string(AppendText(nil, e))
		return s[strings.Index(s, "exe=/x ")+len("exe=/x "):]
	}
	e := base(TypeRename, "renameat2")
	e.File = File{Path: "/a", Target: "/b"}
	type tc struct {
		e    *Event
		want string
	}
	cases := []tc{{e, "file=/a new=/b syscall=renameat2 res=0"}}
	e = base(TypeSymlink, "symlink")
	e.File = File{Path: "/l", Target: "/etc/shadow"}
	cases = append(cases, tc{e, "link=/l target=/etc/shadow res=0"})
	e = base(TypeSetuid, "setresuid")
	e.SetID = SetID{Req: [4]int64{0, 0, 0, -1}, Old: [4]int64{33, 33, 33, 33}}
	e.Res = -1
	cases = append(cases, tc{e, "ids=0/0/0/-1 old=33/33/33/33 syscall=setresuid res=-1"})
	e = base(TypeDup, "dup2")
	e.Net = Net{Proto: "tcp", DIP: netip.MustParseAddr("203.0.113.7"), DPort: 4444, SIP: netip.MustParseAddr("10.0.0.2"), SPort: 50000}
	cases = append(cases, tc{e, "peer=203.0.113.7:4444 local=10.0.0.2:50000 proto=tcp syscall=dup2 res=0"})
	e = base(TypePtrace, "ptrace")
	e.Ptrace = Ptrace{Request: 16, PID: 812, Target: &Process{Name: "sshd"}}
	cases = append(cases, tc{e, "request=PTRACE_ATTACH target_pid=812 target=sshd res=0"})
	e = base(TypeUnshare, "unshare")
	e.NS = NS{Types: []string{"mnt", "user"}}
	cases = append(cases, tc{e, "ns=mnt,user res=0"})
	for _, c := range cases {
		if got := suffix(c.e); got != c.want {
			t.Errorf("%s: %q, want %q", c.e.Type, got, c.want)
		}
	}
}

func TestOpenFlagsString(t *testing.T) {
	cases := map[uint32]string{
		0:        "O_RDONLY",
		0x241:    "O_WRONLY|O_CREAT|O_TRUNC",
		0x80042:  "O_RDWR|O_CREAT|O_CLOEXEC",
		0x410002: "O_RDWR|O_TMPFILE",
		0x10000:  "O_RDONLY|O_DIRECTORY",
	}
	for in, want := range cases {
		if got := OpenFlagsString(in); got != want {
			t.Errorf("OpenFlagsString(%#x) = %q, want %q", in, got, want)
		}
	}
}

func TestFileDerived(t *testing.T) {
	cases := []struct {
		flags                      uint32
		read, write, create, trunc bool
	}{
		{0, true, false, false, false},
		{0x1, false, true, false, false},
		{0x2, true, true, false, false},
		{0x241, false, true, true, true},
		{0x410002, true, true, true, false},
	}
	for _, c := range cases {
		f := File{Flags: c.flags}
		if f.Read() != c.read || f.Write() != c.write || f.Create() != c.create || f.Trunc() != c.trunc {
			t.Errorf("flags %#x: read=%v write=%v create=%v trunc=%v", c.flags, f.Read(), f.Write(), f.Create(), f.Trunc())
		}
	}
}

func TestFieldTable(t *testing.T) {
	seen := map[string]bool{}
	e := sampleOpen()
	for _, f := range Fields {
		if seen[f.Name] {
			t.Errorf("duplicate field %s", f.Name)
		}
		seen[f.Name] = true
		if f.Desc == "" || f.Types == 0 {
			t.Errorf("%s: missing description or types", f.Name)
		}
		var set int
		for _, ok := range []bool{f.Str != nil, f.Int != nil, f.Uint != nil, f.Bool != nil, f.Time != nil, f.Strs != nil, f.IP != nil, f.Map != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			t.Errorf("%s: %d accessors set", f.Name, set)
		}
		setters := 0
		for _, ok := range []bool{f.SetStr != nil, f.SetInt != nil, f.SetBool != nil, f.SetTime != nil, f.SetStrs != nil, f.SetIP != nil, f.SetMap != nil} {
			if ok {
				setters++
			}
		}
		if setters != 1 && f.Derived == "" || setters != 0 && f.Derived != "" {
			t.Errorf("%s: %d setters, derived from %q: want one setter, or none and derived", f.Name, setters, f.Derived)
		}
		if !f.settable() && f.Derived == "" {
			t.Errorf("%s: the setter does not match kind %s", f.Name, f.Kind)
		}
		appendJSONValue(nil, &f, e) // every accessor works on a full event
	}
	e.Parent = nil
	if f, _ := FieldByName("proc.pname"); f.Str(e) != "" {
		t.Error("proc.pname without a parent")
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := sampleOpen()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], e)
	}
}

// BenchmarkAppendAlertJSON: an alert on an ordinary event, and one whose
// path and arguments need every kind of escape.
func BenchmarkAppendAlertJSON(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"plain", "/etc/shadow"},
		{"hostile", "/tmp/é\xff\x1b[31m\u202e\\x41/" + strings.Repeat("ü\xfe", 8)},
	} {
		b.Run(c.name, func(b *testing.B) {
			a := hostileAlert(c.path)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendAlertJSON(buf[:0], a)
			}
		})
	}
}

func BenchmarkAppendAlertText(b *testing.B) {
	a := hostileAlert("/etc/shadow")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAlertText(buf[:0], a)
	}
}
