package cgroup

import (
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// Parse returns the container whose cgroup is path (as in /proc/PID/cgroup
// or relative to a cgroup mount), or the zero Container for the host. The
// outermost container directory wins, so a container's own sub-cgroups
// (/docker/<id>/init.scope) map to it.
func Parse(path string) event.Container {
	var prev string
	depth := 0
	kube := false
	for rest := path; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == "" {
			continue
		}
		depth++
		if c, ok := match(seg, prev, depth, kube); ok {
			return c
		}
		kube = kube || seg == "kubepods"
		prev = seg
	}
	return event.Container{}
}

// match reports whether the path segment seg names a container, given the
// segment before it, its depth (1 for the first) and whether a kubepods
// (cgroupfs driver) directory was above it.
func match(seg, prev string, depth int, kube bool) (event.Container, bool) {
	// systemd driver: <prefix><64 hex>.scope. The conmon scopes
	// (crio-conmon-, libpod-conmon-) hold the monitor, not the container,
	// and fail the hex test.
	for _, s := range [...]struct{ prefix, runtime string }{
		{"docker-", "docker"},
		{"cri-containerd-", "containerd"},
		{"crio-", "cri-o"},
		{"libpod-", "podman"},
	} {
		if id, ok := strings.CutPrefix(seg, s.prefix); ok {
			id = strings.TrimSuffix(id, ".scope")
			if isHex64(id) {
				return container(id, s.runtime), true
			}
		}
	}
	switch {
	case isHex64(seg) && prev == "docker":
		return container(seg, "docker"), true
	case isHex64(seg) && kube && strings.HasPrefix(prev, "pod"):
		return container(seg, "cri"), true
	case depth == 2 && (prev == "default" || prev == "moby") && isName(seg):
		// ctr run: /<containerd namespace>/<id>. Only at the top, because
		// "default" is too common a word to trust deeper down.
		return container(seg, "containerd"), true
	case prev == "lxc" || prev == "lxc.payload":
		return container(seg, "lxc"), true
	}
	if name, ok := strings.CutPrefix(seg, "lxc.payload."); ok && name != "" {
		return container(name, "lxc"), true
	}
	return event.Container{}, false
}

func container(id, runtime string) event.Container {
	short := id
	if isHex64(id) {
		short = id[:12]
	}
	return event.Container{ID: short, FullID: id, Runtime: runtime}
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isName reports whether s is a valid containerd container id.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ParseProcCgroup returns, from the text of /proc/PID/cgroup, the cgroup
// path most likely to identify the process's container: the first path
// that Parse maps to a container (the v2 "0::" line first, then the v1
// lines in order), else the v2 path, else the first v1 path, else "".
func ParseProcCgroup(content string) string {
	var v2, v1, v1c string
	var haveV2, haveV1 bool
	for line := range strings.Lines(content) {
		hier, rest, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		switch {
		case hier == "0" && ctrls == "":
			if !haveV2 {
				v2, haveV2 = path, true
			}
		default:
			if !haveV1 {
				v1, haveV1 = path, true
			}
			if v1c == "" && Parse(path).ID != "" {
				v1c = path
			}
		}
	}
	switch {
	case haveV2 && Parse(v2).ID != "":
		return v2
	case v1c != "":
		return v1c
	case haveV2:
		return v2
	}
	return v1
}
