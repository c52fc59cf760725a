package bpf

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/vigil-project/vigil/bpf/cgroup"
)

// A process moved into a real cgroup named like a container runtime's gets
// that container's id on its next event, with cgroup v2 ids and with the
// ids of a v1 hierarchy.
func TestContainerFromCgroup(t *testing.T) {
	needRoot(t)
	host, err := cgroup.DetectHost()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		hier   cgroup.Hierarchy
		layout func(id string) string
	}{
		// Below a parent of its own: the container-runtime tests of other
		// packages, running meanwhile, sweep new empty directories under
		// the top-level docker/ (internal/ctrtest).
		{"v2 docker", host, func(id string) string { return "vigil-test.slice/docker/" + id }},
		{"v2 systemd scope", host, func(id string) string { return "vigil-test.slice/cri-containerd-" + id + ".scope" }},
		{"v1 memory podman", cgroup.Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/memory", Subsys: "memory"},
			func(id string) string { return "libpod_parent/libpod-" + id }},
	}
	if host.Version != 2 {
		t.Fatalf("this test expects cgroup v2 on the host (KERNEL.md); found %+v", host)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.hier.Mount); err != nil {
				t.Fatalf("hierarchy %s: %v", tc.hier.Mount, err)
			}
			id := randomHex64(t)
			dir := filepath.Join(tc.hier.Mount, tc.layout(id))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { removeCgroupTree(tc.hier.Mount, dir) })

			o := DefaultOptions()
			o.Cgroup = tc.hier
			c := startCollector(t, o)
			cmd, marker, proceed := startWaiter(t)
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
				t.Fatalf("move into %s: %v", dir, err)
			}
			proceed()
			ev := c.waitFor(t, "open inside the container cgroup", openOf(cmd.Process.Pid, marker))
			want := cgroup.Parse("/" + tc.layout(id))
			if want.ID != id[:12] {
				t.Fatalf("test layout %q does not parse as a container: %+v", tc.layout(id), want)
			}
			if got := ev.Proc.Container; !reflect.DeepEqual(got, want) {
				t.Errorf("container = %+v, want %+v", got, want)
			}
			// Its parent, the test process, is on the host.
			if ev.Parent == nil || ev.Parent.Container.ID != "" {
				t.Errorf("parent container = %+v", ev.Parent)
			}
		})
	}
}

func randomHex64(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// removeCgroupTree removes dir and its parents up to (not including) mount,
// as far as they are empty.
func removeCgroupTree(mount, dir string) {
	for d := dir; d != mount && len(d) > len(mount); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}
