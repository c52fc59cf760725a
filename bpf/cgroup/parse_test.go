package cgroup

import (
	"reflect"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

const (
	hexA = "3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
	hexB = "e1c7d0b2a4f6e8c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8"
	uid  = "5d6f1c2e-9a3b-4c7d-8e1f-2a3b4c5d6e7f"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		path string
		want event.Container
	}{
		// Host processes.
		{"", event.Container{}},
		{"/", event.Container{}},
		{"/init.scope", event.Container{}},
		{"/user.slice/user-0.slice/session-1.scope", event.Container{}},
		{"/system.slice/ssh.service", event.Container{}},
		{"/system.slice/docker.service", event.Container{}},
		{"/system.slice/containerd.service", event.Container{}},
		{"/process_api/cdd0126891d69e294ddd19cee70f5f0b", event.Container{}},
		{"/docker", event.Container{}},
		{"/docker/" + hexA[:63], event.Container{}},
		{"/docker/" + hexA + "x", event.Container{}},
		{"/docker/3F2A1B9C8D7E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A", event.Container{}},
		{"/" + hexA, event.Container{}},
		{"/system.slice/docker-abc.scope", event.Container{}},
		{"/kubepods/besteffort/pod" + uid, event.Container{}},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod5d6f1c2e_9a3b_4c7d_8e1f_2a3b4c5d6e7f.slice", event.Container{}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5d6f1c2e_9a3b_4c7d_8e1f_2a3b4c5d6e7f.slice/crio-conmon-" + hexA + ".scope", event.Container{}},
		{"/machine.slice/libpod-conmon-" + hexA + ".scope", event.Container{}},
		{"/lxc.monitor.web1", event.Container{}},
		{"/default", event.Container{}},
		{"/system.slice/default/abc", event.Container{}},
		{"/default/bad:name", event.Container{}},
		{"/other/pod" + uid + "/" + hexA, event.Container{}},

		// docker, cgroupfs and systemd drivers.
		{"/docker/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
		{"/docker/" + hexA + "/init.scope", event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
		{"/docker/" + hexA + "/docker/" + hexB, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
		{"/system.slice/docker-" + hexA + ".scope", event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},
		{"/system.slice/docker-" + hexA + ".scope/init.scope", event.Container{ID: hexA[:12], FullID: hexA, Runtime: "docker"}},

		// containerd's ctr run: /<namespace>/<id>.
		{"/default/redis-1", event.Container{ID: "redis-1", FullID: "redis-1", Runtime: "containerd"}},
		{"/default/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "containerd"}},
		{"/moby/web_2.a", event.Container{ID: "web_2.a", FullID: "web_2.a", Runtime: "containerd"}},
		{"/default/vigil-test/sub", event.Container{ID: "vigil-test", FullID: "vigil-test", Runtime: "containerd"}},

		// Kubernetes, cgroupfs driver (every CRI runtime).
		{"/kubepods/besteffort/pod" + uid + "/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "cri"}},
		{"/kubepods/burstable/pod" + uid + "/" + hexB, event.Container{ID: hexB[:12], FullID: hexB, Runtime: "cri"}},
		{"/kubepods/pod" + uid + "/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "cri"}},
		{"/kubelet/kubepods/besteffort/pod" + uid + "/" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "cri"}},

		// Kubernetes, systemd driver.
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod5d6f1c2e_9a3b_4c7d_8e1f_2a3b4c5d6e7f.slice/cri-containerd-" + hexA + ".scope",
			event.Container{ID: hexA[:12], FullID: hexA, Runtime: "containerd"}},
		{"/system.slice/cri-containerd-" + hexB + ".scope", event.Container{ID: hexB[:12], FullID: hexB, Runtime: "containerd"}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5d6f1c2e_9a3b_4c7d_8e1f_2a3b4c5d6e7f.slice/crio-" + hexA + ".scope",
			event.Container{ID: hexA[:12], FullID: hexA, Runtime: "cri-o"}},
		{"/kubepods.slice/kubepods-pod5d6f1c2e_9a3b_4c7d_8e1f_2a3b4c5d6e7f.slice/crio-" + hexB + ".scope/container",
			event.Container{ID: hexB[:12], FullID: hexB, Runtime: "cri-o"}},
		{"/kubepods/besteffort/pod" + uid + "/crio-" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "cri-o"}},

		// podman.
		{"/libpod_parent/libpod-" + hexA, event.Container{ID: hexA[:12], FullID: hexA, Runtime: "podman"}},
		{"/machine.slice/libpod-" + hexB + ".scope", event.Container{ID: hexB[:12], FullID: hexB, Runtime: "podman"}},
		{"/machine.slice/libpod-" + hexB + ".scope/container", event.Container{ID: hexB[:12], FullID: hexB, Runtime: "podman"}},

		// lxc and lxd.
		{"/lxc/web1", event.Container{ID: "web1", FullID: "web1", Runtime: "lxc"}},
		{"/lxc/web1/init.scope", event.Container{ID: "web1", FullID: "web1", Runtime: "lxc"}},
		{"/lxc.payload.web1", event.Container{ID: "web1", FullID: "web1", Runtime: "lxc"}},
		{"/lxc.payload.web1/system.slice/cron.service", event.Container{ID: "web1", FullID: "web1", Runtime: "lxc"}},
		{"/lxc.payload/web1", event.Container{ID: "web1", FullID: "web1", Runtime: "lxc"}},
	} {
		if got := Parse(tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.path, got, tt.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	docker := "/docker/" + hexA
	for _, tt := range []struct {
		name, content, want string
	}{
		{"empty", "", ""},
		{"v2 host", "0::/user.slice/user-0.slice/session-1.scope\n", "/user.slice/user-0.slice/session-1.scope"},
		{"v2 container", "0::" + docker + "\n", docker},
		{"hybrid container, same path everywhere",
			"9:name=systemd:" + docker + "\n8:pids:" + docker + "\n4:memory:" + docker + "\n0::" + docker + "\n", docker},
		{"hybrid host (this machine)",
			"9:name=systemd:/\n8:pids:/\n4:memory:/process_api/bf85331c93e641670002c4f2baaf7972\n3:cpuset:/\n0::/\n", "/"},
		{"container only in v1",
			"9:name=systemd:/\n4:memory:/kubepods/besteffort/pod" + uid + "/" + hexB + "\n0::/\n",
			"/kubepods/besteffort/pod" + uid + "/" + hexB},
		{"v2 wins over v1", "4:memory:/docker/" + hexB + "\n0::" + docker + "\n", docker},
		{"first v1 container", "5:cpu,cpuacct:/lxc/a\n4:memory:/docker/" + hexB + "\n", "/lxc/a"},
		{"v1 only host", "5:cpu,cpuacct:/system.slice/ssh.service\n4:memory:/\n", "/system.slice/ssh.service"},
		{"no trailing newline", "0::" + docker, docker},
		{"path with colon", "0::/a:b\n", "/a:b"},
		{"garbage lines", "junk\n1\n0::/x\n", "/x"},
	} {
		if got := ParseProcCgroup(tt.content); got != tt.want {
			t.Errorf("%s: ParseProcCgroup = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/docker/" + hexA, "/lxc.payload.x", "/default/a", "/kubepods/pod1/" + hexA, "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		c := Parse(path)
		if (c.ID == "") != (c.Runtime == "") || (c.ID == "") != (c.FullID == "") {
			t.Fatalf("Parse(%q) = %+v: partly empty", path, c)
		}
		ParseProcCgroup(path)
	})
}
