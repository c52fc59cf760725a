package overlay

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vigil-project/vigil/bpf/mountinfo"
	"golang.org/x/sys/unix"
)

// mount is one line of /proc/PID/mountinfo, reduced to what the lookup
// needs.
type mount struct {
	dev    uint64 // the filesystem's device number (st_dev of its directories)
	root   string // the directory of the filesystem mounted, from its root
	point  string // where it is mounted, relative to the reader's root
	fstype string
	super  string // the superblock options, still escaped
}

// parseLine parses one line of the proc(5) format
//
//	73 48 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
//
// The optional fields before "-" vary in number, so the fields after it
// are found relative to the separator.
func parseLine(line string) (mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 {
		return mount{}, fmt.Errorf("want 6 fields, optional fields, \"-\" and the filesystem type; got %d fields and no separator", len(f))
	}
	if sep+1 >= len(f) {
		return mount{}, fmt.Errorf("no filesystem type after \"-\"")
	}
	dev, err := parseDev(f[2])
	if err != nil {
		return mount{}, err
	}
	m := mount{dev: dev, root: mountinfo.Unescape(f[3]), point: mountinfo.Unescape(f[4]), fstype: f[sep+1]}
	if sep+3 < len(f) {
		m.super = f[sep+3]
	}
	return m, nil
}

// parseDev parses the third field, "major:minor".
func parseDev(s string) (uint64, error) {
	maj, min, ok := strings.Cut(s, ":")
	a, errA := strconv.ParseUint(maj, 10, 32)
	b, errB := strconv.ParseUint(min, 10, 32)
	if !ok || errA != nil || errB != nil {
		return 0, fmt.Errorf("field 3 %q: not major:minor", s)
	}
	return unix.Mkdev(uint32(a), uint32(b)), nil
}

// parseMountinfo parses a whole mountinfo file; a malformed line is an
// error naming the line.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var mounts []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20) // overlay options of images with many layers are long
	for n := 1; sc.Scan(); n++ {
		m, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// layers are the directories of an overlay, from its superblock options
// as the kernel resolved them. mountinfo escapes them twice: the kernel's
// \ooo for ",", space, tab, newline and backslash, over overlayfs's own
// backslash escaping of a mount option (ovl_unescape). Escaped commas
// are \054, so splitting the options on "," is safe before unescaping.
type layers struct {
	upper    string   // "" for a read-only overlay
	hasUpper bool     // an upperdir option was given
	lower    []string // the visible lower layers, topmost first
}

func parseLayers(super string) layers {
	var l layers
	for opt := range strings.SplitSeq(super, ",") {
		switch k, v, _ := strings.Cut(opt, "="); k {
		case "upperdir":
			l.upper, l.hasUpper = unescapeBackslash(mountinfo.Unescape(v)), true
		case "lowerdir":
			l.lower = splitLower(mountinfo.Unescape(v))
		}
	}
	return l
}

// splitLower splits a lowerdir option at the colons overlayfs does not
// see escaped. Layers after "::" hold data only, not names: they are left
// out.
func splitLower(v string) []string {
	var dirs []string
	start := 0
	for i := 0; i <= len(v); i++ {
		switch {
		case i+1 < len(v) && v[i] == '\\':
			i++
		case i == len(v) || v[i] == ':':
			if i == start {
				return dirs
			}
			dirs = append(dirs, unescapeBackslash(v[start:i]))
			start = i + 1
		}
	}
	return dirs
}

// unescapeBackslash undoes overlayfs's escaping of a directory option: a
// backslash keeps the next character literally (ovl_unescape).
func unescapeBackslash(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // a trailing backslash escapes nothing and goes, as in the kernel
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
