package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/testenv"
)

func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
}

// syncBuffer is written by vigil's goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// vigil events --format json streams flat JSON objects keyed by field name
// and stops cleanly (exit 0) when its context ends, as on SIGINT.
func TestEventsJSON(t *testing.T) {
	needRoot(t)
	pr, pw := io.Pipe()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"events", "--format", "json", "--type", "exec,connect"}, pw, &stderr)
		pw.Close()
	}()
	waitUntil(t, "ready", func() bool { return strings.Contains(stderr.String(), "ready") })

	dir, _ := filepath.EvalSymlinks(t.TempDir())
	cmd := exec.Command("/bin/echo", "vigil-cli-test", "x y")
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %s: %v", sc.Bytes(), err)
		}
		if ev["evt.type"] != "exec" && ev["evt.type"] != "connect" {
			t.Fatalf("--type exec,connect let through %v", ev["evt.type"])
		}
		if ev["proc.pid"] == float64(cmd.Process.Pid) {
			got = ev
			break
		}
	}
	echo, _ := filepath.EvalSymlinks("/bin/echo")
	want := map[string]any{
		"evt.type": "exec", "proc.name": "echo", "proc.exe": echo, "proc.cwd": dir,
		"proc.args": []any{"vigil-cli-test", "x y"}, "proc.cmdline": "echo vigil-cli-test x y",
		"proc.ppid": float64(os.Getpid()), "user.name": "root", "evt.failed": false,
	}
	for k, v := range want {
		if !equalJSON(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, ok := got["file.path"]; ok {
		t.Error("exec event has file.path")
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit code %d after interrupt; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("vigil events did not stop")
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"events", "--type", "exec,bogus"}, `vigil: --type: unknown event type "bogus" (known: exec, fork, exit, open, connect, unlink, mkdir, rename, link, symlink, chmod, ptrace, setuid, setgid, memfd_create, module_load, setns, unshare, mount, bpf, dup, accept, listen, socket, userfaultfd, truncate, chown, utimes, xattr, chattr, prctl, process_vm)`},
		{[]string{"events", "--format", "xml"}, `vigil: --format "xml": want json or text`},
		{[]string{"events", "--log-level", "loud"}, `vigil: --log-level "loud": want debug, info, warn or error`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb)
		if code != 1 || strings.TrimSpace(errb.String()) != c.want {
			t.Errorf("%v: exit %d, stderr %q; want 1, %q", c.args, code, errb.String(), c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	needRoot(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check"}, &out, &errb); code != 0 {
		t.Fatalf("vigil check exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ring buffer", "tp_btf"} {
		if !strings.Contains(strings.ToLower(out.String()), want) {
			t.Errorf("vigil check output lacks %q:\n%s", want, out.String())
		}
	}
}
