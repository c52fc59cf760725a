package main

import (
	"reflect"
	"testing"
)

// vigil check names the event types whose syscall tracepoints are missing,
// and why that is fine for the optional ones.
func TestSyscallReport(t *testing.T) {
	if got := syscallReport(func(string) bool { return true }); !reflect.DeepEqual(got, []string{"every syscall vigil traces has its tracepoint"}) {
		t.Errorf("all present: %q", got)
	}
	gone := map[string]bool{"sys_exit_openat2": true, "sys_exit_fchmodat2": true, "sys_exit_init_module": true, "sys_enter_setuid": true}
	got := syscallReport(func(tp string) bool { return !gone[tp] })
	want := []string{
		"open: openat2 (missing: vigil cannot trace this type)",
		"chmod: fchmodat2 (Linux 6.6+)",
		"setuid: setuid (missing: vigil cannot trace this type)",
		"module_load: init_module (absent without CONFIG_MODULES)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report:\n got %q\nwant %q", got, want)
	}
}
