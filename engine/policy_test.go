package engine

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/plan"
)

const policyRules = `
- list: blocked_nets
  items: ["203.0.113.0/24", "2001:db8::/32"]
- list: web_servers
  items: [nginx, httpd]
- macro: outbound
  condition: evt.type == "connect" && net.family in ["ipv4", "ipv6"]
- rule: No metadata service
  desc: d
  condition: outbound && (net.dip == "169.254.169.254" || net.dip.inCidrs(blocked_nets)) && !(proc.name in ["cloud-init"])
  output: o
  priority: critical
  action: deny
- rule: No high ports from web servers
  desc: d
  condition: outbound && proc.name in web_servers && net.dport >= 1024 && net.dport != 8080
  output: o
  priority: error
  action: deny
  enforce: false
- rule: No shadow readers
  desc: d
  condition: evt.type == "open" && file.path == "/etc/shadow" && user.uid != 0
  output: o
  priority: critical
  action: kill
- rule: No curl in containers
  desc: d
  condition: evt.type == "exec" && container.id != "" && proc.name == "curl"
  output: o
  priority: critical
  action: kill
- rule: No exec from tmp
  desc: d
  condition: evt.type == "exec" && proc.exe.under("/tmp")
  output: o
  priority: critical
  action: kill
  exceptions:
    - name: builds
      condition: proc.name == "cc1"
`

func TestPolicyShape(t *testing.T) {
	rs := mustCompile(t, policyRules)
	p, err := rs.Policy(false, []string{"/usr/sbin/sshd"})
	if err != nil {
		t.Fatal(err)
	}
	connect := p.Types[2]
	// The metadata rule has two alternatives (the two dip tests), the web
	// server rule one.
	if len(connect.Conjs) != 3 {
		t.Fatalf("connect conjunctions: %+v", connect.Conjs)
	}
	got := func(c plan.PolicyConj) string {
		var parts []string
		for _, i := range c.Atoms {
			a := connect.Atoms[i]
			s := a.Class.String()
			if a.Neg {
				s = "!" + s
			}
			parts = append(parts, s)
		}
		return fmt.Sprintf("%s %s %v: %s", c.Rule, c.Action, c.Enforce, strings.Join(parts, " && "))
	}
	want := []string{
		"No metadata service deny true: net.family && net.dip && !proc.name",
		"No metadata service deny true: net.family && net.dip && !proc.name",
		"No high ports from web servers deny false: net.family && proc.name && net.dport && !net.dport",
	}
	for i, c := range connect.Conjs {
		if got(c) != want[i] {
			t.Errorf("conj %d: %s, want %s", i, got(c), want[i])
		}
	}
	if a := connect.Atoms[connect.Conjs[0].Atoms[1]]; !reflect.DeepEqual(a.Nets, []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}) {
		t.Errorf("metadata address atom: %+v", a)
	}
	if a := connect.Atoms[connect.Conjs[2].Atoms[2]]; !reflect.DeepEqual(a.Ports, [][2]uint16{{1024, 65535}}) {
		t.Errorf("port range atom: %+v", a)
	}
	open := p.Types[1]
	if len(open.Conjs) != 1 || open.Conjs[0].Action != "kill" || len(open.Atoms) != 2 || !open.Atoms[1].Neg || open.Atoms[1].Class != plan.PolUID {
		t.Errorf("open policy: %+v", open)
	}
	exec := p.Types[0]
	if len(exec.Conjs) != 2 || exec.Conjs[0].Rule != "No curl in containers" || exec.Atoms[0].Class != plan.PolScope || exec.Atoms[0].Neg {
		t.Errorf("exec policy (scope): %+v", exec)
	}
	exec.Atoms, exec.Conjs = exec.Atoms[2:], exec.Conjs[1:]
	if len(exec.Conjs) != 1 || !reflect.DeepEqual(exec.Atoms[0].Paths, []plan.PathRule{{Path: "/tmp", Exact: true}, {Path: "/tmp/"}}) ||
		exec.Atoms[1].Class != plan.PolName || !exec.Atoms[1].Neg {
		t.Errorf("exec policy (exception as a negated atom): %+v", exec)
	}
	// Global audit mode.
	p, _ = rs.Policy(true, nil)
	for _, tp := range p.Types {
		for _, c := range tp.Conjs {
			if c.Enforce {
				t.Errorf("audit mode: %s enforces", c.Rule)
			}
		}
	}
}

// The kernel's decision, modelled in Go on the compiled policy, agrees with
// the CEL condition (with exceptions) on every case.
func TestPolicyAgreesWithCEL(t *testing.T) {
	rs := mustCompile(t, policyRules)
	p, err := rs.Policy(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := func(m map[string]any) map[string]any {
		out := map[string]any{"proc.name": "curl", "proc.exe": "/usr/bin/curl", "user.uid": 1000}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	cases := []map[string]any{
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "169.254.169.254", "net.dport": 80},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "169.254.169.254", "net.dport": 80, "proc.name": "cloud-init"},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "169.254.169.253", "net.dport": 80},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "203.0.113.77", "net.dport": 443},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "203.0.114.1", "net.dport": 443},
		{"evt.type": "connect", "net.family": "ipv6", "net.dip": "2001:db8::1", "net.dport": 443},
		{"evt.type": "connect", "net.family": "ipv6", "net.dip": "2001:db9::1", "net.dport": 443},
		{"evt.type": "connect", "net.family": "ipv6", "net.dip": "::ffff:203.0.113.5", "net.dport": 443},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "10.0.0.1", "net.dport": 1023, "proc.name": "nginx"},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "10.0.0.1", "net.dport": 1024, "proc.name": "nginx"},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "10.0.0.1", "net.dport": 8080, "proc.name": "httpd"},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "10.0.0.1", "net.dport": 65535, "proc.name": "httpd"},
		{"evt.type": "connect", "net.family": "ipv4", "net.dip": "10.0.0.1", "net.dport": 9000, "proc.name": "curl"},
		{"evt.type": "open", "file.path": "/etc/shadow", "user.uid": 1000},
		{"evt.type": "open", "file.path": "/etc/shadow", "user.uid": 0},
		{"evt.type": "open", "file.path": "/etc/shadow-", "user.uid": 1000},
		{"evt.type": "exec", "proc.exe": "/tmp/x", "proc.name": "x"},
		{"evt.type": "exec", "proc.exe": "/tmp", "proc.name": "tmp"},
		{"evt.type": "exec", "proc.exe": "/tmpfoo/x", "proc.name": "x"},
		{"evt.type": "exec", "proc.exe": "/tmp/cc1", "proc.name": "cc1"},
		{"evt.type": "exec", "proc.exe": "/usr/bin/ls", "proc.name": "ls"},
		{"evt.type": "exec", "proc.exe": "/usr/bin/curl", "proc.name": "curl", "container.id": "0123456789ab"},
		{"evt.type": "exec", "proc.exe": "/usr/bin/curl", "proc.name": "curl"},
	}
	for _, c := range cases {
		e := ev(t, base(c))
		cel := fired(rs, e)
		ti := plan.PolicyTypeIndex(e.Type)
		var model []string
		if j := p.Types[ti].Match(e); j >= 0 {
			model = []string{p.Types[ti].Conjs[j].Rule}
		}
		if !reflect.DeepEqual(cel, model) {
			t.Errorf("%v: CEL fired %v, the kernel's model %v", c, cel, model)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	rule := func(action, cond string) string {
		return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: critical\n  action: " + action + "\n"
	}
	cases := []struct {
		name, src, want string
	}{
		{"cmdline", rule("deny", `evt.type == "exec" && proc.cmdline.contains("nc -e")`),
			"a.yaml:3:36: rule \"R\": action deny for exec events: `proc.cmdline.contains(\"nc -e\")` cannot run in the kernel (it can test proc.exe, proc.name, user.uid: ==, !=, in, startsWith, under, inCidr(s), port comparisons; and container.id == \"\" or != \"\") (LOAD_POLICY)"},
		{"container name", rule("deny", `evt.type == "exec" && container.id == "abc"`),
			"a.yaml:3:36: rule \"R\": action deny for exec events: `container.id == \"abc\"` cannot run in the kernel"},
		{"parent", rule("kill", `evt.type == "exec" && proc.name == "sh" && proc.pname == "nginx"`),
			"a.yaml:3:57: rule \"R\": action kill for exec events: `proc.pname == \"nginx\"` cannot run in the kernel: it can test proc.exe, proc.name, user.uid (LOAD_POLICY)"},
		{"file on connect", rule("deny", `evt.type == "connect" && net.dport == 22 && proc.exe == "/usr/bin/ssh"`),
			""},
		{"dip on open", rule("deny", `evt.type in ["open", "connect"] && net.dip == "10.0.0.1"`),
			"a.yaml:3:49: rule \"R\": action deny for open events: net.dip is not known when the kernel decides on open events (LOAD_POLICY)"},
		{"other type", rule("deny", `evt.type in ["exec", "fork"] && proc.name == "x"`),
			"a.yaml:3:14: rule \"R\": action deny needs a kernel hook, which exists for exec, open and connect only; this condition can also match fork (LOAD_POLICY_TYPE)"},
		{"relative", rule("deny", `evt.type == "open" && file.path.startsWith("etc/")`),
			"a.yaml:3:36: rule \"R\": action deny for open events: \"etc/\": the kernel matches absolute paths only (LOAD_POLICY)"},
		{"in macro", "- macro: m\n  condition: proc.args.exists(a, a == \"-x\")\n" + rule("deny", `evt.type == "exec" && m`),
			"a.yaml:2:14: rule \"R\": action deny for exec events: `proc.args.exists(a, a == \"-x\")` is not a test the kernel can make (LOAD_POLICY)"},
		{"alert is free", rule("alert", `evt.type == "exec" && proc.cmdline.contains("x")`), ""},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: compiled", c.name)
		case c.want != "" && !strings.HasPrefix(err.Error(), c.want):
			t.Errorf("%s:\n got %s\nwant %s", c.name, err, c.want)
		}
	}
}
