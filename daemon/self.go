package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// withSelf adds vigil's own executable to the enforcement allow-list: the
// kernel already never acts on the daemon's process, and this extends it
// to every process running vigil's binary (rules validate, replay, a
// second daemon refused by the lock), so a kill rule that happens to
// match what they do cannot kill them. They still raise alerts. The
// path is the binary's real path, as the kernel sees a process's exe.
func withSelf(log *slog.Logger, allow []string) []string {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		log.Warn("vigil's own executable is not known; only this process is exempt from enforcement", "err", err)
		return allow
	}
	if slices.Contains(allow, exe) {
		return allow
	}
	return append(slices.Clone(allow), exe)
}
