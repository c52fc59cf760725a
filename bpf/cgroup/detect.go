package cgroup

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/vigil-project/vigil/bpf/mountinfo"
)

// ErrNoHierarchy means neither a cgroup2 mount nor a mounted v1 controller
// hierarchy was found.
var ErrNoHierarchy = errors.New("cgroup: no cgroup2 mount and no v1 controller hierarchy")

// Hierarchy is the cgroup hierarchy whose ids the kernel side reports and
// the Resolver walks.
type Hierarchy struct {
	Version int    // 2, or 1 for a v1 controller hierarchy
	Mount   string // where it is mounted
	// SubsysID is the v1 controller's subsystem id, the index the kernel
	// side uses in task->cgroups->subsys[]; -1 for version 2.
	SubsysID int
	Subsys   string // the v1 controller ("memory"); "" for version 2
}

// Detect picks the hierarchy to resolve cgroup ids in from the text of
// /proc/self/mountinfo and /proc/cgroups: the cgroup2 mount if there is one,
// else a v1 controller hierarchy (memory, cpu, pids, else the first).
//
// The v1 subsystem id is the controller's line index in /proc/cgroups. That
// matches the kernel's ids unless the kernel hides a controller that has no
// v1 support (Linux 6.12+, e.g. cpuset with CONFIG_CPUSETS_V1=n), which
// shifts every later line; the kernel side should cross-check the id.
func Detect(mi, cgroups string) (Hierarchy, error) {
	var subsys []string
	for line := range strings.Lines(cgroups) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 {
			subsys = append(subsys, f[0])
		}
	}

	var v2 []mountinfo.Mount
	type v1mount struct {
		mountinfo.Mount
		ctrls []string
	}
	var v1 []v1mount
	for line := range strings.Lines(mi) {
		m, ok := mountinfo.ParseLine(line)
		switch {
		case !ok:
		case m.FSType == "cgroup2":
			v2 = append(v2, m)
		case m.FSType == "cgroup":
			var ctrls []string
			for o := range strings.SplitSeq(m.Super, ",") {
				if slices.Contains(subsys, o) {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) > 0 {
				v1 = append(v1, v1mount{m, ctrls})
			}
		}
	}

	// A mount of a sub-tree (root other than "/") sees only part of the
	// hierarchy, and its paths lack the prefix that names the container.
	whole := func(m mountinfo.Mount) bool { return m.Root == "/" }
	if i := slices.IndexFunc(v2, whole); i >= 0 {
		return Hierarchy{Version: 2, Mount: v2[i].Point, SubsysID: -1}, nil
	}
	if len(v2) > 0 {
		return Hierarchy{Version: 2, Mount: v2[0].Point, SubsysID: -1}, nil
	}
	slices.SortStableFunc(v1, func(a, b v1mount) int {
		switch {
		case whole(a.Mount) && !whole(b.Mount):
			return -1
		case !whole(a.Mount) && whole(b.Mount):
			return 1
		}
		return 0
	})
	// Runtimes create a cgroup per container in these controllers.
	for _, want := range [...]string{"memory", "cpu", "pids"} {
		for _, m := range v1 {
			if slices.Contains(m.ctrls, want) {
				return v1Hierarchy(m.Point, want, subsys), nil
			}
		}
	}
	if len(v1) > 0 {
		return v1Hierarchy(v1[0].Point, v1[0].ctrls[0], subsys), nil
	}
	return Hierarchy{}, ErrNoHierarchy
}

func v1Hierarchy(point, ctrl string, subsys []string) Hierarchy {
	return Hierarchy{Version: 1, Mount: point, SubsysID: slices.Index(subsys, ctrl), Subsys: ctrl}
}

// DetectHost runs Detect on this host's /proc/self/mountinfo and
// /proc/cgroups.
func DetectHost() (Hierarchy, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Hierarchy{}, fmt.Errorf("detect cgroup hierarchy: %w", err)
	}
	// /proc/cgroups is only needed for v1 and may be absent on kernels
	// built without v1 support; Detect then finds no v1 controller.
	cg, _ := os.ReadFile("/proc/cgroups")
	h, err := Detect(string(mi), string(cg))
	if err != nil {
		return Hierarchy{}, fmt.Errorf("detect cgroup hierarchy: %w", err)
	}
	return h, nil
}
