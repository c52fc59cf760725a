package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Falco-syntax rules files, run by vigil run as they are: real behaviours
// raise alerts named as the Falco rules, with outputs in Falco's fields.
func TestRunFalcoRules(t *testing.T) {
	needRoot(t)
	alerts := startRun(t, "--falco-rules", "testdata/falco/live.yaml", "--falco-rules", "testdata/falco/local.yaml")
	dir, _ := filepath.EvalSymlinks(t.TempDir())

	// A reader the local file appended to the list opens /etc/shadow.
	cat := filepath.Join(dir, "vt-cat2")
	copyExe(t, "/bin/cat", cat)
	cmd := exec.Command(cat, "/etc/shadow")
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	a := waitAlert(t, alerts, "VT Shadow read", cmd.Process.Pid)
	want := fmt.Sprintf("shadow read (file=/etc/shadow dir=/etc process=vt-cat2 parent=%s uid=0 evt=openat res=SUCCESS flags=O_RDONLY)", parentName(t))
	if a["output"] != want || a["priority"] != "Warning" || !reflect.DeepEqual(a["tags"], []any{"T1003", "filesystem"}) && !reflect.DeepEqual(a["tags"], []any{"filesystem", "T1003"}) {
		t.Errorf("alert:\n\toutput %q\n\twant   %q\n\tpriority %v tags %v", a["output"], want, a["priority"], a["tags"])
	}
	fields := a["output_fields"].(map[string]any)
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !reflect.DeepEqual(keys, []string{"evt.arg.flags", "evt.res", "evt.type", "fd.directory", "fd.name", "proc.name", "proc.pname", "user.uid"}) ||
		fields["fd.name"] != "/etc/shadow" || fields["user.uid"] != 0.0 {
		t.Errorf("output_fields %v", fields)
	}

	// An exec with the marker; the same program under the excepted name
	// raises nothing (checked by the next alert being the connect's).
	marked := filepath.Join(dir, "vt-marked")
	copyExe(t, "/bin/true", marked)
	cmd = exec.Command(marked, "--vigil-falco-marker", "x")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	a = waitAlert(t, alerts, "VT Exec with marker", cmd.Process.Pid)
	want = fmt.Sprintf("marked exec (process=vt-marked exepath=%s exe=%s args=--vigil-falco-marker x aname1=%s)", marked, marked, parentName(t))
	if a["output"] != want || a["priority"] != "Notice" {
		t.Errorf("alert:\n\toutput %q\n\twant   %q", a["output"], want)
	}
	allowed := filepath.Join(dir, "vt-allowed")
	copyExe(t, "/bin/true", allowed)
	if err := exec.Command(allowed, "--vigil-falco-marker").Run(); err != nil {
		t.Fatal(err)
	}

	// A connect to the test port, by a child (vigil does not see its own
	// process, which is this test's).
	ln, err := net.Listen("tcp4", "127.0.0.1:47831")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan string, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	if out, err := exec.Command("/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/47831").CombinedOutput(); err != nil {
		t.Fatalf("connect: %v: %s", err, out)
	}
	var local string
	select {
	case local = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the listener accepted nothing")
	}
	deadline := time.After(20 * time.Second)
	for {
		var a map[string]any
		select {
		case a = <-alerts:
		case <-deadline:
			t.Fatal("no alert of VT Connect to test port within 20s")
		}
		if a["rule"] == "VT Exec with marker" {
			t.Fatalf("the exception did not hold: %v", a["output"])
		}
		if a["rule"] != "VT Connect to test port" {
			continue
		}
		want := fmt.Sprintf("connect (connection=%s->127.0.0.1:47831 sip=127.0.0.1 sport=47831 type=ipv4)", local)
		if a["output"] != want || a["priority"] != "Error" {
			t.Errorf("alert:\n\toutput %q\n\twant   %q", a["output"], want)
		}
		break
	}
}

// parentName is the command name of the test binary: the parent of the
// programs it starts.
func parentName(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:len(b)-1])
}
