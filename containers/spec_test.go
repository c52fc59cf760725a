package containers

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// confined is the shape of a spec containerd writes for a container that
// is not privileged: masked and read-only paths, a seccomp filter, sysfs
// read-only.
const confined = `{"process":{"apparmorProfile":"cri-containerd.apparmor.d"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","ro"]}],
 "linux":{"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}`

// privileged is what WithPrivileged leaves of it.
const privileged = `{"process":{"apparmorProfile":"unconfined"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","rw"]}],
 "linux":{"seccomp":null}}`

func mnt(src, dest string, rw bool) event.ContainerMount {
	return event.ContainerMount{Source: src, Dest: dest, RW: rw}
}

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		name, spec string
		priv       bool
		mounts     []event.ContainerMount
	}{
		{"confined", confined, false, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", false), mnt("/srv/data", "/data", false)}},
		{"privileged", privileged, true, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", true)}},
		{"sysfs ro", strings.Replace(privileged, `"rw"]`, `"ro"]`, 1), false, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", false)}},
		{"seccomp", strings.Replace(privileged, `"seccomp":null`, `"seccomp":{}`, 1), false, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", true)}},
		{"apparmor", strings.Replace(privileged, `unconfined`, `docker-default`, 1), false, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", true)}},
		{"selinux", strings.Replace(privileged, `"apparmorProfile"`, `"selinuxLabel":"system_u:system_r:container_t:s0","x"`, 1), false, []event.ContainerMount{mnt("proc", "/proc", true), mnt("sysfs", "/sys", true)}},
		{"no linux section", `{"process":{}}`, false, nil},
		{"no process section", `{"linux":{}}`, false, nil},
	} {
		priv, mounts, err := parseSpec([]byte(tt.spec))
		if err != nil || priv != tt.priv || !slices.Equal(mounts, tt.mounts) {
			t.Errorf("%s: parseSpec = %v, %+v, %v; want %v, %+v", tt.name, priv, mounts, err, tt.priv, tt.mounts)
		}
	}
	_, _, err := parseSpec([]byte(`{"mounts":{}}`))
	if want := "decode runtime spec: json: cannot unmarshal object into Go struct field ociSpec.mounts of type []struct"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want %s...", err, want)
	}
}

func TestParseCRIInfo(t *testing.T) {
	for info, want := range map[string]bool{
		`{"config":{"linux":{"security_context":{"privileged":true}}}}`: true,
		`{"config":{"linux":{"security_context":{}}}}`:                  false,
		`{"privileged":true}`: true, // CRI-O
		`{"privileged":true,"config":{"linux":{"security_context":{"privileged":false}}}}`: false,
		`{}`: false,
	} {
		if got, err := parseCRIInfo(info); err != nil || got != want {
			t.Errorf("parseCRIInfo(%s) = %v, %v; want %v", info, got, err, want)
		}
	}
	if _, err := parseCRIInfo(`{"privileged":"yes"}`); err == nil || err.Error() != "decode container info: json: cannot unmarshal string into Go struct field criInfo.privileged of type bool" {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeInspect(t *testing.T) {
	m, err := decodeInspect(strings.NewReader(`{"Name":"/web","Config":{"Image":"nginx:1.27","Labels":{"io.kubernetes.pod.namespace":"shop"}},
	 "HostConfig":{"Privileged":true},
	 "Mounts":[{"Type":"bind","Source":"/var/run/docker.sock","Destination":"/var/run/docker.sock","Mode":"","RW":true,"Propagation":"rprivate"},
	  {"Type":"volume","Name":"v","Source":"/var/lib/docker/volumes/v/_data","Destination":"/cache","RW":false}]}`))
	want := []event.ContainerMount{mnt("/var/run/docker.sock", "/var/run/docker.sock", true), mnt("/var/lib/docker/volumes/v/_data", "/cache", false)}
	if err != nil || m.Name != "web" || m.Image != "nginx:1.27" || m.PodNS != "shop" || !m.Privileged || !slices.Equal(m.Mounts, want) {
		t.Errorf("decodeInspect = %+v, %v", m, err)
	}
}

// The cache keeps at most event.MaxContainerMounts mounts, in a copy.
func TestKeepMounts(t *testing.T) {
	ms := make([]event.ContainerMount, event.MaxContainerMounts+5)
	ms[0].Dest = "/first"
	kept := keepMounts(ms)
	ms[0].Dest = "/changed"
	if len(kept) != event.MaxContainerMounts || kept[0].Dest != "/first" || keepMounts(nil) != nil {
		t.Errorf("kept %d, first %q", len(kept), kept[0].Dest)
	}
}

// FuzzParseSpec: whatever a runtime stores as a spec, parseSpec returns
// an error or an answer, without panicking; a privileged answer comes
// only with no sysfs or cgroup mount read-only.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(confined))
	f.Add([]byte(privileged))
	f.Add([]byte(`{"linux":{"seccomp":null},"process":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		priv, mounts, err := parseSpec(b)
		if err != nil && (priv || mounts != nil) {
			t.Fatalf("an error and an answer: %v %v", priv, mounts)
		}
	})
}

// FuzzParseCRIInfo: whatever the verbose info holds, parseCRIInfo does
// not panic.
func FuzzParseCRIInfo(f *testing.F) {
	f.Add(`{"config":{"linux":{"security_context":{"privileged":true}}}}`)
	f.Add(`{"privileged":true}`)
	f.Fuzz(func(t *testing.T, s string) {
		if priv, err := parseCRIInfo(s); err != nil && priv {
			t.Fatal("an error and privileged")
		}
	})
}
