package process

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// usersCheckInterval is how often Users looks at the passwd file's mtime:
// Name runs for every event and must not cost a syscall each time.
const usersCheckInterval = 5 * time.Second

// Users maps uids to user names from a passwd-format file, re-reading it
// when it changes. It is safe for concurrent use.
type Users struct {
	path     string
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	names   map[uint32]string
	checked time.Time // when the file was last looked at; zero: never
	mtime   time.Time
	size    int64
}

// NewUsers returns a Users reading passwdPath (normally /etc/passwd).
func NewUsers(passwdPath string) *Users {
	return &Users{path: passwdPath, interval: usersCheckInterval, now: time.Now}
}

// Name returns the name of uid, or "" if the file does not list it.
func (u *Users) Name(uid uint32) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now := u.now(); u.checked.IsZero() || now.Sub(u.checked) >= u.interval {
		u.checked = now
		u.refresh()
	}
	return u.names[uid]
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
// first name listed for a uid wins, as with getpwuid(3).
func parsePasswd(s string) map[uint32]string {
	names := make(map[uint32]string)
	for line := range strings.Lines(s) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 4)
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[uint32(uid)]; !dup {
			names[uint32(uid)] = f[0]
		}
	}
	return names
}
