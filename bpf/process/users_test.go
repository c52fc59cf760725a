package process

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

const passwd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment:x:5:5
toor:x:0:0:second root:/root:/bin/sh
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
broken:x:notanumber:1::/:/bin/false
short:x
+@netgroup::::::
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`

func TestUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	must(t, os.WriteFile(path, []byte(passwd), 0o644))
	now := time.Unix(1e9, 0)
	u := NewUsers(path)
	u.now = func() time.Time { return now }

	for uid, want := range map[uint32]string{0: "root", 1: "daemon", 1000: "alice", 65534: "nobody", 5: "", 2: "", 4242: ""} {
		if got := u.Name(uid); got != want {
			t.Errorf("Name(%d) = %q, want %q", uid, got, want)
		}
	}
	// The first line of a uid wins, home and shell with it.
	for uid, want := range map[uint32]event.User{
		0:    {UID: 0, Name: "root", Home: "/root", Shell: "/bin/bash"},
		1:    {UID: 1, Name: "daemon", Home: "/usr/sbin", Shell: "/usr/sbin/nologin"},
		4242: {UID: 4242},
	} {
		if got := u.User(uid); got != want {
			t.Errorf("User(%d) = %+v, want %+v", uid, got, want)
		}
	}

	// A changed file is noticed only once the check interval has passed.
	must(t, os.WriteFile(path, []byte("bob:x:1000:1000::/home/bob:/bin/sh\n"), 0o644))
	future := time.Now().Add(time.Hour)
	must(t, os.Chtimes(path, future, future))
	if got := u.Name(1000); got != "alice" {
		t.Errorf("within the interval: Name(1000) = %q, want the cached alice", got)
	}
	now = now.Add(usersCheckInterval)
	if got := u.Name(1000); got != "bob" {
		t.Errorf("after the interval: Name(1000) = %q, want bob", got)
	}
	if got := u.Name(0); got != "" {
		t.Errorf("Name(0) = %q after root was removed", got)
	}

	// A file that vanishes keeps the names last read.
	must(t, os.Remove(path))
	now = now.Add(usersCheckInterval)
	if got := u.Name(1000); got != "bob" {
		t.Errorf("missing file: Name(1000) = %q, want bob", got)
	}
}

func TestUsersMissingFile(t *testing.T) {
	u := NewUsers(filepath.Join(t.TempDir(), "nope"))
	if got := u.Name(0); got != "" {
		t.Errorf("Name(0) = %q", got)
	}
}

func TestUsersHost(t *testing.T) {
	if got := NewUsers("/etc/passwd").Name(0); got != "root" {
		t.Errorf("Name(0) = %q, want root", got)
	}
}

func BenchmarkUsersName(b *testing.B) {
	u := NewUsers("/etc/passwd")
	b.ReportAllocs()
	for range b.N {
		u.Name(0)
	}
}
