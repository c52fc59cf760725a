package features

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/bpf/mountinfo"
)

func TestEnsureFS(t *testing.T) {
	requireRoot(t)
	// Twice: the second call must see the mounts and not stack new ones.
	for i := range 2 {
		if err := EnsureFS(); err != nil {
			t.Fatalf("EnsureFS() call %d: %v", i+1, err)
		}
	}
	if !isFS(securityDir, unix.SECURITYFS_MAGIC) {
		t.Errorf("%s is not securityfs after EnsureFS", securityDir)
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		t.Fatal(err)
	}
	tracefs := false
	for _, m := range mounts {
		tracefs = tracefs || m.FSType == "tracefs"
	}
	if !tracefs {
		t.Error("no tracefs mount after EnsureFS")
	}
}
