package cgroup

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/vigil-project/vigil/internal/testenv"
)

// Samples of /proc/self/mountinfo, cut to the cgroup lines and a neighbour.
const (
	mountsV2 = `24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	// This host: tmpfs with v1 controllers and the v2 hierarchy beside them.
	mountsHybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	// CentOS 7 style: systemd on v1, no cgroup2 at all.
	mountsV1 = `25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
29 25 0:25 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,pids
30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,net_cls,net_prio
`
	cgroupsFull = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	1	1
cpuacct	2	1	1
blkio	7	1	1
memory	4	12	1
devices	5	1	1
freezer	6	1	1
net_cls	0	1	1
perf_event	0	1	1
net_prio	0	1	1
hugetlb	0	1	1
pids	8	1	1
`
)

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		name, mountinfo, cgroups string
		want                     Hierarchy
		err                      error
	}{
		{"pure v2", mountsV2, "", Hierarchy{Version: 2, Mount: "/sys/fs/cgroup", SubsysID: -1}, nil},
		{"hybrid", mountsHybrid, cgroupsFull, Hierarchy{Version: 2, Mount: "/sys/fs/cgroup/unified", SubsysID: -1}, nil},
		{"v1 memory", mountsV1, cgroupsFull, Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/memory", SubsysID: 4, Subsys: "memory"}, nil},
		{"v1 cpu,cpuacct", "28 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n29 25 0:25 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
			cgroupsFull, Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/cpu,cpuacct", SubsysID: 1, Subsys: "cpu"}, nil},
		{"v1 pids", "29 25 0:25 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n31 25 0:27 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n",
			cgroupsFull, Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/pids", SubsysID: 11, Subsys: "pids"}, nil},
		{"v1 first other", "31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n",
			cgroupsFull, Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/net_cls,net_prio", SubsysID: 7, Subsys: "net_cls"}, nil},
		{"v1 whole tree preferred", "50 40 0:26 /docker/x /c/memory rw - cgroup cgroup rw,memory\n51 40 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
			cgroupsFull, Hierarchy{Version: 1, Mount: "/sys/fs/cgroup/memory", SubsysID: 4, Subsys: "memory"}, nil},
		{"v2 whole tree preferred", "50 40 0:26 /kubepods /host/cg rw - cgroup2 cgroup2 rw\n51 40 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"", Hierarchy{Version: 2, Mount: "/sys/fs/cgroup", SubsysID: -1}, nil},
		{"escaped mount point", `29 24 0:26 / /mnt/cg\0402 rw shared:4 - cgroup2 cgroup2 rw` + "\n",
			"", Hierarchy{Version: 2, Mount: "/mnt/cg 2", SubsysID: -1}, nil},
		{"only a named hierarchy", "26 25 0:22 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n", cgroupsFull, Hierarchy{}, ErrNoHierarchy},
		{"v1 without /proc/cgroups", mountsV1, "", Hierarchy{}, ErrNoHierarchy},
		{"nothing", "22 1 0:5 / /proc rw - proc proc rw\nmalformed line\n", cgroupsFull, Hierarchy{}, ErrNoHierarchy},
	} {
		got, err := Detect(tt.mountinfo, tt.cgroups)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s: Detect = %+v, %v; want %+v, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestDetectHost(t *testing.T) {
	h, err := DetectHost()
	if err != nil {
		needs(t, false, "a cgroup filesystem: "+err.Error())
		return
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(h.Mount, &fs); err != nil {
		t.Fatalf("statfs %s: %v", h.Mount, err)
	}
	const cgroupMagic, cgroup2Magic = 0x27e0eb, 0x63677270
	switch {
	case h.Version == 2 && fs.Type == cgroup2Magic && h.SubsysID == -1:
	case h.Version == 1 && fs.Type == cgroupMagic && h.SubsysID >= 0:
	default:
		t.Fatalf("DetectHost = %+v, filesystem type %#x", h, fs.Type)
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err == nil && h.Mount != "/sys/fs/cgroup/unified" {
		t.Errorf("hybrid host: DetectHost = %+v, want /sys/fs/cgroup/unified", h)
	}
	t.Logf("%+v", h)
}

// needs ends the test unless ok, as testenv.Require: what says what is
// missing.
func needs(t *testing.T, ok bool, what string) {
	t.Helper()
	testenv.Require(t, ok, "needs %s", what)
}

func FuzzDetect(f *testing.F) {
	f.Add(mountsHybrid, cgroupsFull)
	f.Add(mountsV1, cgroupsFull)
	f.Fuzz(func(t *testing.T, mountinfo, cgroups string) {
		h, err := Detect(mountinfo, cgroups)
		if err == nil && (h.Version == 2) != (h.SubsysID == -1) {
			t.Fatalf("Detect = %+v", h)
		}
	})
}
