package process

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// usersCheckInterval is how often Users looks at the passwd file's mtime:
// Name runs for every event and must not cost a syscall each time.
const usersCheckInterval = 5 * time.Second

// Users maps uids to the users of a passwd-format file (name, home
// directory, login shell), re-reading it when it changes. It is safe for
// concurrent use.
type Users struct {
	path     string
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	names   map[uint32]event.User
	checked time.Time // when the file was last looked at; zero: never
	mtime   time.Time
	size    int64
}

// NewUsers returns a Users reading passwdPath (normally /etc/passwd).
func NewUsers(passwdPath string) *Users {
	return &Users{path: passwdPath, interval: usersCheckInterval, now: time.Now}
}

// Name returns the name of uid, or "" if the file does not list it.
func (u *Users) Name(uid uint32) string { return u.User(uid).Name }

// User returns the user uid as the file lists it; only the UID when it
// does not.
func (u *Users) User(uid uint32) event.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now := u.now(); u.checked.IsZero() || now.Sub(u.checked) >= u.interval {
		u.checked = now
		u.refresh()
	}
	if usr, ok := u.names[uid]; ok {
		return usr
	}
	return event.User{UID: uid}
}

// refresh re-reads the file if it changed. A file that cannot be read
// keeps the names last read: a passwd file being replaced is briefly gone.
func (u *Users) refresh() {
	fi, err := os.Stat(u.path)
	if err != nil || u.names != nil && fi.ModTime().Equal(u.mtime) && fi.Size() == u.size {
		return
	}
	b, err := os.ReadFile(u.path)
	if err != nil {
		return
	}
	u.names, u.mtime, u.size = parsePasswd(string(b)), fi.ModTime(), fi.Size()
}

// parsePasswd parses "name:password:uid:gid:gecos:home:shell" lines. The
// first line listed for a uid wins, as with getpwuid(3). Home and shell
// are "" on a line that lacks them.
func parsePasswd(s string) map[uint32]event.User {
	names := make(map[uint32]event.User)
	for line := range strings.Lines(s) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 7)
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[uint32(uid)]; !dup {
			usr := event.User{UID: uint32(uid), Name: f[0]}
			if len(f) == 7 {
				usr.Home, usr.Shell = f[5], f[6]
			}
			names[uint32(uid)] = usr
		}
	}
	return names
}
