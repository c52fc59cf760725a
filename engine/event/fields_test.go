package event

import (
	"slices"
	"testing"
)

// An image reference splits as the runtimes write it: a registry's port is
// not a tag, and a digest goes.
func TestSplitImage(t *testing.T) {
	for image, want := range map[string][2]string{
		"nginx:1.27":                          {"nginx", "1.27"},
		"docker.io/library/nginx":             {"docker.io/library/nginx", ""},
		"registry:5000/team/app":              {"registry:5000/team/app", ""},
		"registry:5000/team/app:v2":           {"registry:5000/team/app", "v2"},
		"quay.io/x/y:1@sha256:abcd":           {"quay.io/x/y", "1"},
		"ghcr.io/x/y@sha256:0123456789abcdef": {"ghcr.io/x/y", ""},
		"":                                    {"", ""},
	} {
		if r, tag := splitImage(image); r != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", image, r, tag, want[0], want[1])
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[uint32]string{0: "", 0o755: "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR", 0o4700: "S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"} {
		if got := ModeString(m); got != want {
			t.Errorf("ModeString(%o) = %q, want %q", m, got, want)
		}
	}
}

// container.mounts items read back as they print; a malformed one is
// refused with the item named.
func TestContainerMounts(t *testing.T) {
	e, err := FromFields(map[string]any{"evt.type": "exec", "container.mounts": []any{"/var/run/docker.sock:/run/docker.sock:rw", "proc:/proc:ro", ":/empty-source:ro"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []ContainerMount{{"/var/run/docker.sock", "/run/docker.sock", true}, {"proc", "/proc", false}, {"", "/empty-source", false}}
	if !slices.Equal(e.Proc.Container.Mounts, want) {
		t.Errorf("mounts = %+v", e.Proc.Container.Mounts)
	}
	for name, want := range map[string][]string{
		"container.mounts":        {"/var/run/docker.sock:/run/docker.sock:rw", "proc:/proc:ro", ":/empty-source:ro"},
		"container.mount_sources": {"/var/run/docker.sock", "proc", ""},
		"container.mount_dests":   {"/run/docker.sock", "/proc", "/empty-source"},
	} {
		f, _ := FieldByName(name)
		if got := f.Strs(e); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for item, msg := range map[string]string{
		"/a":             `container.mounts: mount "/a" is not source:/dest:rw or source:/dest:ro`,
		"/a:/b":          `container.mounts: mount "/a:/b" is not source:/dest:rw or source:/dest:ro`,
		"/a:/b:rx":       `container.mounts: mount "/a:/b:rx" is not source:/dest:rw or source:/dest:ro`,
		"/a:relative:rw": `container.mounts: mount "/a:relative:rw" is not source:/dest:rw or source:/dest:ro`,
	} {
		_, err := FromFields(map[string]any{"evt.type": "exec", "container.mounts": []any{item}})
		if err == nil || err.Error() != msg {
			t.Errorf("%q: err = %v, want %s", item, err, msg)
		}
	}
}

// The pid-namespace ids: a rule test that leaves them out describes a
// host process that leads itself; the leader fields compare the ids.
func TestNamespaceIDs(t *testing.T) {
	e, err := FromFields(map[string]any{"evt.type": "exec", "proc.pid": 4000, "proc.name": "sh"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Proc.VPID != 4000 || e.Proc.SName != "sh" {
		t.Errorf("defaults: vpid %d sname %q, want 4000 sh", e.Proc.VPID, e.Proc.SName)
	}
	for _, tt := range []struct {
		vpid, vpgid, sid  uint32
		pgLeader, sLeader bool
	}{
		{1, 1, 1, true, true},
		{7, 1, 1, false, false},
		{7, 7, 1, true, false},
		{0, 0, 0, false, false}, // unknown ids lead nothing
	} {
		e := &Event{Proc: &Process{VPID: tt.vpid, VPGID: tt.vpgid, SID: tt.sid}}
		pg, _ := FieldByName("proc.vpgid_leader")
		s, _ := FieldByName("proc.sid_leader")
		if pg.Bool(e) != tt.pgLeader || s.Bool(e) != tt.sLeader {
			t.Errorf("vpid %d vpgid %d sid %d: vpgid_leader %v sid_leader %v, want %v %v", tt.vpid, tt.vpgid, tt.sid, pg.Bool(e), s.Bool(e), tt.pgLeader, tt.sLeader)
		}
	}
}

// Ancestor pids are a list of decimal strings (the rule language has no
// list of numbers); a rule test's non-number is an error naming it.
func TestAncestorPIDs(t *testing.T) {
	f, _ := FieldByName("proc.ancestor_pids")
	e := &Event{Proc: &Process{AncestorPIDs: []uint32{4321, 1, 4294967295}}}
	if got, want := f.Strs(e), []string{"4321", "1", "4294967295"}; !slices.Equal(got, want) {
		t.Errorf("proc.ancestor_pids = %q, want %q", got, want)
	}
	if got := f.Strs(&Event{Proc: &Process{}}); got != nil {
		t.Errorf("no ancestors: %q, want nil", got)
	}
	back, err := FromFields(map[string]any{"evt.type": "exec", "proc.ancestor_pids": []any{"12", "1"}})
	if err != nil || !slices.Equal(back.Proc.AncestorPIDs, []uint32{12, 1}) {
		t.Errorf("FromFields: %v, %v", back.Proc.AncestorPIDs, err)
	}
	_, err = FromFields(map[string]any{"evt.type": "exec", "proc.ancestor_pids": []any{"12", "init"}})
	if want := `proc.ancestor_pids: ancestor pid "init" is not a number`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestScriptDir(t *testing.T) {
	f, _ := FieldByName("proc.script_dir")
	for script, want := range map[string]string{"/tmp/payload.sh": "/tmp", "/x.py": "/", "": ""} {
		if got := f.Str(&Event{Proc: &Process{Script: script}}); got != want {
			t.Errorf("script %q: proc.script_dir = %q, want %q", script, got, want)
		}
	}
}

// The stdio type setter takes the documented types and "" (unknown).
func TestStdioTypeSetter(t *testing.T) {
	f, _ := FieldByName("proc.stdout_type")
	e := &Event{Proc: &Process{}}
	for _, s := range append(StdioTypes, "") {
		if err := f.SetStr(e, s); err != nil || e.Proc.Stdio[1].Type != s {
			t.Errorf("set %q: %v, type %q", s, err, e.Proc.Stdio[1].Type)
		}
	}
	if err := f.SetStr(e, "fifo"); err == nil || err.Error() != `unknown stdout type "fifo" (tty, char, pipe, socket, file, dir, none, other)` {
		t.Errorf("set fifo: %v", err)
	}
}

// file.proc_pid and file.proc_other for a process with host pid 4000,
// pid 7 in its own namespace, opening from its thread 4001.
func TestProcPathFields(t *testing.T) {
	pidF, _ := FieldByName("file.proc_pid")
	otherF, _ := FieldByName("file.proc_other")
	cases := []struct {
		path  string
		vpid  uint32
		pid   uint64
		other bool
	}{
		{"/proc/1234/environ", 7, 1234, true},
		{"/proc/1234/mem", 7, 1234, true},
		{"/proc/1234", 7, 1234, true},
		{"/proc/1234/task/1240/mem", 7, 1234, true},
		{"/proc/4000/environ", 7, 4000, false}, // its host pid
		{"/proc/7/mem", 7, 7, false},           // its namespace pid
		{"/proc/4001/comm", 7, 4001, false},    // its thread
		{"/proc/self/environ", 7, 7, false},
		{"/proc/thread-self/mem", 7, 7, false},
		{"/proc/self", 7, 7, false},
		{"/proc/self/environ", 0, 4000, false}, // vpid unknown: the pid
		{"/proc/1/environ", 0, 1, true},
		{"/proc/sys/kernel/pid_max", 7, 0, false},
		{"/proc/cpuinfo", 7, 0, false},
		{"/proc/", 7, 0, false},
		{"/proc", 7, 0, false},
		{"/proc/0123/mem", 7, 0, false}, // procfs takes no leading zero
		{"/proc/0/mem", 7, 0, false},
		{"/proc/99999999999/mem", 7, 0, false}, // beyond 32 bits
		{"/proc/12a/mem", 7, 0, false},
		{"/proc/+12/mem", 7, 0, false},
		{"/procfoo/12/mem", 7, 0, false},
		{"/host/proc/1234/environ", 7, 0, false},
		{"/etc/passwd", 7, 0, false},
		{"", 7, 0, false},
	}
	for _, c := range cases {
		e := &Event{Type: TypeOpen, TID: 4001, Proc: &Process{PID: 4000, VPID: c.vpid}, File: File{Path: c.path}}
		if got, other := pidF.Uint(e), otherF.Bool(e); got != c.pid || other != c.other {
			t.Errorf("%q (vpid %d): file.proc_pid %d, file.proc_other %v; want %d, %v", c.path, c.vpid, got, other, c.pid, c.other)
		}
	}
}
