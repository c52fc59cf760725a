package containers

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vigil-project/vigil/engine/event"
)

// ociSpec is the part of an OCI runtime spec (config.json) that says
// whether a container is privileged and what is mounted in it.
type ociSpec struct {
	Process *struct {
		ApparmorProfile string `json:"apparmorProfile"`
		SelinuxLabel    string `json:"selinuxLabel"`
	} `json:"process"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Linux *struct {
		MaskedPaths   []string        `json:"maskedPaths"`
		ReadonlyPaths []string        `json:"readonlyPaths"`
		Seccomp       json.RawMessage `json:"seccomp"`
	} `json:"linux"`
}

// parseSpec reads what a runtime spec says of privilege and mounts.
//
// A spec has no privileged flag: a privileged container is one that
// containerd's WithPrivileged made, so it is recognised as Falco's
// container plugin does, by what that option removes: no masked or
// read-only paths, no SELinux label, no AppArmor profile but unconfined,
// no seccomp filter, and sysfs and cgroupfs mounted read-write.
func parseSpec(b []byte) (privileged bool, mounts []event.ContainerMount, err error) {
	var s ociSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return false, nil, fmt.Errorf("decode runtime spec: %w", err)
	}
	for _, m := range s.Mounts {
		mounts = append(mounts, event.ContainerMount{Source: m.Source, Dest: m.Destination, RW: !slices.Contains(m.Options, "ro")})
	}
	privileged = s.Linux != nil && s.Process != nil &&
		len(s.Linux.MaskedPaths) == 0 && len(s.Linux.ReadonlyPaths) == 0 &&
		isJSONNull(s.Linux.Seccomp) && s.Process.SelinuxLabel == "" &&
		(s.Process.ApparmorProfile == "" || s.Process.ApparmorProfile == "unconfined")
	for _, m := range s.Mounts {
		if (m.Type == "sysfs" || m.Type == "cgroup") && slices.Contains(m.Options, "ro") {
			privileged = false
		}
	}
	return privileged, mounts, nil
}

func isJSONNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// criInfo is the part of the verbose ContainerStatus "info" (JSON, not
// part of the CRI API: containerd's and CRI-O's own) that says whether
// the container is privileged. containerd puts the CRI container config
// there; CRI-O a privileged flag of its own.
type criInfo struct {
	Privileged *bool `json:"privileged"`
	Config     *struct {
		Linux *struct {
			SecurityContext *struct {
				Privileged *bool `json:"privileged"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
}

// parseCRIInfo returns the privileged flag of a verbose ContainerStatus
// info, where containerd or CRI-O put one; the config's flag wins, as in
// Falco's container plugin.
func parseCRIInfo(b string) (bool, error) {
	var in criInfo
	if err := json.Unmarshal([]byte(b), &in); err != nil {
		return false, fmt.Errorf("decode container info: %w", err)
	}
	if c := in.Config; c != nil && c.Linux != nil && c.Linux.SecurityContext != nil && c.Linux.SecurityContext.Privileged != nil {
		return *c.Linux.SecurityContext.Privileged, nil
	}
	if in.Privileged != nil {
		return *in.Privileged, nil
	}
	return false, nil
}

// keepMounts copies a runtime's mounts, at most event.MaxContainerMounts.
func keepMounts(ms []event.ContainerMount) []event.ContainerMount {
	if len(ms) == 0 {
		return nil
	}
	return slices.Clone(ms[:min(len(ms), event.MaxContainerMounts)])
}
