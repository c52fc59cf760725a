package features

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	tracingDir      = "/sys/kernel/tracing"
	debugTracingDir = "/sys/kernel/debug/tracing"
	securityDir     = "/sys/kernel/security"
	lsmFile         = securityDir + "/lsm"
	mountinfoFile   = "/proc/self/mountinfo"
)

// EnsureFS mounts tracefs at /sys/kernel/tracing and securityfs at
// /sys/kernel/security unless they are already there. Tracepoint attachment
// reads event ids from tracefs, and the active LSM list lives in securityfs;
// some hosts (and minimal container images) boot without either mounted.
//
// It must run before anything in the process attaches a tracepoint: cilium/ebpf
// looks for tracefs once per process and remembers a failure.
func EnsureFS() error {
	return errors.Join(ensureTracefs(), ensureMounted("securityfs", securityDir, unix.SECURITYFS_MAGIC))
}

func ensureTracefs() error {
	// A tracefs mounted anywhere will do: cilium/ebpf finds it in mountinfo.
	if mounts, err := readMountinfo(); err == nil {
		for _, m := range mounts {
			if m.fstype == "tracefs" && m.root == "/" {
				return nil
			}
		}
	}
	err := ensureMounted("tracefs", tracingDir, unix.TRACEFS_MAGIC)
	if err != nil && (isFS(debugTracingDir, unix.TRACEFS_MAGIC) || isFS(debugTracingDir, unix.DEBUGFS_MAGIC)) {
		// Older kernels and read-only /sys: tracing under debugfs works too.
		return nil
	}
	return err
}

func ensureMounted(fstype, dir string, magic int64) error {
	if isFS(dir, magic) {
		return nil
	}
	if err := unix.Mount("none", dir, fstype, 0, ""); err != nil {
		// Another process (a second vigil, a test) may have won the race.
		if isFS(dir, magic) {
			return nil
		}
		return fmt.Errorf("mount %s at %s: %w", fstype, dir, err)
	}
	return nil
}

func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && int64(st.Type) == magic
}

// mount is one line of /proc/self/mountinfo, reduced to what we use.
type mount struct {
	root   string // path inside the filesystem that is mounted
	point  string // where it is mounted
	fstype string
}

func readMountinfo() ([]mount, error) {
	f, err := os.Open(mountinfoFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo parses the format of proc(5) /proc/PID/mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields before "-" vary in number, so fields are located
// relative to the separator.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var mounts []mount
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", n, sc.Text())
		}
		mounts = append(mounts, mount{
			root:   unescapeOctal(fields[3]),
			point:  unescapeOctal(fields[4]),
			fstype: fields[sep+1],
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
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

// errNoCgroup2 means no cgroup v2 hierarchy is mounted (a pure v1 host).
var errNoCgroup2 = errors.New("no cgroup2 filesystem in " + mountinfoFile)

// cgroup2Root returns where the root of the cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
func cgroup2Root() (string, error) {
	mounts, err := readMountinfo()
	if err != nil {
		return "", fmt.Errorf("find cgroup2 mount: %w", err)
	}
	for _, m := range mounts {
		if m.fstype == "cgroup2" && m.root == "/" {
			return m.point, nil
		}
	}
	return "", errNoCgroup2
}
