package bpf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/internal/testenv"
)

// listen opens a TCP listener on addr ("127.0.0.1:0") and returns its port.
func listen(t testing.TB, network, addr string) uint16 {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func conj(rule, action string, enforce bool, atoms ...int) plan.PolicyConj {
	return plan.PolicyConj{Rule: rule, Action: action, Enforce: enforce, Atoms: atoms}
}

func connectAs(t *testing.T, addr string) (errno, pid int) {
	t.Helper()
	res, pid := runHelperCmd(t, "connect", addr)
	return res.Errno, pid
}

// Connects denied by the cgroup hooks: IPv4 by CIDR and port list, IPv6
// by address and port range; other ports and vigil's own connects pass;
// audit-only rules let the connect through and say "would deny".
func TestPolicyConnectDeny(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	if m := c.probes.Mechanisms(); !m.CgroupConnect && !m.LSM {
		t.Fatalf("no connect deny: cgroup hooks not attached (%s), no BPF LSM (%s)", m.CgroupReason, m.LSMReason)
	}
	p4, ok4, audit4 := listen(t, "tcp4", "127.0.0.1:0"), listen(t, "tcp4", "127.0.0.1:0"), listen(t, "tcp4", "127.0.0.1:0")
	p6, ok6 := listen(t, "tcp6", "[::1]:0"), listen(t, "tcp6", "[::1]:0")
	var pol plan.Policy
	pol.Types[2] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{
			{Class: plan.PolFamily, Names: []string{"ipv4"}},
			{Class: plan.PolDIP, Nets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			{Class: plan.PolDPort, Ports: [][2]uint16{{p4, p4}, {1, 2}}},
			{Class: plan.PolDIP, Nets: []netip.Prefix{netip.MustParsePrefix("::1/128")}},
			{Class: plan.PolDPort, Ports: [][2]uint16{{p6, p6}}},
			{Class: plan.PolDPort, Ports: [][2]uint16{{audit4, audit4}}},
		},
		Conjs: []plan.PolicyConj{
			conj("v4 deny", "deny", true, 0, 1, 2),
			conj("v6 deny", "deny", true, 3, 4),
			conj("v4 audit", "deny", false, 1, 5),
		},
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	port := func(p uint16) string { return strconv.Itoa(int(p)) }
	for _, tc := range []struct {
		addr   string
		errno  int
		rule   string
		action string
	}{
		{"127.0.0.1:" + port(p4), int(syscall.EPERM), "v4 deny", "deny"},
		{"127.0.0.1:" + port(ok4), 0, "", ""},
		{"[::1]:" + port(p6), int(syscall.EPERM), "v6 deny", "deny"},
		{"[::1]:" + port(ok6), 0, "", ""},
		{"127.0.0.1:" + port(audit4), 0, "v4 audit", "would deny"},
	} {
		errno, pid := connectAs(t, tc.addr)
		if errno != tc.errno {
			t.Errorf("connect %s: errno %d, want %d", tc.addr, errno, tc.errno)
		}
		ev := c.waitFor(t, "connect "+tc.addr, func(e *event.Event) bool {
			return e.Type == event.TypeConnect && e.Proc.PID == uint32(pid)
		})
		if ev.Enforcement.Rule != tc.rule || ev.Enforcement.Action != tc.action {
			t.Errorf("connect %s: enforcement %+v, want %s %s", tc.addr, ev.Enforcement, tc.rule, tc.action)
		}
	}
	// Self-protection: the loading process (vigil) is never denied.
	conn, err := net.Dial("tcp4", "127.0.0.1:"+port(p4))
	if err != nil {
		t.Errorf("vigil's own connect was denied: %v", err)
	} else {
		conn.Close()
	}
	// A new policy replaces the old one in place.
	pol.Types[2].Conjs = pol.Types[2].Conjs[1:]
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	if errno, _ := connectAs(t, "127.0.0.1:"+port(p4)); errno != 0 {
		t.Errorf("after the reload, connect to the no longer denied port: errno %d", errno)
	}
	if errno, _ := connectAs(t, "[::1]:"+port(p6)); errno != int(syscall.EPERM) {
		t.Errorf("after the reload, connect still denied: errno %d, want EPERM", errno)
	}
	// No policy: nothing denied.
	if err := c.probes.SetPolicy(plan.Policy{}); err != nil {
		t.Fatal(err)
	}
	if errno, _ := connectAs(t, "[::1]:"+port(p6)); errno != 0 {
		t.Errorf("with no policy: errno %d", errno)
	}
}

// A process that opens a forbidden file, or executes a forbidden binary,
// is killed at the event; the same process touching something else is not.
func TestPolicyKill(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	dir := tempDir(t)
	forbidden := filepath.Join(dir, "forbidden")
	allowed := filepath.Join(dir, "allowed")
	for _, f := range []string{forbidden, allowed} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	badBin := filepath.Join(dir, "bad-true")
	goodBin := filepath.Join(dir, "good-true")
	for _, b := range []string{badBin, goodBin} {
		data, err := os.ReadFile("/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var pol plan.Policy
	pol.Types[0] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolExe, Paths: []plan.PathRule{{Path: badBin, Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("no bad exec", "kill", true, 0)},
	}
	pol.Types[1] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolFile, Paths: []plan.PathRule{{Path: dir + "/forb"}}}},
		Conjs: []plan.PolicyConj{conj("no forbidden open", "kill", true, 0)},
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}

	killed := func(err error) bool {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return false
		}
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	}
	for _, tc := range []struct {
		path string
		kill bool
	}{{forbidden, true}, {allowed, false}} {
		h := helper(t, "wait-open", tc.path)
		stdin, err := h.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		stdin.Write([]byte("\n"))
		err = h.Wait()
		if killed(err) != tc.kill {
			t.Errorf("open %s: exit %v, killed want %v", tc.path, err, tc.kill)
		}
		ev := c.waitFor(t, "open "+tc.path, func(e *event.Event) bool {
			return e.Type == event.TypeOpen && e.Proc.PID == uint32(h.Process.Pid) && e.File.Path == tc.path
		})
		if want := map[bool]string{true: "kill", false: ""}[tc.kill]; ev.Enforcement.Action != want {
			t.Errorf("open %s: enforcement %+v", tc.path, ev.Enforcement)
		}
	}
	for _, tc := range []struct {
		bin  string
		kill bool
	}{{badBin, true}, {goodBin, false}} {
		cmd := exec.Command(tc.bin)
		err := cmd.Run()
		if killed(err) != tc.kill || (!tc.kill && err != nil) {
			t.Errorf("exec %s: %v, killed want %v", tc.bin, err, tc.kill)
		}
		ev := c.waitFor(t, "exec "+tc.bin, execOf(cmd.Process.Pid))
		if want := map[bool]string{true: "kill", false: ""}[tc.kill]; ev.Enforcement.Action != want || (tc.kill && ev.Enforcement.Rule != "no bad exec") {
			t.Errorf("exec %s: enforcement %+v", tc.bin, ev.Enforcement)
		}
	}
}

// Deny before the syscall acts, by BPF LSM, where bpf is an active LSM
// (the VM suite boots kernels with and without it: VIGIL_VM_LSM says
// which); elsewhere vigil must say LSM enforcement is unavailable and
// refuse an exec deny it cannot make, rather than pretend.
func TestPolicyLSM(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	m := c.probes.Mechanisms()
	if vm := os.Getenv("VIGIL_VM_LSM"); vm != "" && m.LSM != (vm == "bpf") {
		t.Fatalf("booted with lsm %q, vigil reports LSM enforcement %v (%s)", vm, m.LSM, m.LSMReason)
	}
	dir := tempDir(t)
	badBin, goodBin := filepath.Join(dir, "bad-true"), filepath.Join(dir, "good-true")
	forbidden, allowed := filepath.Join(dir, "forbidden"), filepath.Join(dir, "allowed")
	for _, b := range []string{badBin, goodBin} {
		data, err := os.ReadFile("/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(b, data, 0o755)
	}
	os.WriteFile(forbidden, []byte("x"), 0o644)
	os.WriteFile(allowed, []byte("x"), 0o644)
	var pol plan.Policy
	pol.Types[0] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolExe, Paths: []plan.PathRule{{Path: badBin, Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("no bad exec", "deny", true, 0)},
	}
	pol.Types[1] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolFile, Paths: []plan.PathRule{{Path: forbidden, Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("no forbidden open", "deny", true, 0)},
	}
	err := c.probes.SetPolicy(pol)
	if !m.LSM {
		var ue *UnavailableError
		if !errors.As(err, &ue) || ue.Rule != "no bad exec" || m.LSMReason == "" {
			t.Fatalf("without BPF LSM: SetPolicy = %v, reason %q; want an UnavailableError naming the rule", err, m.LSMReason)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(badBin).Run(); !errors.Is(err, os.ErrPermission) {
		t.Errorf("exec of the denied binary: %v, want permission denied", err)
	}
	if err := exec.Command(goodBin).Run(); err != nil {
		t.Errorf("exec of the other binary: %v", err)
	}
	ev := c.waitFor(t, "denied exec", func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.Exe == badBin })
	if ev.Res != -1 || ev.Enforcement != (event.Enforcement{Rule: "no bad exec", Action: "deny"}) || ev.Proc.Name != "bad-true" {
		t.Errorf("denied exec event: res %d, enforcement %+v, name %q", ev.Res, ev.Enforcement, ev.Proc.Name)
	}
	for _, tc := range []struct {
		path string
		deny bool
	}{{forbidden, true}, {allowed, false}} {
		h := helper(t, "wait-open", tc.path)
		stdin, _ := h.StdinPipe()
		h.Stderr = nil
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		stdin.Write([]byte("\n"))
		err := h.Wait()
		if (err != nil) != tc.deny {
			t.Errorf("open %s: %v, denied want %v", tc.path, err, tc.deny)
		}
		ev := c.waitFor(t, "open "+tc.path, func(e *event.Event) bool {
			return e.Type == event.TypeOpen && e.Proc.PID == uint32(h.Process.Pid) && e.File.Path == tc.path
		})
		if tc.deny && (ev.Res != -1 || ev.Enforcement.Action != "deny") || !tc.deny && ev.Enforcement.Action != "" {
			t.Errorf("open %s: res %d, enforcement %+v", tc.path, ev.Res, ev.Enforcement)
		}
	}
}

// BenchmarkPolicySize: CPU time per iteration of an open loop and a
// connect loop (in a child process: vigil's own are exempt) with a policy
// naming 1 and then 1,000 paths and CIDRs, none matching the loops. The
// ratio is what the size of a policy costs; run in the VM suite it uses
// BPF LSM (scripts/vm/run.sh bench), on the host the cgroup hooks.
func BenchmarkPolicySize(b *testing.B) {
	testenv.RequireRoot(b)
	p, err := Load(DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	// As under vigil run: opens no rule names are dropped in the kernel
	// (after the policy judged them), the rest is read and discarded.
	if err := p.SetOpenFilter(plan.OpenFilter{}); err != nil {
		b.Fatal(err)
	}
	r, err := NewReader(p, ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, func(*event.Event) {})
	dir := b.TempDir()
	file := filepath.Join(dir, "loop")
	os.WriteFile(file, nil, 0o644)
	target := "127.0.0.1:" + strconv.Itoa(int(listen(b, "tcp4", "127.0.0.1:0")))
	policy := func(n int) plan.Policy {
		var pol plan.Policy
		files := plan.PolicyAtom{Class: plan.PolFile}
		nets := plan.PolicyAtom{Class: plan.PolDIP}
		for i := range n {
			files.Paths = append(files.Paths, plan.PathRule{Path: fmt.Sprintf("/srv/deny/%d/secret", i), Exact: true})
			nets.Nets = append(nets.Nets, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i / 256), byte(i % 256), 0}), 24))
		}
		action := "kill"
		if p.Mechanisms().LSM {
			action = "deny"
		}
		pol.Types[1] = plan.TypePolicy{Atoms: []plan.PolicyAtom{files}, Conjs: []plan.PolicyConj{conj("files", action, true, 0)}}
		pol.Types[2] = plan.TypePolicy{Atoms: []plan.PolicyAtom{nets}, Conjs: []plan.PolicyConj{conj("nets", "deny", true, 0)}}
		return pol
	}
	for _, n := range []int{1, 1000} {
		if err := p.SetPolicy(policy(n)); err != nil {
			b.Fatal(err)
		}
		for _, loop := range []struct{ action, arg string }{{"open-loop", file}, {"connect-loop", target}} {
			b.Run(fmt.Sprintf("%s/entries=%d", loop.action, n), func(b *testing.B) {
				var total float64
				for b.Loop() {
					cmd := exec.Command(os.Args[0], "-test.run=^$", loop.arg)
					cmd.Env = append(os.Environ(), "VIGIL_TEST_HELPER="+loop.action)
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("%s: %v", loop.action, err)
					}
					var res helperResult
					json.Unmarshal(out, &res)
					ns, _ := strconv.ParseFloat(res.Detail, 64)
					total += ns
				}
				b.ReportMetric(total/float64(b.N), "cpu-ns/iter")
			})
		}
	}
}

// Container scope in the kernel: a process in a new PID namespace (as in
// a container) that executes the binary is killed; the same exec on the
// host is not.
func TestPolicyScope(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	dir := tempDir(t)
	bin := filepath.Join(dir, "scoped-true")
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	var pol plan.Policy
	pol.Types[0] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolScope}, {Class: plan.PolExe, Paths: []plan.PathRule{{Path: bin, Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("not in containers", "kill", true, 0, 1)},
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bin).Run(); err != nil {
		t.Errorf("on the host: %v", err)
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("in a new PID namespace: %v, want killed", err)
	}
}

// A deny with "fallback: kill" denies where the kernel can (BPF LSM) and
// kills where it cannot; an allow-listed executable is spared either way.
func TestPolicyFallbackAndAllow(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	dir := tempDir(t)
	forbidden := filepath.Join(dir, "forbidden")
	os.WriteFile(forbidden, []byte("x"), 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var pol plan.Policy
	pol.Types[1] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolFile, Paths: []plan.PathRule{{Path: forbidden, Exact: true}}}},
		Conjs: []plan.PolicyConj{{Rule: "no forbidden open", Action: "deny", Enforce: true, Fallback: "kill", Atoms: []int{0}}},
	}
	open := func() error {
		h := helper(t, "wait-open", forbidden)
		stdin, _ := h.StdinPipe()
		h.Stderr = nil
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		stdin.Write([]byte("\n"))
		return h.Wait()
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	err = open()
	var ee *exec.ExitError
	switch {
	case !errors.As(err, &ee):
		t.Fatalf("open of the forbidden file: %v", err)
	case c.probes.Mechanisms().LSM && ee.ExitCode() != 2: // the helper reports the failed open
		t.Errorf("with BPF LSM: %v, want the open denied", err)
	case !c.probes.Mechanisms().LSM && ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL:
		t.Errorf("without BPF LSM: %v, want killed (fallback)", err)
	}
	// The helpers run this test binary: allow it.
	pol.Allow = []string{self}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	if err := open(); err != nil {
		t.Errorf("allow-listed %s: %v", self, err)
	}
}
