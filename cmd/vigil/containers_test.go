package main

import (
	"fmt"
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
