package deploy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/config"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/internal/testenv"
	"github.com/vigil-project/vigil/rules"
)

// The daemon's contract with these files.
const (
	configPath  = "/etc/vigil/vigil.yaml"
	binaryPath  = "/usr/local/bin/vigil"
	metricsPort = 9090
)

// The metrics the daemon exports.
var metricNames = []string{
	"vigil_events_total", "vigil_kernel_drops_total", "vigil_alerts_total",
	"vigil_sink_sent_total", "vigil_sink_dropped_total", "vigil_process_table_entries",
	"vigil_reloads_total", "vigil_build_info", "vigil_rule_evaluation_seconds_bucket",
	"vigil_container_lookups_total", "vigil_container_metadata_misses_total",
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// --- vigil.yaml --------------------------------------------------------

// parseConfig decodes a vigil.yaml with the daemon's own loader (strict
// keys, sink options, values) and checks what every shipped config must
// get right.
func parseConfig(t *testing.T, name string, data []byte) *config.Config {
	t.Helper()
	cfg, err := config.Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metrics.Address != "" {
		if _, _, err := net.SplitHostPort(cfg.Metrics.Address); err != nil {
			t.Errorf("%s: metrics.address: %v", name, err)
		}
	}
	// Narrowing events blinds the rules that need the types left out:
	// the shipped configs trace every type their rules use.
	if len(cfg.Events) != 0 {
		t.Errorf("%s: events %v: shipped configs leave events empty (every type the rules use)", name, cfg.Events)
	}
	return cfg
}

// configKeys are the top-level keys of vigil.yaml: the config's schema.
func configKeys() []string {
	var keys []string
	t := reflect.TypeOf(config.Config{})
	for i := range t.NumField() {
		if k := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; k != "-" {
			keys = append(keys, k)
		}
	}
	return append(keys, "sinks")
}

func TestExampleConfig(t *testing.T) {
	data := readFile(t, "systemd/vigil.yaml")
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys() {
		if _, ok := top[k]; !ok {
			t.Errorf("systemd/vigil.yaml: key %q missing: the example documents every key", k)
		}
	}
	cfg := parseConfig(t, "systemd/vigil.yaml", data)
	validateConfig(t, "systemd/vigil.yaml", data)
	if !slices.Contains(cfg.Rules, "builtin") {
		t.Errorf("rules %v: want builtin", cfg.Rules)
	}
	if cfg.Metrics.Address != "127.0.0.1:9090" {
		t.Errorf("metrics.address %q: the host default is loopback 127.0.0.1:9090", cfg.Metrics.Address)
	}
	if cfg.RingbufSize == 0 || cfg.ProcessTable.MaxEntries == 0 || len(cfg.Sinks) == 0 {
		t.Errorf("an example value is missing: %+v", cfg)
	}
	// Writes must stay inside the unit's ReadWritePaths.
	for _, s := range cfg.Sinks {
		if f, ok := s.Options.(*config.FileSink); ok && !strings.HasPrefix(f.Path, "/var/log/vigil/") {
			t.Errorf("file sink path %s is outside /var/log/vigil (read-only under ProtectSystem=strict)", f.Path)
		}
	}

	// The commented-out sink examples are valid YAML too once uncommented.
	var ex strings.Builder
	inExamples := false
	for line := range strings.Lines(string(data)) {
		switch {
		case strings.HasPrefix(line, "  # Examples"):
			inExamples = true
		case inExamples && strings.HasPrefix(line, "  # "):
			ex.WriteString("  " + strings.TrimPrefix(line, "  # "))
		case inExamples:
			inExamples = false
		}
	}
	var sinks struct {
		Sinks []map[string]any `yaml:"sinks"`
	}
	if err := yaml.Unmarshal([]byte("sinks:\n"+ex.String()), &sinks); err != nil {
		t.Fatalf("commented sink examples: %v\n%s", err, ex.String())
	}
	validateConfig(t, "systemd/vigil.yaml (sink examples)", []byte("sinks:\n"+ex.String()))
	var types []string
	for _, s := range sinks.Sinks {
		types = append(types, fmt.Sprint(s["type"]))
	}
	for _, typ := range []string{"syslog", "webhook", "nats"} {
		if !slices.Contains(types, typ) {
			t.Errorf("commented sink examples %v: no %s example", types, typ)
		}
	}
}

// vigil is the daemon built from this tree, for `vigil config validate`.
var vigil struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vigil.dir != "" {
		os.RemoveAll(vigil.dir)
	}
	os.Exit(code)
}

// validateConfig runs `vigil config validate` (the daemon's own loader:
// strict keys, sink options, every rules file it names) on a config.
func validateConfig(t *testing.T, name string, data []byte) {
	t.Helper()
	vigil.once.Do(func() {
		if vigil.dir, vigil.err = os.MkdirTemp("", "vigil-deploy-test"); vigil.err != nil {
			return
		}
		vigil.path = filepath.Join(vigil.dir, "vigil")
		// go test puts its own go first in PATH.
		out, err := exec.Command("go", "build", "-o", vigil.path, "../cmd/vigil").CombinedOutput()
		if err != nil {
			vigil.err = fmt.Errorf("go build ./cmd/vigil: %v\n%s", err, out)
		}
	})
	if vigil.err != nil {
		t.Fatal(vigil.err)
	}
	file := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(vigil.path, "config", "validate", file).CombinedOutput()
	if err != nil {
		t.Errorf("%s: vigil config validate: %v\n%s\n%s", name, err, out, data)
		return
	}
	// Every built-in rule is enabled and sees every type it needs.
	cfg := parseConfig(t, name, data)
	if len(cfg.Rules) == 0 || slices.Contains(cfg.Rules, "builtin") {
		rs, err := engine.CompilePaths(engine.Options{Hostname: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.Rules {
			if !r.Enabled {
				t.Errorf("built-in rule %q is disabled", r.Name)
			}
		}
		var sinks, total, enabled, blinded int
		_, err = fmt.Sscanf(string(out), "ok: %d sinks, %d rules, %d enabled, %d blinded by events\n", &sinks, &total, &enabled, &blinded)
		if err != nil || strings.Contains(string(out), "warning:") || total < len(rs.Rules) || enabled != total || blinded != 0 {
			t.Errorf("%s: vigil config validate says\n%s\nwant all of at least %d rules enabled, none blinded (every built-in rule active)", name, out, len(rs.Rules))
		}
	}
}

// validatePodConfig validates a pod's config with its rules directory
// (/etc/vigil/rules.d, the rules ConfigMap) moved to a temporary directory.
func validatePodConfig(t *testing.T, name string, objs []k8sObject, raw string) {
	t.Helper()
	dir := t.TempDir()
	if cm := find(objs, "ConfigMap", "vigil-rules"); cm != nil {
		for f, content := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	validateConfig(t, name, []byte(strings.ReplaceAll(raw, "/etc/vigil/rules.d", dir)))
}

// --- systemd -----------------------------------------------------------

// unitFile is a systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, data []byte) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("vigil.service:%d: cannot parse %q", n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

func TestSystemdUnit(t *testing.T) {
	data := readFile(t, "systemd/vigil.service")
	u := parseUnit(t, data)
	svc := u["Service"]
	if svc == nil || u["Install"] == nil || u["Unit"] == nil {
		t.Fatalf("want [Unit], [Service] and [Install] sections, have %v", slices.Collect(mapKeys(u)))
	}
	one := func(key string) string {
		t.Helper()
		if len(svc[key]) != 1 {
			t.Errorf("%s: want exactly one value, have %q", key, svc[key])
			return ""
		}
		return svc[key][0]
	}
	if got, want := strings.Fields(one("ExecStart")), []string{binaryPath, "run", "--config", configPath}; !slices.Equal(got, want) {
		t.Errorf("ExecStart %q, want %q", got, want)
	}
	if f := strings.Fields(one("ExecReload")); len(f) != 3 || path.Base(f[0]) != "kill" || f[1] != "-HUP" || f[2] != "$MAINPID" {
		t.Errorf("ExecReload %q: want kill -HUP $MAINPID", f)
	}
	for key, want := range map[string]string{
		"Restart": "on-failure", "KillSignal": "SIGTERM", "TimeoutStopSec": "30",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "MemoryMax": "256M", "LimitMEMLOCK": "infinity",
	} {
		if got := one(key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	// vigil reads /proc/PID of every process on the host.
	for _, key := range []string{"ProtectProc", "ProcSubset", "PrivatePIDs", "PrivateUsers", "DynamicUser", "User"} {
		if v, ok := svc[key]; ok && !(key == "ProtectProc" && v[0] == "default") && !(key == "ProcSubset" && v[0] == "all") {
			t.Errorf("%s=%v hides processes or drops root: vigil must see all of /proc", key, v)
		}
	}
	// ProtectKernelTunables makes /sys read-only: vigil mounts tracefs there.
	if v := svc["ProtectKernelTunables"]; len(v) > 0 && v[0] != "no" {
		t.Errorf("ProtectKernelTunables=%s: vigil mounts tracefs/securityfs under /sys", v[0])
	}
	bounding := strings.Fields(strings.Join(svc["CapabilityBoundingSet"], " "))
	ambient := strings.Fields(strings.Join(svc["AmbientCapabilities"], " "))
	for _, c := range []string{"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH"} {
		if !slices.Contains(bounding, c) || !slices.Contains(ambient, c) {
			t.Errorf("%s missing from CapabilityBoundingSet %v or AmbientCapabilities %v", c, bounding, ambient)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(bounding)), slices.Sorted(slices.Values(ambient))) {
		t.Errorf("CapabilityBoundingSet %v and AmbientCapabilities %v differ", bounding, ambient)
	}
	for _, c := range bounding {
		if strings.HasPrefix(c, "~") || c == "CAP_SYS_MODULE" || c == "CAP_DAC_OVERRIDE" || c == "CAP_NET_RAW" {
			t.Errorf("CapabilityBoundingSet has %s: keep it to what vigil needs", c)
		}
	}
	rw := strings.Fields(strings.Join(svc["ReadWritePaths"], " "))
	for _, p := range []string{"/var/log/vigil", "/var/lib/vigil", "/sys/fs/bpf"} {
		if !slices.Contains(rw, p) && !slices.Contains(rw, "-"+p) {
			t.Errorf("ReadWritePaths %v: %s missing", rw, p)
		}
	}

	verifyUnit(t, data)
}

// verifyUnit runs systemd-analyze verify on a copy of the unit whose vigil
// binary is a stub (verify fails when an Exec path is not executable, and
// the binary is not installed at /usr/local/bin on a build machine). verify
// exits 0 on unknown keys and bad values, printing warnings, so any output
// is a failure. Machines without systemd (containers, CI images) lack
// systemd-analyze: the check is skipped there, in CI too, because nothing
// in it depends on vigil's code; the parse checks above still run.
func verifyUnit(t *testing.T, data []byte) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed (apt-get install systemd): systemd-analyze verify skipped")
		return
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "vigil")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "vigil.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte(binaryPath), []byte(stub)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// --- Kubernetes ----------------------------------------------------------

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		// DaemonSet
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		UpdateStrategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"updateStrategy"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		// Service
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podSpec struct {
	HostPID            bool             `yaml:"hostPID"`
	HostNetwork        bool             `yaml:"hostNetwork"`
	ServiceAccountName string           `yaml:"serviceAccountName"`
	PriorityClassName  string           `yaml:"priorityClassName"`
	Tolerations        []map[string]any `yaml:"tolerations"`
	Containers         []container      `yaml:"containers"`
	Volumes            []volume         `yaml:"volumes"`
}

type volume struct {
	Name     string `yaml:"name"`
	HostPath *struct {
		Path string `yaml:"path"`
		Type string `yaml:"type"`
	} `yaml:"hostPath"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Limits   map[string]string `yaml:"limits"`
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	SecurityContext struct {
		Privileged             *bool `yaml:"privileged"`
		ReadOnlyRootFilesystem bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities           struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

// parseObjects decodes a multi-document Kubernetes manifest.
func parseObjects(t *testing.T, name string, data []byte) []k8sObject {
	t.Helper()
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", name, len(objs)+1, err)
		}
		if o.Kind == "" { // an empty document (a template that rendered nothing)
			continue
		}
		if o.APIVersion == "" || o.Metadata.Name == "" {
			t.Errorf("%s: a %s without apiVersion or name", name, o.Kind)
		}
		objs = append(objs, o)
	}
	return objs
}

func find(objs []k8sObject, kind, name string) *k8sObject {
	for i := range objs {
		if objs[i].Kind == kind && (name == "" || objs[i].Metadata.Name == name) {
			return &objs[i]
		}
	}
	return nil
}

// checkDaemonSet checks a manifest's DaemonSet against what vigil needs
// from the node, and returns the config it runs with. privileged is the
// variant for kernels before 5.8.
func checkDaemonSet(t *testing.T, name string, objs []k8sObject, privileged bool) (*config.Config, string) {
	t.Helper()
	ds := find(objs, "DaemonSet", "")
	if ds == nil {
		t.Fatalf("%s: no DaemonSet", name)
	}
	pod := ds.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, have %d", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: the selector's %s=%s does not select the pod template", name, k, v)
		}
	}
	if !pod.HostPID {
		t.Errorf("%s: hostPID must be true: vigil reads every process in /proc", name)
	}
	if pod.HostNetwork {
		t.Errorf("%s: hostNetwork would put the metrics port on the node's interfaces", name)
	}
	if find(objs, "ServiceAccount", pod.ServiceAccountName) == nil {
		t.Errorf("%s: serviceAccountName %q is not in the manifest", name, pod.ServiceAccountName)
	}
	if pod.PriorityClassName != "system-node-critical" {
		t.Errorf("%s: priorityClassName %q", name, pod.PriorityClassName)
	}
	if !slices.ContainsFunc(pod.Tolerations, func(tol map[string]any) bool { return tol["operator"] == "Exists" && tol["key"] == nil }) {
		t.Errorf("%s: tolerations %v: want operator Exists with no key (every node)", name, pod.Tolerations)
	}
	if us := ds.Spec.UpdateStrategy; us.Type != "RollingUpdate" || fmt.Sprint(us.RollingUpdate.MaxUnavailable) != "10%" {
		t.Errorf("%s: updateStrategy %+v", name, us)
	}
	if c.Resources.Limits["memory"] != "256Mi" || c.Resources.Requests["memory"] == "" {
		t.Errorf("%s: resources %+v: want a memory request and a 256Mi limit", name, c.Resources)
	}

	sc := c.SecurityContext
	if !sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem must be true", name)
	}
	if privileged {
		if sc.Privileged == nil || !*sc.Privileged {
			t.Errorf("%s: the privileged variant is not privileged", name)
		}
	} else {
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged: true; capabilities are enough on Linux 5.8+", name)
		}
		for _, cap := range []string{"BPF", "PERFMON", "SYS_ADMIN", "SYS_RESOURCE", "SYS_PTRACE", "KILL", "DAC_READ_SEARCH"} {
			if !slices.Contains(sc.Capabilities.Add, cap) {
				t.Errorf("%s: capabilities.add %v: %s missing", name, sc.Capabilities.Add, cap)
			}
		}
		if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("%s: capabilities.drop %v, want [ALL]", name, sc.Capabilities.Drop)
		}
	}

	// Mounts: container path -> (volume, read-only).
	type mount struct {
		hostPath, hostType, configMap, subPath string
		readOnly                               bool
	}
	mounts := map[string]mount{}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v volume) bool {
			return v.Name == m.Name
		})
		if i < 0 {
			t.Errorf("%s: volumeMount %s: no volume %q", name, m.MountPath, m.Name)
			continue
		}
		v := pod.Volumes[i]
		mt := mount{subPath: m.SubPath, readOnly: m.ReadOnly}
		if v.HostPath != nil {
			mt.hostPath, mt.hostType = v.HostPath.Path, v.HostPath.Type
		}
		if v.ConfigMap != nil {
			mt.configMap = v.ConfigMap.Name
		}
		mounts[m.MountPath] = mt
	}
	// Host paths vigil reads at the same path inside the container.
	for _, p := range []string{
		"/sys/kernel/btf", "/sys/fs/bpf", "/sys/kernel/tracing", "/sys/kernel/security", "/sys/fs/cgroup",
		"/run/containerd/containerd.sock", "/var/run/docker.sock", "/var/lib/vigil",
	} {
		if m, ok := mounts[p]; !ok || m.hostPath != p {
			t.Errorf("%s: host %s is not mounted at %s (have %+v)", name, p, p, m)
		}
	}
	for _, p := range []string{"/sys/kernel/btf", "/sys/fs/cgroup", "/run/containerd/containerd.sock", "/var/run/docker.sock"} {
		if !mounts[p].readOnly {
			t.Errorf("%s: %s should be mounted read-only", name, p)
		}
	}
	for _, p := range []string{"/sys/fs/bpf", "/var/lib/vigil"} {
		if mounts[p].readOnly {
			t.Errorf("%s: %s must be writable (pinned maps, spool)", name, p)
		}
	}
	if _, ok := mounts["/proc"]; ok {
		t.Errorf("%s: /proc is mounted from the host: with hostPID the container's /proc is already the host's", name)
	}

	// The command line names the ConfigMap's file.
	args := append(slices.Clone(c.Command), c.Args...)
	if !slices.Equal(args, []string{"run", "--config", configPath}) {
		t.Fatalf("%s: command+args %q, want run --config %s (the image's entrypoint is /vigil)", name, args, configPath)
	}
	var cmName, key string
	if m, ok := mounts[configPath]; ok && m.configMap != "" {
		cmName, key = m.configMap, m.subPath
	} else if m, ok := mounts[path.Dir(configPath)]; ok && m.configMap != "" {
		cmName, key = m.configMap, path.Base(configPath)
	} else {
		t.Fatalf("%s: %s does not come from a ConfigMap", name, configPath)
	}
	cm := find(objs, "ConfigMap", cmName)
	if cm == nil || cm.Data[key] == "" {
		t.Fatalf("%s: ConfigMap %s has no key %q for %s", name, cmName, key, configPath)
	}
	cfg := parseConfig(t, name+": ConfigMap "+cmName, []byte(cm.Data[key]))

	// Rules paths are built in or mounted.
	for _, r := range cfg.Rules {
		if r == "builtin" {
			continue
		}
		m, ok := mounts[r]
		if !ok || m.configMap == "" || find(objs, "ConfigMap", m.configMap) == nil {
			t.Errorf("%s: rules path %s is not a mounted ConfigMap", name, r)
		}
	}

	// Probes hit the health endpoints on the port the daemon listens on.
	host, port, _ := net.SplitHostPort(cfg.Metrics.Address)
	if host != "0.0.0.0" && host != "" && host != "::" {
		t.Errorf("%s: metrics.address %s: the kubelet probes the pod IP, not loopback", name, cfg.Metrics.Address)
	}
	for _, p := range []struct {
		kind, want string
		probe      *probe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, p.kind)
			continue
		}
		if p.probe.HTTPGet.Path != p.want {
			t.Errorf("%s: %s probe path %s, want %s", name, p.kind, p.probe.HTTPGet.Path, p.want)
		}
		number := 0
		for _, cp := range c.Ports {
			if fmt.Sprint(p.probe.HTTPGet.Port) == cp.Name || fmt.Sprint(p.probe.HTTPGet.Port) == strconv.Itoa(cp.ContainerPort) {
				number = cp.ContainerPort
			}
		}
		if number == 0 || strconv.Itoa(number) != port {
			t.Errorf("%s: %s probe port %v is container port %d; vigil listens on %s", name, p.kind, p.probe.HTTPGet.Port, number, cfg.Metrics.Address)
		}
	}
	return cfg, cm.Data[key]
}

func TestDaemonSet(t *testing.T) {
	objs := parseObjects(t, "kubernetes/daemonset.yaml", readFile(t, "kubernetes/daemonset.yaml"))
	for _, o := range objs {
		if o.Kind != "Namespace" && o.Metadata.Namespace != "vigil" {
			t.Errorf("%s %s: namespace %q, want vigil", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
	}
	if find(objs, "Namespace", "vigil") == nil {
		t.Error("no Namespace vigil")
	}
	_, raw := checkDaemonSet(t, "kubernetes/daemonset.yaml", objs, false)
	validatePodConfig(t, "kubernetes/daemonset.yaml", objs, raw)
	ds := find(objs, "DaemonSet", "")
	if img := ds.Spec.Template.Spec.Containers[0].Image; !strings.Contains(img, "vigil") {
		t.Errorf("image %q", img)
	}

	// The example local rules compile with vigil's own compiler.
	cm := find(objs, "ConfigMap", "vigil-rules")
	if cm == nil || len(cm.Data) == 0 {
		t.Fatal("no ConfigMap vigil-rules with a rules file")
	}
	compileRules(t, cm.Data)
}

// compileRules writes rules files and compiles them as `vigil run` would.
func compileRules(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := rules.Load(dir)
	if err != nil {
		t.Fatalf("example rules: %v", err)
	}
	c, err := engine.NewCompiler(engine.Options{Hostname: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Compile(set)
	if err != nil {
		t.Fatalf("example rules: %v", err)
	}
	if len(rs.Rules) == 0 {
		t.Fatal("example rules: no rule")
	}
}

// --- Helm ----------------------------------------------------------------

// helmFuncs are stand-ins for the Sprig and Helm functions the chart uses,
// so that its templates render with text/template alone (Helm is not a
// dependency). include is bound to the template set by renderChart.
func helmFuncs() template.FuncMap {
	empty := func(v any) bool {
		switch v := v.(type) {
		case nil:
			return true
		case string:
			return v == ""
		case bool:
			return !v
		case int:
			return v == 0
		case float64:
			return v == 0
		case []any:
			return len(v) == 0
		case map[string]any:
			return len(v) == 0
		}
		return false
	}
	indent := func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	}
	return template.FuncMap{
		"include": func(string, any) (string, error) { return "", errors.New("include is not bound") },
		"toYaml": func(v any) (string, error) {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
		"indent":  indent,
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"quote":   func(v any) string { return strconv.Quote(fmt.Sprint(v)) },
		"default": func(d, v any) any {
			if empty(v) {
				return d
			}
			return v
		},
		"trunc": func(n int, s string) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
		"int64": func(v any) (int64, error) {
			switch v := v.(type) {
			case int:
				return int64(v), nil
			case float64:
				return int64(v), nil
			}
			return 0, fmt.Errorf("int64: %T", v)
		},
	}
}

const chartDir = "helm/vigil"

func loadValues(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "values.yaml")), &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v
}

// renderChart renders every template of the chart with values, as
// `helm template vigil deploy/helm/vigil -n vigil` would, and returns the
// manifests and NOTES.txt.
func renderChart(t *testing.T, values map[string]any) (manifests, notes string) {
	t.Helper()
	var chart map[string]any
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	base := "vigil/templates"
	set := template.New("chart").Funcs(helmFuncs()).Option("missingkey=zero")
	names, _ := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	for _, n := range names {
		if _, err := set.New(path.Join(base, filepath.Base(n))).Parse(string(readFile(t, n))); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	set.Funcs(template.FuncMap{"include": func(name string, data any) (string, error) {
		var b strings.Builder
		err := set.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}})
	data := map[string]any{
		"Values":  values,
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
		"Release": map[string]any{"Name": "vigil", "Namespace": "vigil", "Service": "Helm"},
	}
	var out strings.Builder
	for _, n := range names {
		name := path.Join(base, filepath.Base(n))
		if strings.HasPrefix(filepath.Base(n), "_") {
			continue
		}
		data["Template"] = map[string]any{"BasePath": base, "Name": name}
		var b strings.Builder
		if err := set.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		if strings.HasSuffix(n, "NOTES.txt") {
			notes = b.String()
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, b.String())
	}
	return out.String(), notes
}

func TestHelmChart(t *testing.T) {
	var chart struct {
		APIVersion string `yaml:"apiVersion"`
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
		AppVersion string `yaml:"appVersion"`
		Type       string `yaml:"type"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	if chart.APIVersion != "v2" || chart.Name != "vigil" || chart.Type != "application" ||
		!regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(chart.Version) || chart.AppVersion == "" {
		t.Errorf("Chart.yaml: %+v", chart)
	}
	for _, n := range []string{"_helpers.tpl", "configmap.yaml", "daemonset.yaml", "serviceaccount.yaml", "service.yaml", "NOTES.txt"} {
		if _, err := os.Stat(filepath.Join(chartDir, "templates", n)); err != nil {
			t.Error(err)
		}
	}

	values := loadValues(t)
	for _, k := range []string{"image", "config", "metrics", "resources", "tolerations", "extraRules"} {
		if _, ok := values[k]; !ok {
			t.Errorf("values.yaml: no %s", k)
		}
	}

	t.Run("defaults", func(t *testing.T) {
		out, notes := renderChart(t, loadValues(t))
		objs := parseObjects(t, "helm defaults", []byte(out))
		cfg, raw := checkDaemonSet(t, "helm defaults", objs, false)
		validatePodConfig(t, "helm defaults", objs, raw)
		if !slices.Equal(cfg.Rules, []string{"builtin"}) {
			t.Errorf("rules %v: no extraRules, so only builtin", cfg.Rules)
		}
		if find(objs, "Service", "") != nil {
			t.Error("a metrics Service without metrics.service.enabled")
		}
		if !strings.Contains(notes, "/vigil check") {
			t.Errorf("NOTES.txt:\n%s", notes)
		}
	})

	t.Run("options", func(t *testing.T) {
		v := loadValues(t)
		v["metrics"].(map[string]any)["service"].(map[string]any)["enabled"] = true
		v["extraRules"] = map[string]any{"local.yaml": "- rule: Shell\n  desc: a shell\n  condition: evt.type == \"exec\" && proc.name == \"sh\"\n  output: shell (cmdline=%proc.cmdline)\n  priority: notice\n"}
		out, _ := renderChart(t, v)
		objs := parseObjects(t, "helm options", []byte(out))
		cfg, raw := checkDaemonSet(t, "helm options", objs, false)
		validatePodConfig(t, "helm options", objs, raw)
		if !slices.Contains(cfg.Rules, "/etc/vigil/rules.d") {
			t.Errorf("rules %v: extraRules are not loaded", cfg.Rules)
		}
		cm := find(objs, "ConfigMap", "vigil-rules")
		if cm == nil || cm.Data["local.yaml"] == "" {
			t.Fatal("extraRules not in the rules ConfigMap")
		}
		compileRules(t, cm.Data)
		svc := find(objs, "Service", "")
		if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != "metrics" {
			t.Errorf("metrics Service: %+v", svc)
		}
	})

	t.Run("privileged", func(t *testing.T) {
		v := loadValues(t)
		v["privileged"] = true
		out, notes := renderChart(t, v)
		checkDaemonSet(t, "helm privileged", parseObjects(t, "helm privileged", []byte(out)), true)
		if !strings.Contains(notes, "privileged") {
			t.Error("NOTES.txt does not say the pods are privileged")
		}
	})

	// The real thing. make test-deps builds Helm into .tools/bin (Debian 12
	// has no package); under CI=true its absence is a failure.
	t.Run("helm", func(t *testing.T) {
		helm := testenv.RequireTool(t, "helm")
		if out, err := exec.Command(helm, "lint", "--strict", chartDir).CombinedOutput(); err != nil {
			t.Errorf("helm lint: %v\n%s", err, out)
		}
		out, err := exec.Command(helm, "template", "vigil", chartDir, "-n", "vigil", "--kube-version", "1.31").Output()
		if err != nil {
			t.Fatalf("helm template: %v", err)
		}
		checkDaemonSet(t, "helm template", parseObjects(t, "helm template", out), false)
	})
}

// --- Container image -----------------------------------------------------

func TestContainerfile(t *testing.T) {
	data := string(readFile(t, "Containerfile"))
	// Join continuation lines, drop comments.
	data = strings.ReplaceAll(data, "\\\n", " ")
	args := map[string]string{}
	type stage struct {
		from string
		ins  []string // instructions after FROM
	}
	var stages []stage
	for line := range strings.Lines(data) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		ins, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(ins) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok && len(stages) == 0 {
				args[k] = v
			}
		case "FROM":
			from := strings.Fields(rest)[0]
			for k, v := range args {
				from = strings.ReplaceAll(from, "${"+k+"}", v)
			}
			stages = append(stages, stage{from: from})
		default:
			if len(stages) == 0 {
				t.Fatalf("Containerfile: %s before FROM", ins)
			}
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, strings.ToUpper(ins)+" "+rest)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Containerfile: %d stages, want a build stage and a final one", len(stages))
	}

	// Build: golang at go.mod's Go version, a static, trimmed binary.
	build := stages[0]
	gomod := string(readFile(t, "../go.mod"))
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if m == nil || !strings.Contains(build.from, "golang:"+m[1]) {
		t.Errorf("build stage FROM %s: want golang:%v (go.mod)", build.from, m)
	}
	cgoOff, built := false, ""
	for _, in := range build.ins {
		if strings.Contains(in, "CGO_ENABLED=0") {
			cgoOff = true
		}
		if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "go build") {
			if !cgoOff {
				t.Errorf("go build runs without CGO_ENABLED=0: %s", in)
			}
			for _, want := range []string{"-trimpath", "-s -w", "./cmd/vigil"} {
				if !strings.Contains(in, want) {
					t.Errorf("go build without %s: %s", want, in)
				}
			}
			if f := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(in); f != nil {
				built = f[1]
			}
		}
	}
	if built == "" {
		t.Fatal("no `go build -o` in the build stage")
	}

	final := stages[len(stages)-1]
	if !strings.Contains(final.from, "distroless/static") || strings.Contains(final.from, "nonroot") {
		t.Errorf("final FROM %s: want distroless/static, not nonroot (BPF needs root)", final.from)
	}
	var entry, cmd []string
	copied := false
	for _, in := range final.ins {
		kw, rest, _ := strings.Cut(in, " ")
		switch kw {
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &entry); err != nil {
				t.Errorf("ENTRYPOINT %s: want the exec (JSON) form: %v", rest, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Errorf("CMD %s: want the exec (JSON) form: %v", rest, err)
			}
		case "USER":
			if u, _, _ := strings.Cut(rest, ":"); u != "0" && u != "root" {
				t.Errorf("USER %s: vigil needs root", rest)
			}
		case "COPY":
			f := strings.Fields(rest)
			if strings.HasPrefix(f[0], "--from=") {
				copied = copied || (f[1] == built && f[2] == "/vigil")
				continue
			}
			// Sources are relative to the repository root (the build context).
			if _, err := os.Stat(filepath.Join("..", f[0])); err != nil {
				t.Errorf("COPY %s: %v", rest, err)
			}
			if f[len(f)-1] == configPath {
				data := readFile(t, filepath.Join("..", f[0]))
				parseConfig(t, f[0], data)
				validateConfig(t, f[0], data)
			}
		}
	}
	if !copied {
		t.Errorf("the final stage does not copy %s to /vigil", built)
	}
	if !slices.Equal(entry, []string{"/vigil"}) || !slices.Equal(cmd, []string{"run", "--config", configPath}) {
		t.Errorf("ENTRYPOINT %q CMD %q, want [/vigil] [run --config %s]", entry, cmd, configPath)
	}
}

// --- Grafana -------------------------------------------------------------

func TestGrafanaDashboard(t *testing.T) {
	var dash map[string]any
	if err := json.Unmarshal(readFile(t, "grafana/vigil-dashboard.json"), &dash); err != nil {
		t.Fatal(err)
	}
	if dash["title"] == "" || dash["uid"] == "" {
		t.Error("dashboard without title or uid")
	}
	// Every PromQL string: targets' expr, annotations' expr, variables' queries.
	var exprs []string
	ids := map[float64]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["id"].(float64); ok && v["type"] != nil && v["gridPos"] != nil {
				if ids[id] {
					t.Errorf("panel id %v twice", id)
				}
				ids[id] = true
			}
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition" || (k == "query" && strings.Contains(s, "vigil_"))) {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) == 0 {
		t.Fatal("no queries")
	}
	// A metric name is an identifier followed by a selector or range, or a
	// vigil_ identifier anywhere.
	selector := regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]`)
	vigilName := regexp.MustCompile(`\bvigil_[a-z_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		var names []string
		for _, m := range selector.FindAllStringSubmatch(e, -1) {
			names = append(names, m[1])
		}
		names = append(names, vigilName.FindAllString(e, -1)...)
		if len(names) == 0 {
			t.Errorf("query %q uses no metric", e)
		}
		for _, n := range names {
			if !slices.Contains(metricNames, n) {
				t.Errorf("query %q: %s is not one of vigil's metrics", e, n)
			}
			used[n] = true
		}
	}
	for _, n := range metricNames {
		if !used[n] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
}
