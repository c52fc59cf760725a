package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// ci reports whether the tests run under CI=true.
func ci() bool { return os.Getenv("CI") == "true" }

// Unavailable ends a test that cannot run here: a failure under CI, a
// skip elsewhere. The message says what is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if ci() {
		t.Fatalf(format+" (CI=true: failing instead of skipping)", args...)
	}
	t.Skipf(format, args...)
}

// Require ends the test with Unavailable unless ok.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		Unavailable(t, format, args...)
	}
}

// RequireRoot ends the test with Unavailable unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root")
}

// RequireTool returns the path of the program name, or ends the test
// with Unavailable if it is not in PATH.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	Require(t, err == nil, "%s not installed (make test-deps)", name)
	return path
}

// InKernelMatrix says whether the test runs in the kernel matrix's VM
// (scripts/vm/run.sh sets VIGIL_VM_LSM), whose root holds busybox and
// bash only.
func InKernelMatrix() bool { return os.Getenv("VIGIL_VM_LSM") != "" }

// HaveTool reports whether the program name is in PATH.
func HaveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// SkipShort skips a slow test under -short, except under CI: there -short
// must not hide that a test never ran.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() && !ci() {
		t.Skipf("-short: %s", what)
	}
}
