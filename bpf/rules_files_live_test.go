package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// A sensitive file changed without an open for writing of its own name is
// still caught (file.modified): sed -i and mv rename a temporary file onto
// it, ln links something into place, chmod changes it in place. Each is
// performed for real on harmless files (a comment-only cron.d file, a
// sudoers.d file of one comment) that are removed afterwards.
func TestFileChangeRulesLive(t *testing.T) {
	c := live(t)
	for _, d := range []string{"/etc/cron.d", "/etc/sudoers.d"} {
		if err := os.MkdirAll(d, 0o755); err != nil { // the kernel matrix's root has none
			t.Fatal(err)
		}
	}
	tag := fmt.Sprintf("vigil-live-%d", os.Getpid())
	run := func(t *testing.T, name string, args ...string) int {
		t.Helper()
		cmd := exec.Command(name, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v %s", name, args, err, out)
		}
		return cmd.Process.Pid
	}
	// The alert for the change of path by pid: sed's temporary file in
	// the same directory raises one of its own first.
	check := func(t *testing.T, rule string, pid int, path, want string) {
		t.Helper()
		a := c.firesOn(t, rule, fmt.Sprintf("pid %d changing %s", pid, path), func(e *event.Event) bool {
			return e.Proc.PID == uint32(pid) && (path == "" || e.ChangedPath() == path)
		})
		if !strings.Contains(a.Output, want) {
			t.Errorf("%s: output %q lacks %q", rule, a.Output, want)
		}
	}

	t.Run("sed -i renames onto a sudoers file", func(t *testing.T) {
		f := filepath.Join("/etc/sudoers.d", tag)
		if err := os.WriteFile(f, []byte("# vigil live test a\n"), 0o440); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(f)
		pid := run(t, "sed", "-i", "s/ a$/ b/", f)
		check(t, "Sudoers modified", pid, f, "file="+f+" change=rename process=sed")
	})

	t.Run("mv of a prepared file into cron.d", func(t *testing.T) {
		tmp := filepath.Join("/etc", "."+tag) // the same filesystem: a rename, not a copy
		if err := os.WriteFile(tmp, []byte("# vigil live test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(tmp)
		f := filepath.Join("/etc/cron.d", tag)
		defer os.Remove(f)
		pid := run(t, "mv", tmp, f)
		check(t, "Cron job created or modified", pid, f, "file="+f+" change=rename process=mv")

		pid = run(t, "chmod", "600", f)
		check(t, "Cron job created or modified", pid, f, "file="+f+" change=chmod process=chmod")

		hard := f + "-hard"
		defer os.Remove(hard)
		pid = run(t, "ln", f, hard)
		check(t, "Cron job created or modified", pid, hard, "file="+hard+" change=link process=ln")

		soft := f + "-soft"
		defer os.Remove(soft)
		pid = run(t, "ln", "-s", "/nonexistent/"+tag, soft)
		check(t, "Cron job created or modified", pid, soft, "file="+soft+" change=symlink process=ln")
	})

	t.Run("hiding places and tampering", func(t *testing.T) {
		os.MkdirAll("/var/tmp", 0o1777) // the kernel matrix's root has none
		hidden := filepath.Join("/var/tmp", "."+tag)
		defer os.RemoveAll(hidden)
		pid := run(t, "mkdir", hidden)
		check(t, "Hidden file or directory created in a system or shared directory", pid, "", "path="+hidden+" type=mkdir process=mkdir")

		dev := filepath.Join("/dev", "."+tag)
		defer os.Remove(dev)
		pid = run(t, "sh", "-c", ": > "+dev)
		check(t, "File created below /dev", pid, dev, "file="+dev+" flags=O_WRONLY|O_CREAT|O_TRUNC process=sh")

		root := filepath.Join("/root", tag+".sh")
		defer os.Remove(root)
		pid = run(t, "sh", "-c", "echo id > "+root)
		check(t, "Write below root home directory", pid, root, "file="+root+" change=truncate process=sh")

		os.MkdirAll("/etc/apt/sources.list.d", 0o755)
		src := filepath.Join("/etc/apt/sources.list.d", tag+".list")
		defer os.Remove(src)
		pid = run(t, "sh", "-c", "echo '# vigil live test' > "+src)
		check(t, "Package repository configuration changed", pid, src, "file="+src+" change=truncate process=sh")

		site := filepath.Join(tempDir(t), "lib", "site-packages")
		os.MkdirAll(site, 0o755)
		pth := filepath.Join(site, tag+".pth")
		pid = run(t, "sh", "-c", "echo 'import os' > "+pth)
		check(t, "Python startup hook written", pid, pth, "file="+pth+" change=truncate process=sh")
	})

	t.Run("accounts, PAM, units, startup files, keys, logs", func(t *testing.T) {
		// chmod to the mode it has: a change of /etc/passwd that changes
		// nothing.
		st, err := os.Stat("/etc/passwd")
		if err != nil {
			t.Fatal(err)
		}
		mode := fmt.Sprintf("%o", st.Mode().Perm())
		pid := run(t, "chmod", mode, "/etc/passwd")
		check(t, "User database modified directly", pid, "/etc/passwd", "file=/etc/passwd change=chmod process=chmod")

		for _, d := range []string{"/etc/pam.d", "/etc/systemd/system", "/var/log"} {
			os.MkdirAll(d, 0o755) // the kernel matrix's root lacks some
		}
		pam := filepath.Join("/etc/pam.d", tag) // a service nothing asks for
		defer os.Remove(pam)
		pid = run(t, "sh", "-c", "echo '# vigil live test' > "+pam)
		check(t, "PAM configuration modified", pid, pam, "file="+pam+" change=truncate process=sh")

		unit := filepath.Join("/etc/systemd/system", tag+".service") // never loaded: no daemon-reload
		defer os.Remove(unit)
		pid = run(t, "sh", "-c", "printf '[Service]\\nExecStart=/bin/true\\n' > "+unit)
		check(t, "Systemd unit or init script created", pid, unit, "file="+unit+" change=truncate process=sh")

		rc := filepath.Join(tempDir(t), ".bashrc")
		pid = run(t, "sh", "-c", "echo 'alias ls=ls' >> "+rc)
		check(t, "Shell startup file modified", pid, rc, "file="+rc+" change=write process=sh")

		home := filepath.Join("/home", tag)
		defer os.RemoveAll(home)
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		keys := filepath.Join(home, ".ssh", "authorized_keys")
		pid = run(t, "sh", "-c", "echo 'ssh-ed25519 AAAA vigil-live' >> "+keys)
		check(t, "SSH authorized keys modified", pid, keys, "file="+keys+" change=write process=sh")

		log := filepath.Join("/var/log", tag+".log")
		defer os.Remove(log)
		if err := os.WriteFile(log, []byte("line\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		pid = run(t, "truncate", "-s", "0", log)
		check(t, "Log file truncated", pid, log, "file="+log+" change=truncate process=truncate")
	})

	t.Run("credentials read, loader preload, package database", func(t *testing.T) {
		home := filepath.Join("/home", tag+"-creds")
		defer os.RemoveAll(home)
		key := filepath.Join(home, ".ssh", "id_rsa")
		aws := filepath.Join(home, ".aws", "credentials")
		for _, f := range []string{key, aws} {
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte("not a secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		opened := func(pid int, path string) func(*event.Event) bool {
			return func(e *event.Event) bool { return e.Proc.PID == uint32(pid) && e.File.Path == path }
		}
		pid := run(t, "cat", key)
		a := c.firesOn(t, "Read SSH private key by non-SSH program", "cat "+key, opened(pid, key))
		wantOutput(t, a, "file="+key, "process=cat")

		pid = run(t, "cat", aws)
		a = c.firesOn(t, "Read cloud or Kubernetes credentials by untrusted program", "cat "+aws, opened(pid, aws))
		wantOutput(t, a, "file="+aws, "process=cat")

		twisted := home + "/.ssh/../../" + tag + "-creds/.ssh/id_rsa" // not Join: it would clean the path
		pid = run(t, "cat", twisted)
		a = c.firesOn(t, "Directory traversal to sensitive file", "cat "+twisted, opened(pid, key))
		wantOutput(t, a, "file="+key)

		rc := filepath.Join(home, ".bashrc")
		if err := os.WriteFile(rc, []byte("alias ll='ls -l'\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pid = run(t, "cat", rc)
		a = c.firesOn(t, "Shell configuration read by a non-shell program", "cat "+rc, opened(pid, rc))
		wantOutput(t, a, "file="+rc, "process=cat")

		// An empty preload file preloads nothing; one that exists keeps
		// its content and gets its own mode again.
		const preload = "/etc/ld.so.preload"
		if st, err := os.Stat(preload); err == nil {
			pid = run(t, "chmod", fmt.Sprintf("%o", st.Mode().Perm()), preload)
		} else {
			defer os.Remove(preload)
			pid = run(t, "touch", preload)
		}
		check(t, "Dynamic linker preload configured", pid, preload, "file="+preload)

		if err := os.MkdirAll("/var/lib/dpkg", 0o755); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join("/var/lib/dpkg", tag) // a file of its own, no package's
		defer os.Remove(db)
		pid = run(t, "sh", "-c", ": > "+db)
		check(t, "Package database modified outside a package manager", pid, db, "file="+db)
	})

	t.Run("shell history read anywhere", func(t *testing.T) {
		hist := filepath.Join(tempDir(t), ".bash_history")
		if err := os.WriteFile(hist, []byte("mysql -p hunter2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		pid := run(t, "cat", hist)
		a := c.firesOn(t, "Shell history read by another program", fmt.Sprintf("pid %d", pid), func(e *event.Event) bool {
			return e.Proc.PID == uint32(pid) && e.File.Path == hist
		})
		if !strings.Contains(a.Output, "file="+hist+" process=cat") {
			t.Errorf("output %q", a.Output)
		}
	})

	t.Run("capabilities, times, flags, truncate(2)", func(t *testing.T) {
		// setcap, touch and chattr are reported from their command lines
		// (TestExecRulesLive); these rules report any other program that
		// makes the same calls, here the same tools under other names.
		d := tempDir(t)
		// A link of another name, run with the tool's own argv[0] (busybox
		// picks its applet by it): comm is the link's name.
		renamed := func(tool, as string) func(args ...string) int {
			link := filepath.Join(d, as)
			if err := os.Symlink(testenv.RequireTool(t, tool), link); err != nil {
				t.Fatal(err)
			}
			return func(args ...string) int {
				t.Helper()
				cmd := exec.Command(link, args...)
				cmd.Args[0] = tool
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s as %s %q: %v %s", tool, as, args, err, out)
				}
				return cmd.Process.Pid
			}
		}
		grant, stamp, flags := renamed("setcap", "grant"), renamed("touch", "stamp"), renamed("chattr", "flags")
		f := filepath.Join(d, "tool")
		if err := os.WriteFile(f, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		pid := grant("cap_setuid+ep", f)
		check(t, "File capabilities granted", pid, f, "file="+f+" caps=cap_setuid effective=true process=grant")

		pid = stamp("-d", "@1577836800", f)
		check(t, "File times set to chosen values", pid, f, "file="+f+" atime=1577836800000000000 mtime=1577836800000000000 process=stamp")

		pid = flags("+i", f)
		defer exec.Command("chattr", "-i", f).Run()
		check(t, "Immutable or append-only flag changed", pid, f, "file="+f+" set=immutable cleared= process=flags")
		pid = flags("-i", f)
		check(t, "Immutable or append-only flag changed", pid, f, "file="+f+" set= cleared=immutable process=flags")

		// The tools under their own names raise their command-line rule
		// alone.
		for _, cmd := range [][]string{{"setcap", "cap_setuid+ep", f}, {"touch", "-d", "@1577836800", f}, {"chattr", "+i", f}, {"chattr", "-i", f}} {
			pid := run(t, testenv.RequireTool(t, cmd[0]), cmd[1:]...)
			c.waitFor(t, cmd[0]+" exit", byPID(pid, event.TypeExit))
			for _, e := range c.all(func(e *event.Event) bool { return e.Proc.PID == uint32(pid) }) {
				for _, a := range matchBuiltin(t, e) {
					if a.Rule == "File capabilities granted" || a.Rule == "File times set to chosen values" || a.Rule == "Immutable or append-only flag changed" {
						t.Errorf("%s: %s fired as well: %s", cmd[0], a.Rule, a.Output)
					}
				}
			}
		}

		hist := filepath.Join(d, ".zsh_history")
		if err := os.WriteFile(hist, []byte("ls\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		pid = run(t, "truncate", "-s", "0", hist)
		check(t, "Shell history truncated", pid, hist, "file="+hist+" change=truncate process=truncate")
	})
}
