package ctrtest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/testenv"
)

// PauseRef is the image CRI runs as each pod's sandbox container: the
// test image whose command sleeps.
const PauseRef = "docker.io/vigil/pause:test"

// Containerd is a containerd (with runc and its CRI plugin) running for a
// test in its own directories, with the test image imported in the
// default and k8s.io namespaces.
type Containerd struct {
	Dir     string
	Socket  string
	cmd     *exec.Cmd
	log     string
	cgroups map[string]bool // cgroup directories that existed before
}

// cgroupRoots are the top-level cgroup directories the runtimes create
// (ctr and CRI namespaces, docker, the kubelet layout the tests imitate).
var cgroupRoots = []string{"default", "k8s.io", "moby", "docker", "kubepods"}

// cgroupDirs returns every directory below the cgroupRoots of every
// hierarchy mounted under /sys/fs/cgroup.
func cgroupDirs() map[string]bool {
	dirs := map[string]bool{}
	hiers, _ := filepath.Glob("/sys/fs/cgroup/*")
	hiers = append(hiers, "/sys/fs/cgroup")
	for _, h := range hiers {
		for _, r := range cgroupRoots {
			filepath.WalkDir(filepath.Join(h, r), func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs[p] = true
				}
				return nil
			})
		}
	}
	return dirs
}

// removeNewCgroups removes, deepest first, the (empty) cgroup directories
// that were not there before: runc removes a container's own cgroup but
// not the parents it created.
func removeNewCgroups(before map[string]bool) {
	var dirs []string
	for d := range cgroupDirs() {
		if !before[d] {
			dirs = append(dirs, d)
		}
	}
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	for _, d := range dirs {
		os.Remove(d)
	}
}

// need ends the test, as testenv does, unless it runs as root with progs
// installed.
func need(t testing.TB, progs ...string) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, p := range progs {
		testenv.RequireTool(t, p)
	}
}

// StartContainerd starts containerd for t; t's cleanup removes every
// container, stops containerd and its shims and deletes the directories.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	need(t, "containerd", "ctr", "runc", Busybox)
	dir, err := os.MkdirTemp("", "vigil-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Containerd{Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), log: filepath.Join(dir, "containerd.log"), cgroups: cgroupDirs()}
	cfg := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  # root lacks CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj.
  restrict_oom_score_adj = true
  sandbox_image = %[5]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[6]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc", PauseRef, filepath.Join(dir, "cni"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(c.stop)
	if err := waitSocket(c.Socket, 10*time.Second); err != nil {
		t.Fatalf("containerd: %v\n%s", err, c.Log())
	}
	for _, im := range []struct {
		ref string
		cmd []string
		ns  string
	}{
		{Ref, []string{"/bin/sh"}, "default"},
		{Ref, []string{"/bin/sh"}, "k8s.io"},
		{PauseRef, []string{"/bin/sleep", "86400"}, "k8s.io"},
	} {
		tar := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(im.ref)+".tar")
		if err := WriteImage(tar, im.ref, "unused:"+im.ns, im.cmd); err != nil {
			t.Fatal(err)
		}
		c.Ctr(t, im.ns, "images", "import", tar)
	}
	return c
}

// Log returns containerd's log so far.
func (c *Containerd) Log() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// Ctr runs ctr against this containerd in namespace ns and returns its
// output; a failure fails t.
func (c *Containerd) Ctr(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ctr", append([]string{"--address", c.Socket, "--namespace", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *Containerd) ctrQuiet(ns string, args ...string) {
	exec.Command("ctr", append([]string{"--address", c.Socket, "--namespace", ns}, args...)...).Run()
}

// stop removes every task and container, stops containerd, kills any shim
// left behind, unmounts what is left below Dir and removes it.
func (c *Containerd) stop() {
	for _, ns := range []string{"default", "k8s.io", "moby"} {
		out, _ := exec.Command("ctr", "--address", c.Socket, "--namespace", ns, "containers", "list", "-q").Output()
		for id := range strings.FieldsSeq(string(out)) {
			c.ctrQuiet(ns, "tasks", "kill", "-s", "SIGKILL", id)
			for range 50 {
				out, _ := exec.Command("ctr", "--address", c.Socket, "--namespace", ns, "tasks", "delete", id).CombinedOutput()
				if !bytes.Contains(out, []byte("running")) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			c.ctrQuiet(ns, "containers", "delete", id)
		}
	}
	stopProcess(c.cmd, 10*time.Second)
	killMatching(c.Socket)
	unmountBelow(c.Dir)
	os.RemoveAll(c.Dir)
	removeNewCgroups(c.cgroups)
}

// stopProcess sends SIGTERM, then SIGKILL after grace, and reaps.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

// killMatching kills every process whose command line mentions s (the
// shims of a containerd started with socket s).
func killMatching(s string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(s)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountBelow lazily unmounts every mount point under dir, deepest first.
func unmountBelow(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

func waitSocket(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting after %v: %w", path, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Dockerd is a dockerd for a test, using a test's containerd, with no
// network setup (no iptables, no bridge) and the test image loaded.
type Dockerd struct {
	Dir    string
	Socket string
	cmd    *exec.Cmd
	log    string
}

// Docker is the docker client to use (Debian's; /usr/local/bin may hold
// a client of another version).
var Docker = "/usr/bin/docker"

// StartDockerd starts dockerd on c for t; t's cleanup removes its
// containers, stops it and deletes its directories.
func StartDockerd(t testing.TB, c *Containerd) *Dockerd {
	t.Helper()
	need(t, "dockerd", Docker)
	d := &Dockerd{Dir: filepath.Join(c.Dir, "docker")}
	d.Socket = filepath.Join(d.Dir, "docker.sock")
	d.log = filepath.Join(d.Dir, "dockerd.log")
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("dockerd", "--containerd", c.Socket,
		"--data-root", filepath.Join(d.Dir, "root"), "--exec-root", filepath.Join(d.Dir, "exec"),
		"--pidfile", filepath.Join(d.Dir, "docker.pid"), "-H", "unix://"+d.Socket,
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--bridge=none", "--userland-proxy=false", "--cgroup-parent=/docker")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(d.stop)
	if err := waitSocket(d.Socket, 20*time.Second); err != nil {
		t.Fatalf("dockerd: %v\n%s", err, d.Log())
	}
	tar := filepath.Join(d.Dir, "image.tar")
	if err := WriteImage(tar, Ref, DockerRef, []string{"/bin/sh"}); err != nil {
		t.Fatal(err)
	}
	d.Run(t, "load", "-i", tar)
	return d
}

// Log returns dockerd's log so far.
func (d *Dockerd) Log() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// Command returns a docker client command for this daemon.
func (d *Dockerd) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(Docker, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Socket)
	return cmd
}

// Run runs a docker command and returns its output; a failure fails t.
func (d *Dockerd) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Command(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (d *Dockerd) stop() {
	if out, err := d.Command("ps", "-aq").Output(); err == nil {
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			d.Command(append([]string{"rm", "-f"}, ids...)...).Run()
		}
	}
	stopProcess(d.cmd, 15*time.Second)
	unmountBelow(d.Dir)
}
