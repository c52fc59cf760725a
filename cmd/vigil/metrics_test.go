package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue finds one sample in a Prometheus text exposition.
func metricValue(body, name, labels string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+labels) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// /metrics reflects the events and alerts the test causes; /healthz and
// /readyz answer once the probes are attached.
func TestMetricsLive(t *testing.T) {
	needRoot(t)
	addr := freePort(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("rules: [builtin]\nmetrics: {address: %q}\n", addr)), 0o644)
	alerts := startRun(t, "--config", cfg)
	base := "http://" + addr
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	nginx := filepath.Join(dir, "nginx")
	copyExe(t, "/bin/cat", nginx)
	cmd := exec.Command(nginx, "/etc/shadow")
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	waitAlert(t, alerts, "Read sensitive file by untrusted program", cmd.Process.Pid)
	// Enough judged events for the sampled evaluation-time histogram.
	for range 2 * 64 {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "sampled evaluation times", func() bool {
		_, body := get(t, base+"/metrics")
		v, _ := metricValue(body, "vigil_rule_evaluation_seconds_count", "")
		return v >= 1
	})

	_, body := get(t, base+"/metrics")
	checks := []struct {
		name, labels string
		min          float64
	}{
		{"vigil_alerts_total", `{priority="Warning",rule="Read sensitive file by untrusted program"}`, 1},
		{"vigil_events_total", `{type="exec"}`, 1},
		{"vigil_events_total", `{type="open"}`, 1},
		{"vigil_sink_sent_total", `{sink="stdout#1"}`, 1},
		{"vigil_rule_evaluations_total", "", 1},
		{"vigil_rule_evaluation_seconds_bucket", `{le="0.01"}`, 1},
		{"vigil_rule_evaluation_seconds_sum", "", 1e-9},
		{"vigil_process_table_entries", "", 2},
		{"vigil_kernel_drops_total", `{type="open"}`, 0},
		{"vigil_reloads_total", `{result="failure"}`, 0},
		{"vigil_build_info", `{goversion="` + runtime.Version() + `",version="devel"}`, 1},
	}
	for _, c := range checks {
		v, ok := metricValue(body, c.name, c.labels)
		if !ok || v < c.min {
			t.Errorf("%s%s = %v (present %v), want >= %v", c.name, c.labels, v, ok, c.min)
		}
	}
}
