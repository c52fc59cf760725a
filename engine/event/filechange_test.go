package event

import (
	"slices"
	"testing"
)

// Inode flags and file capabilities by name, and the text of the times of
// a utimes event.
func TestFileChangeNames(t *testing.T) {
	if got := InodeFlagNames(FSImmutableFL | 0x80000 | 1<<24); !slices.Equal(got, []string{"immutable", "extent", "0x1000000"}) {
		t.Errorf("InodeFlagNames: %q", got)
	}
	if got := chattrKnownNames; !slices.Equal(got, []string{"sync", "immutable", "append", "noatime", "dirsync"}) {
		t.Errorf("chattr.set values %q", got)
	}
	if got := FileCapNames(1<<13 | 1<<21 | 1<<63); !slices.Equal(got, []string{"cap_net_raw", "cap_sys_admin", "cap_63"}) {
		t.Errorf("FileCapNames: %q", got)
	}
	if m, err := fileCapMask([]string{"cap_net_raw", "cap_63"}); m != 1<<13|1<<63 || err != nil {
		t.Errorf("fileCapMask: %#x %v", m, err)
	}
	if _, err := fileCapMask([]string{"CAP_NET_RAW"}); err == nil {
		t.Error("fileCapMask took an upper-case name")
	}
	for ns, want := range map[int64]string{UtimeNow: "now", UtimeOmit: "omit", 0: "1970-01-01T00:00:00Z", -1e9: "1969-12-31T23:59:59Z", 1e18 + 5: "2001-09-09T01:46:40.000000005Z"} {
		if got := utimeText(ns); got != want {
			t.Errorf("utimeText(%d) = %q, want %q", ns, got, want)
		}
	}
}
