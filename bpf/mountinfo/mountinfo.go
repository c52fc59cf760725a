// Package mountinfo parses /proc/PID/mountinfo: where each filesystem is
// mounted. The feature probes look for tracefs and the cgroup v2 root in
// it, the cgroup package for the hierarchy that cgroup ids refer to.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Mount is one line of mountinfo, reduced to what vigil uses.
type Mount struct {
	Root   string // the path inside the filesystem that is mounted
	Point  string // where it is mounted
	FSType string
	Super  string // superblock options (for cgroup v1: the controllers)
}

// ParseLine parses one line of the proc(5) format
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields before "-" vary in number, so the fields after it
// are found relative to the separator.
func ParseLine(line string) (Mount, bool) {
	f := strings.Fields(line)
	sep := slices.Index(f, "-")
	if sep < 6 || sep+1 >= len(f) {
		return Mount{}, false
	}
	m := Mount{Root: Unescape(f[3]), Point: Unescape(f[4]), FSType: f[sep+1]}
	if sep+3 < len(f) {
		m.Super = f[sep+3]
	}
	return m, true
}

// Parse parses a whole mountinfo file; a malformed line is an error.
func Parse(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		m, ok := ParseLine(sc.Text())
		if !ok {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", n, sc.Text())
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// Read parses /proc/self/mountinfo.
func Read() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Unescape undoes the kernel's \ooo escaping of space, tab, newline and
// backslash in mountinfo paths (and options).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
