package bpf

// Programs these tests run: passwd (useradd, gpasswd, passwd), libcap2-bin
// (setcap), openssl, procps (pgrep, pkill, sysctl), e2fsprogs (chattr),
// systemd (systemctl), tar, python3, curl. make test-deps installs them
// (TEST_DEPS), systemd aside, which a Debian host has. A subtest whose
// program is missing fails under CI and is skipped elsewhere; the kernel
// matrix's busybox VM does not run these tests.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// execStart runs a command to its end and returns its pid. Its exit
// status does not matter: many of these commands are made to fail
// harmlessly (a missing file, a missing chroot, no permission) after the
// exec the rules judge.
func execStart(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if cmd.Process == nil {
		t.Fatalf("%s: %v %s", cmd, err, out)
	}
	return cmd.Process.Pid
}

// execOrphan runs name with args as an orphan: a shell forks a subshell
// and exits, and the subshell waits until its parent is gone before it
// execs name, so that name's parent is init (or the nearest subreaper)
// and none of the test's ancestors are name's.
func execOrphan(t *testing.T, sh, name string, args ...string) {
	t.Helper()
	script := `( while kill -0 $$ 2>/dev/null; do sleep 0.05; done; exec "$0" "$@" ) >/dev/null 2>&1 &`
	cmd := exec.Command(sh, append([]string{"-c", script, name}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", cmd, err, out)
	}
}

// execWithArg accepts the exec of a program named name with arg among its
// arguments.
func execWithArg(name, arg string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Proc.Name == name && slices.Contains(e.Proc.Argv, arg)
	}
}

// asNobody makes cmd run as uid and gid 65534, whose login shell is
// nologin (or false in the kernel matrix): writes to /proc/sys fail.
func asNobody(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	return cmd
}

// childOf accepts the exec of a program named name whose parent is pid.
func childOf(pid int, name string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Proc.PPID == uint32(pid) && e.Proc.Name == name
	}
}

// matchBuiltin is every alert of the built-in rules on e.
func matchBuiltin(t *testing.T, e *event.Event) []*event.Alert {
	t.Helper()
	return engine.NewMatcher().Match(builtinRules(t), e, nil)
}

func wantOutput(t *testing.T, a *event.Alert, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(a.Output, w) {
			t.Errorf("%s: output %q lacks %q", a.Rule, a.Output, w)
		}
	}
}

// The behaviours the exec rules of 10-process.yaml and 15-discovery.yaml
// detect, performed for real by the real programs, in harmless variants
// of the same command line where the real thing would change the host
// (a chroot that does not exist, a process name that matches nothing, a
// write without permission).
func TestExecRulesLive(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	sh := testenv.RequireTool(t, "sh")

	t.Run("program started by a php-fpm worker", func(t *testing.T) {
		// A shell named like the worker runs id, as PHP's system() does
		// through sh -c: the second command keeps the shell around.
		fpm := filepath.Join(dir, "php-fpm8.2")
		if err := os.Symlink(sh, fpm); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(fpm, "-c", "id >/dev/null; true"))
		a := c.firesOn(t, "Program spawned by web or database server", "id below php-fpm8.2", childOf(pid, "id"))
		wantOutput(t, a, "process=id cmdline=id", "parent=php-fpm8.2")
	})

	t.Run("find -exec sh", func(t *testing.T) {
		find := testenv.RequireTool(t, "find")
		pid := execStart(t, exec.Command(find, dir, "-maxdepth", "0", "-exec", "sh", ";"))
		a := c.firesOn(t, "Interactive shell spawned by a program with a shell escape", "sh below find", childOf(pid, "sh"))
		wantOutput(t, a, "shell=sh cmdline=sh parent=find")
	})

	t.Run("awk system(/bin/sh)", func(t *testing.T) {
		awk := testenv.RequireTool(t, "awk")
		pid := execStart(t, exec.Command(awk, `BEGIN { system("/bin/sh") }`))
		a := c.firesOn(t, "Interactive shell spawned by a program with a shell escape", "sh below awk", childOf(pid, "sh"))
		wantOutput(t, a, "parent=awk")
	})

	t.Run("python starts a bare shell", func(t *testing.T) {
		py := testenv.RequireTool(t, "python3")
		cmd := exec.Command(py, "-c", `import subprocess; subprocess.run(["/bin/sh"], stdin=subprocess.DEVNULL)`)
		pid := execStart(t, cmd)
		a := c.firesOn(t, "Interactive shell spawned by a program with a shell escape", "sh below python", childOf(pid, "sh"))
		wantOutput(t, a, "shell=sh cmdline=sh parent=python3")
	})

	t.Run("interactive shell of nobody", func(t *testing.T) {
		pid := execStart(t, asNobody(exec.Command(sh, "-i")))
		a := c.fires(t, "Interactive session by system user", pid)
		wantOutput(t, a, "user=nobody uid=65534 shell=/", "cmdline=sh -i")
	})

	t.Run("uid 0 account", func(t *testing.T) {
		useradd := testenv.RequireTool(t, "useradd")
		pid := execStart(t, exec.Command(useradd, "-R", "/nonexistent-vigil-live", "-o", "-u", "0", "vigil-live"))
		a := c.fires(t, "Root-equivalent account created", pid)
		wantOutput(t, a, "cmdline=useradd -R /nonexistent-vigil-live -o -u 0 vigil-live")
	})

	t.Run("user added to sudo", func(t *testing.T) {
		gpasswd := testenv.RequireTool(t, "gpasswd")
		pid := execStart(t, exec.Command(gpasswd, "-R", "/nonexistent-vigil-live", "-a", "vigil-live", "sudo"))
		a := c.fires(t, "User added to privileged group", pid)
		wantOutput(t, a, "cmdline=gpasswd -R /nonexistent-vigil-live -a vigil-live sudo")
	})

	t.Run("password changed", func(t *testing.T) {
		passwd := testenv.RequireTool(t, "passwd")
		pid := execStart(t, exec.Command(passwd, "-R", "/nonexistent-vigil-live", "vigil-live"))
		a := c.fires(t, "Password changed by command", pid)
		wantOutput(t, a, "cmdline=passwd -R /nonexistent-vigil-live vigil-live")
	})

	t.Run("setuid search", func(t *testing.T) {
		find := testenv.RequireTool(t, "find")
		pid := execStart(t, exec.Command(find, "/nonexistent-vigil-live", "-perm", "-4000", "-type", "f"))
		a := c.fires(t, "Search for setuid or setgid files", pid)
		wantOutput(t, a, "cmdline=find /nonexistent-vigil-live -perm -4000 -type f")
	})

	t.Run("security software looked up and killed", func(t *testing.T) {
		pgrep := testenv.RequireTool(t, "pgrep")
		pid := execStart(t, exec.Command(pgrep, "-f", "falco"))
		a := c.fires(t, "Security software discovery", pid)
		wantOutput(t, a, "process=pgrep cmdline=pgrep -f falco")
		// Signal 0 to a pattern that matches no process: nothing is sent.
		pkill := testenv.RequireTool(t, "pkill")
		pid = execStart(t, exec.Command(pkill, "-0", "-f", "falco vigil-live-no-such-process"))
		a = c.fires(t, "Security software stopped or disabled", pid)
		wantOutput(t, a, "cmdline=pkill -0 -f falco vigil-live-no-such-process")
	})

	t.Run("shadow through getent", func(t *testing.T) {
		getent := testenv.RequireTool(t, "getent")
		pid := execStart(t, exec.Command(getent, "shadow", "vigil-live-no-such-user"))
		a := c.fires(t, "Password hashes or credentials dumped by command", pid)
		wantOutput(t, a, "process=getent cmdline=getent shadow vigil-live-no-such-user")
	})

	t.Run("openssl enc with a passphrase", func(t *testing.T) {
		openssl := testenv.RequireTool(t, "openssl")
		out := filepath.Join(dir, "loot.enc")
		pid := execStart(t, exec.Command(openssl, "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:x", "-in", "/dev/null", "-out", out))
		a := c.fires(t, "Data archived or encrypted with a password", pid)
		wantOutput(t, a, "process=openssl cmdline=openssl enc -aes-256-cbc -pbkdf2")
	})

	t.Run("tar of a .ssh directory", func(t *testing.T) {
		tar := testenv.RequireTool(t, "tar")
		pid := execStart(t, exec.Command(tar, "-cf", "/dev/null", "/nonexistent-vigil-live/.ssh"))
		a := c.fires(t, "Credentials or keys put in an archive", pid)
		wantOutput(t, a, "process=tar cmdline=tar -cf /dev/null /nonexistent-vigil-live/.ssh")
	})

	t.Run("systemctl link from /dev/shm", func(t *testing.T) {
		systemctl := testenv.RequireTool(t, "systemctl")
		unit := "/dev/shm/vigil-live-no-such.service" // never created: the link fails
		pid := execStart(t, exec.Command(systemctl, "link", unit))
		a := c.fires(t, "Systemd unit or service run from a temporary directory", pid)
		wantOutput(t, a, "cmdline=systemctl link "+unit)
	})

	t.Run("stratum URL on a command line", func(t *testing.T) {
		pid := execStart(t, exec.Command("true", "-o", "StRaTuM+TcP://127.0.0.1:3333", "-u", "x"))
		a := c.fires(t, "Crypto miner launched", pid)
		wantOutput(t, a, "cmdline=true -o StRaTuM+TcP://127.0.0.1:3333 -u x")
	})

	t.Run("history overwritten with cp", func(t *testing.T) {
		cp := testenv.RequireTool(t, "cp")
		hist := filepath.Join(dir, ".bash_history")
		pid := execStart(t, exec.Command(cp, "/dev/null", hist))
		a := c.fires(t, "Shell history or logs wiped by command", pid)
		wantOutput(t, a, "cmdline=cp /dev/null "+hist)
	})

	t.Run("timestamps copied with touch -r", func(t *testing.T) {
		// The rule excuses touch below a build tool, and `make test` runs
		// this test below make: the touch is orphaned before its exec so
		// that its ancestors are not the test's.
		touch := testenv.RequireTool(t, "touch")
		f := filepath.Join(dir, "stomped")
		execOrphan(t, sh, touch, "-r", "/etc/passwd", f)
		a := c.firesOn(t, "File timestamps set by command", "orphaned touch -r", execWithArg("touch", f))
		wantOutput(t, a, "cmdline=touch -r /etc/passwd "+f)
	})

	t.Run("near miss: touch -r below make", func(t *testing.T) {
		touch := testenv.RequireTool(t, "touch")
		mk := filepath.Join(dir, "make")
		if err := os.Symlink(sh, mk); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "built")
		pid := execStart(t, exec.Command(mk, "-c", `"$0" -r /etc/passwd "$1"; true`, touch, f))
		e := c.waitFor(t, "touch below make", childOf(pid, "touch"))
		for _, a := range matchBuiltin(t, e) {
			if a.Rule == "File timestamps set by command" {
				t.Errorf("fired below make: %s", a.Output)
			}
		}
	})

	t.Run("setcap cap_setuid", func(t *testing.T) {
		setcap := testenv.RequireTool(t, "setcap")
		f := filepath.Join(dir, "capped")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(setcap, "cap_setuid+ep", f))
		a := c.fires(t, "Dangerous file capability set", pid)
		wantOutput(t, a, "cmdline=setcap cap_setuid+ep "+f)
	})

	t.Run("chattr -i", func(t *testing.T) {
		chattr := testenv.RequireTool(t, "chattr")
		f := filepath.Join(dir, "attrs")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Clearing a flag the file does not have changes nothing (and
		// fails on tmpfs).
		pid := execStart(t, exec.Command(chattr, "-i", f))
		a := c.fires(t, "Immutable or append-only attribute changed", pid)
		wantOutput(t, a, "cmdline=chattr -i "+f)
	})

	t.Run("ASLR off with sysctl, refused", func(t *testing.T) {
		sysctl := testenv.RequireTool(t, "sysctl")
		pid := execStart(t, asNobody(exec.Command(sysctl, "-w", "kernel.randomize_va_space=0")))
		a := c.fires(t, "Kernel protection disabled with sysctl", pid)
		wantOutput(t, a, "cmdline=sysctl -w kernel.randomize_va_space=0", "uid=65534")
		if b, err := os.ReadFile("/proc/sys/kernel/randomize_va_space"); err == nil && strings.TrimSpace(string(b)) == "0" {
			t.Errorf("randomize_va_space is 0: the write as nobody was not refused")
		}
	})

	t.Run("curl piped into sh", func(t *testing.T) {
		curl := testenv.RequireTool(t, "curl")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "true")
		}))
		defer srv.Close()
		pid := execStart(t, exec.Command(sh, "-c", `"$0" -fsS "$1" | sh`, curl, srv.URL+"/install.sh"))
		// Whichever of curl and sh executes second carries the pipeline.
		a := c.firesOn(t, "Download piped into a shell or interpreter", "curl | sh below "+strconv.Itoa(pid), func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PPID == uint32(pid)
		})
		if !strings.Contains(a.Output, "stdin_writer="+curl) && !strings.Contains(a.Output, "stdout_reader=/") {
			t.Errorf("output names neither end of the pipe: %s", a.Output)
		}
	})

	t.Run("near miss: curl piped into python3 -c", func(t *testing.T) {
		curl := testenv.RequireTool(t, "curl")
		py := testenv.RequireTool(t, "python3")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, `{"tag": "v1"}`)
		}))
		defer srv.Close()
		pid := execStart(t, exec.Command(sh, "-c", `"$0" -fsS "$1" | "$2" -c 'import json,sys; json.load(sys.stdin)'`, curl, srv.URL, py))
		e := c.waitFor(t, "python3 below the pipeline", childOf(pid, "python3"))
		if e.Proc.Stdio[0].Type != "pipe" {
			t.Errorf("python3's stdin is %q, want pipe", e.Proc.Stdio[0].Type)
		}
		for _, a := range matchBuiltin(t, e) {
			if a.Rule == "Download piped into a shell or interpreter" {
				t.Errorf("fired on python3 -c: %s", a.Output)
			}
		}
	})

	t.Run("shell started on a TCP connection", func(t *testing.T) {
		ln := acceptingListener(t)
		conn, f, err := dialSocket(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		defer f.Close()
		cmd := exec.Command(sh, "-c", "exit 0")
		cmd.Stdin, cmd.Stdout = f, f
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		a := c.fires(t, "Shell or interpreter started on a network connection", pid)
		wantOutput(t, a, "stdin=socket stdin_peer="+ln.Addr().String(), "stdout=socket stdout_peer="+ln.Addr().String())
	})

	t.Run("sh script.sh run from a temporary directory", func(t *testing.T) {
		tmp, err := os.MkdirTemp("/tmp", "vigil-live-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(filepath.Join(tmp, "payload.sh"), []byte("true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Below an intermediate shell: the rule excuses what go test
		// binaries start directly.
		cmd := exec.Command(sh, "-c", `"$0" payload.sh; true`, sh)
		cmd.Dir = tmp
		pid := execStart(t, cmd)
		a := c.firesOn(t, "Execution from a temporary directory", "sh payload.sh below "+strconv.Itoa(pid), childOf(pid, "sh"))
		wantOutput(t, a, "cmdline=sh payload.sh", "cwd="+tmp)
	})

	t.Run("shell below nginx", func(t *testing.T) {
		nginx := filepath.Join(dir, "nginx")
		if err := os.Symlink(sh, nginx); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(nginx, "-c", `sh -c "id >/dev/null; true"; true`))
		a := c.firesOn(t, "Shell spawned by web or database server", "sh below nginx", childOf(pid, "sh"))
		wantOutput(t, a, `shell=sh cmdline=sh -c id >/dev/null; true parent=nginx`)
	})

	t.Run("fileless execution by python", func(t *testing.T) {
		py := testenv.RequireTool(t, "python3")
		// Below a shell: the rule excuses what go test binaries start.
		prog := `import os; fd = os.memfd_create("x"); os.write(fd, open("/bin/true", "rb").read()); os.execve(fd, ["x"], {})`
		pid := execStart(t, exec.Command(sh, "-c", `"$0" -c "$1"; true`, py, prog))
		a := c.firesOn(t, "Fileless execution from memory", "memfd exec below "+strconv.Itoa(pid), func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PPID == uint32(pid) && strings.HasPrefix(e.Proc.Exe, "/memfd:")
		})
		wantOutput(t, a, "exe=/memfd:x")
	})

	t.Run("private key search with grep", func(t *testing.T) {
		grep := testenv.RequireTool(t, "grep")
		pid := execStart(t, exec.Command(grep, "-rl", "BEGIN OPENSSH PRIVATE KEY", dir))
		a := c.fires(t, "Search for private keys or credentials", pid)
		wantOutput(t, a, "cmdline=grep -rl BEGIN OPENSSH PRIVATE KEY "+dir)
	})

	t.Run("file shredded", func(t *testing.T) {
		shred := testenv.RequireTool(t, "shred")
		f := filepath.Join(dir, "evidence")
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(shred, "-u", f))
		a := c.fires(t, "Data destruction tool launched", pid)
		wantOutput(t, a, "cmdline=shred -u "+f)
	})

	t.Run("ln -s /etc/shadow", func(t *testing.T) {
		ln := testenv.RequireTool(t, "ln")
		link := filepath.Join(dir, "s")
		pid := execStart(t, exec.Command(ln, "-s", "/etc/shadow", link))
		a := c.fires(t, "Link to sensitive file created", pid)
		wantOutput(t, a, "cmdline=ln -s /etc/shadow "+link)
	})

	t.Run("chmod u+s", func(t *testing.T) {
		chmod := testenv.RequireTool(t, "chmod")
		f := filepath.Join(dir, "suid")
		if err := os.WriteFile(f, nil, 0o700); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(chmod, "u+s", f))
		a := c.fires(t, "Setuid or setgid bit set with chmod", pid)
		wantOutput(t, a, "cmdline=chmod u+s "+f)
	})

	t.Run("offensive tool by name", func(t *testing.T) {
		// The rule knows such tools by name: true under linpeas's.
		tool := filepath.Join(dir, "linpeas.sh")
		if err := os.Symlink(testenv.RequireTool(t, "true"), tool); err != nil {
			t.Fatal(err)
		}
		pid := execStart(t, exec.Command(tool, "-a"))
		a := c.fires(t, "Offensive security tool launched", pid)
		wantOutput(t, a, "linpeas.sh -a")
	})

	t.Run("accounts added, changed and deleted", func(t *testing.T) {
		// In a root that does not exist: each command fails after the exec.
		for _, c2 := range []struct{ tool, rule string }{
			{"groupadd", "User or group created"},
			{"usermod", "Account details changed by command"},
			{"userdel", "User or group deleted"},
		} {
			tool := testenv.RequireTool(t, c2.tool)
			args := []string{"-R", "/nonexistent-vigil-live", "vigil-live"}
			if c2.tool == "usermod" {
				args = []string{"-R", "/nonexistent-vigil-live", "-s", "/bin/sh", "vigil-live"}
			}
			pid := execStart(t, exec.Command(tool, args...))
			a := c.fires(t, c2.rule, pid)
			wantOutput(t, a, "cmdline="+c2.tool+" "+strings.Join(args, " "))
		}
	})

	t.Run("near miss: sh -c with a command below python", func(t *testing.T) {
		py := testenv.RequireTool(t, "python3")
		cmd := exec.Command(py, "-c", `import subprocess; subprocess.run(["/bin/sh", "-c", "true; true"])`)
		pid := execStart(t, cmd)
		e := c.waitFor(t, "sh -c below python", childOf(pid, "sh"))
		for _, a := range matchBuiltin(t, e) {
			if a.Rule == "Interactive shell spawned by a program with a shell escape" {
				t.Errorf("fired on %s: %s", fmt.Sprint(e.Proc.Argv), a.Output)
			}
		}
	})
}
