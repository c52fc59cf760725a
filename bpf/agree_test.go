package bpf

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// The kernel and the CEL condition agree on real events: deny and kill
// rules compiled by the engine, installed in the kernel, then a table of
// connects and execs performed for real; for each, the rule the kernel's
// record names must be the rule CEL fires on the same event.
func TestPolicyKernelAgreesWithCEL(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	p4 := listen(t, "tcp4", "127.0.0.1:0")
	src := fmt.Sprintf(`
- macro: loopback_v4
  condition: evt.type == "connect" && net.family == "ipv4" && net.dip.inCidr("127.0.0.0/29")
- rule: Deny loopback high port
  desc: d
  condition: loopback_v4 && net.dport >= %d && net.dport <= %d && !(net.dip == "127.0.0.3")
  output: o
  priority: critical
  action: deny
- rule: Audit sh
  desc: d
  condition: evt.type == "exec" && (proc.name == "sh" || proc.exe.startsWith("/usr/bin/sh")) && user.uid == 0
  output: o
  priority: notice
  action: kill
  enforce: false
`, p4, p4)
	set, err := rules.LoadSources(rules.Source{Name: "agree.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := engine.NewCompiler(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := comp.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rs.Policy(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	check := func(what string, ev *event.Event) {
		t.Helper()
		var fired []string
		for _, a := range engine.NewMatcher().Match(rs, ev, nil) {
			fired = append(fired, a.Rule)
		}
		kernel := ev.Enforcement.Rule
		if (len(fired) == 1) != (kernel != "") || len(fired) == 1 && fired[0] != kernel {
			t.Errorf("%s: CEL fired %v, the kernel decided %q (%s)", what, fired, kernel, ev.Enforcement.Action)
		}
	}
	for _, addr := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.9"} {
		for _, port := range []uint16{p4, p4 - 1, p4 + 1} {
			target := fmt.Sprintf("%s:%d", addr, port)
			_, pid := connectAs(t, target)
			ev := c.waitFor(t, "connect "+target, func(e *event.Event) bool {
				return e.Type == event.TypeConnect && e.Proc.PID == uint32(pid)
			})
			check("connect "+target, ev)
		}
	}
	for _, tc := range []struct {
		cmd  []string
		cred *syscall.Credential
	}{
		{[]string{"/bin/sh", "-c", "exit 0"}, nil},
		{[]string{"/bin/sh", "-c", "exit 0"}, &syscall.Credential{Uid: 65534, Gid: 65534}},
		{[]string{"/bin/true"}, nil},
	} {
		cmd := exec.Command(tc.cmd[0], tc.cmd[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tc.cred}
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v", tc.cmd, err)
		}
		ev := c.waitFor(t, fmt.Sprint(tc.cmd), execOf(cmd.Process.Pid))
		check(fmt.Sprintf("exec %v as %v", tc.cmd, tc.cred), ev)
	}
}
