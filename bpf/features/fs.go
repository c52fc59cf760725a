package features

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/bpf/mountinfo"
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
	if mounts, err := mountinfo.Read(); err == nil {
		for _, m := range mounts {
			if m.FSType == "tracefs" && m.Root == "/" {
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

// errNoCgroup2 means no cgroup v2 hierarchy is mounted (a pure v1 host).
var errNoCgroup2 = errors.New("no cgroup2 filesystem in " + mountinfoFile)

// cgroup2Root returns where the root of the cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
func cgroup2Root() (string, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return "", fmt.Errorf("find cgroup2 mount: %w", err)
	}
	for _, m := range mounts {
		if m.FSType == "cgroup2" && m.Root == "/" {
			return m.Point, nil
		}
	}
	return "", errNoCgroup2
}
