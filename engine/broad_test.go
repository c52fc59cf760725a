package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/rules"
)

// reachRule is a one-rule file: cond is the condition, extra more keys.
func reachRule(action, cond, extra string) string {
	return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: critical\n  action: " + action + "\n" + extra
}

// firstLines are the errors' first lines (without the snippets).
func firstLines(err error) []string {
	var errs rules.Errors
	if !errors.As(err, &errs) {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range errs {
		out = append(out, strings.SplitN(e.Error(), "\n", 2)[0])
	}
	return out
}

const (
	broadAdvice = ": it names no program (proc.exe, proc.name), file (file.path outside the system directories /, /usr, /etc, ...) or destination (net.dip, net.dport) to act on; narrow the condition, or add \"i_understand: broad\" to the rule to load it as it is (LOAD_POLICY_BROAD)"
	allNames    = `"vigil", "systemd", "init", "containerd", "containerd-shim", "dockerd", "runc", "crun", "crio", "conmon", "sshd", "sshd-session", "sshd-auth"`
	allProcs    = "vigil (/usr/local/bin/vigil), PID 1 (/usr/lib/systemd/systemd), containerd (/usr/bin/containerd), containerd-shim (/usr/bin/containerd-shim), dockerd (/usr/bin/dockerd), runc (/usr/bin/runc), crun (/usr/bin/crun), cri-o (/usr/bin/crio), conmon (/usr/bin/conmon), sshd (/usr/sbin/sshd)"
)

func protectedMsg(action, procs, how, names string) string {
	return `a.yaml:3:14: rule "R": action ` + action + " would act on processes vigil protects: " + procs + " (" + how +
		"); exclude them (for instance with an exception whose condition is proc.name in [" + names + "]), or add \"i_understand: protected\" to the rule (LOAD_POLICY_PROTECTED)"
}

// Enforcement rules that would act on most of the system are refused, with
// the alternative that does and the key that acknowledges it.
func TestReachBroad(t *testing.T) {
	cases := []struct {
		name, action, cond, extra string
		want                      []string
	}{
		{"every exec", "kill", `evt.type == "exec"`, "", []string{
			`a.yaml:3:14: rule "R": action kill would act on every exec event (nothing but evt.type is tested)` + broadAdvice,
			protectedMsg("kill", allProcs, "on every exec event", allNames)}},
		{"every open, under /", "kill", `evt.type == "open" && file.path.startsWith("/")`, "", []string{
			`a.yaml:3:14: rule "R": action kill would act on most open events (it holds whenever file.path.startsWith("/"))` + broadAdvice,
			protectedMsg("kill", allProcs, `on open events whenever file.path.startsWith("/")`, allNames)}},
		{"every connect, all ports", "deny", `evt.type == "connect" && net.dport >= 0 && net.dport <= 65535`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most connect events (it holds whenever net.dport in 0-65535 && net.dport in 0-65535)` + broadAdvice}},
		{"name exclusion only", "kill", `evt.type == "exec" && proc.name != "x"`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action kill would act on most exec events (it holds whenever proc.name != "x")` + broadAdvice}},
		{"audit only is still checked", "kill", `evt.type == "exec" && proc.name != "x"`, "  enforce: false\n  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action kill would act on most exec events (it holds whenever proc.name != "x")` + broadAdvice}},
		{"a user's opens", "deny", `evt.type == "open" && user.uid == 1000`, "  fallback: kill\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most open events (it holds whenever user.uid == 1000)` + broadAdvice}},
		{"containers' execs", "kill", `evt.type == "exec" && container.id != ""`, "", []string{
			`a.yaml:3:14: rule "R": action kill would act on most exec events (it holds whenever container.id != "")` + broadAdvice}},
		{"a system directory", "kill", `evt.type == "exec" && proc.exe.under("/usr/bin")`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action kill would act on most exec events (it holds whenever (proc.exe == "/usr/bin" || proc.exe.startsWith("/usr/bin/")))` + broadAdvice}},
		{"most ports", "deny", `evt.type == "connect" && net.dport > 1024 && net.dport != 8080`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most connect events (it holds whenever net.dport in 1025-65535 && net.dport != 8080)` + broadAdvice}},
		{"every address", "deny", `evt.type == "connect" && (net.dip.inCidr("0.0.0.0/0") || net.dip.inCidr("::/0"))`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most connect events (it holds whenever net.dip.inCidr("0.0.0.0/0"))` + broadAdvice}},
		{"every IPv4 address, mapped", "deny", `evt.type == "connect" && net.dip.inCidr("::ffff:0.0.0.0/96")`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most connect events (it holds whenever net.dip.inCidr("::ffff:0.0.0.0/96"))` + broadAdvice}},
		{"a family", "deny", `evt.type == "connect" && net.family == "ipv4"`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action deny would act on most connect events (it holds whenever net.family == "ipv4")` + broadAdvice}},
		{"one broad alternative", "kill", `(evt.type == "exec" && proc.name == "nc") || evt.type == "open"`, "  i_understand: protected\n", []string{
			`a.yaml:3:14: rule "R": action kill would act on every open event (nothing but evt.type is tested)` + broadAdvice}},
		{"protected is separate", "kill", `evt.type == "exec"`, "  i_understand: broad\n", []string{
			protectedMsg("kill", allProcs, "on every exec event", allNames)}},
	}
	for _, c := range cases {
		_, err := compile(t, reachRule(c.action, c.cond, c.extra))
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		if got := firstLines(err); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// Rules that name a protected process are refused unless they exclude it
// or say they mean it.
func TestReachProtected(t *testing.T) {
	cases := []struct {
		name, action, cond string
		want               string
	}{
		{"by name", "kill", `evt.type == "exec" && proc.name in ["sshd", "bash"]`,
			protectedMsg("kill", "sshd (/usr/sbin/sshd)", `on exec events whenever proc.name in ["sshd", "bash"]`, `"sshd"`)},
		{"by path", "kill", `evt.type == "exec" && proc.exe == "/usr/bin/containerd"`,
			protectedMsg("kill", "containerd (/usr/bin/containerd)", `on exec events whenever proc.exe == "/usr/bin/containerd"`, `"containerd"`)},
		{"the shim's comm", "kill", `evt.type == "connect" && proc.name == "containerd-shim"`,
			protectedMsg("kill", "containerd-shim (/usr/bin/containerd-shim)", `on connect events whenever proc.name == "containerd-shim"`, `"containerd-shim"`)},
		{"by prefix", "deny", `evt.type == "exec" && proc.exe.startsWith("/usr/local/bin/")`,
			protectedMsg("deny", "vigil (/usr/local/bin/vigil), containerd (/usr/local/bin/containerd), containerd-shim (/usr/local/bin/containerd-shim), dockerd (/usr/local/bin/dockerd), runc (/usr/local/bin/runc), crun (/usr/local/bin/crun), cri-o (/usr/local/bin/crio), conmon (/usr/local/bin/conmon)",
				`on exec events whenever proc.exe.startsWith("/usr/local/bin/")`, `"vigil", "containerd", "containerd-shim", "dockerd", "runc", "crun", "crio", "conmon"`)},
		{"a program and a file", "kill", `evt.type == "open" && proc.name == "runc" && file.path == "/etc/shadow"`,
			protectedMsg("kill", "runc (/usr/bin/runc)", `on open events whenever proc.name == "runc" && file.path == "/etc/shadow"`, `"runc"`)},
		{"an exclusion by one path only", "kill", `evt.type == "exec" && proc.name == "sshd" && proc.exe != "/usr/sbin/sshd"`,
			protectedMsg("kill", "sshd (/usr/local/sbin/sshd)", `on exec events whenever proc.name == "sshd" && proc.exe != "/usr/sbin/sshd"`, `"sshd"`)},
	}
	for _, c := range cases {
		_, err := compile(t, reachRule(c.action, c.cond, ""))
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		if got := firstLines(err); !slices.Equal(got, []string{c.want}) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// Targeted rules, allow-lists and acknowledged rules load.
func TestReachLoads(t *testing.T) {
	cases := []struct{ name, action, cond, extra string }{
		{"kill exec of a binary", "kill", `evt.type == "exec" && proc.exe == "/tmp/evil"`, ""},
		{"deny connect to a network and port", "deny", `evt.type == "connect" && net.dip.inCidr("203.0.113.0/24") && net.dport == 4444`, ""},
		{"deny shadow to non-root", "deny", `evt.type == "open" && file.path == "/etc/shadow" && user.uid != 0`, "  fallback: kill\n"},
		{"binaries from /tmp", "kill", `evt.type == "exec" && proc.exe.under("/tmp")`, ""},
		{"a directory below /etc", "deny", `evt.type == "open" && file.path.startsWith("/etc/ssh/") && !(proc.name in ["sshd"])`, ""},
		{"a private network", "deny", `evt.type == "connect" && container.id != "" && net.dip.inCidr("10.0.0.0/8")`, ""},
		{"a port range", "deny", `evt.type == "connect" && net.dport >= 30000 && net.dport <= 35000`, ""},
		{"below 1024", "deny", `evt.type == "connect" && !(net.dport >= 1024)`, ""},
		{"an allow-list exception", "kill", `evt.type == "exec" && proc.name in ["sshd", "bash"]`,
			"  exceptions:\n    - name: ssh\n      condition: proc.name == \"sshd\"\n"},
		{"non-root sshd", "kill", `evt.type == "connect" && proc.name == "sshd" && user.uid != 0`, ""},
		{"acknowledged", "kill", `evt.type == "exec"`, "  i_understand: [broad, protected]\n"},
		{"broad, protected excluded", "kill", `evt.type == "exec"`,
			"  i_understand: broad\n  exceptions:\n    - name: protected\n      condition: proc.name in [" + allNames + "]\n"},
		{"disabled", "kill", `evt.type == "exec"`, "  enabled: false\n"},
		{"alert", "alert", `evt.type == "exec"`, ""},
	}
	for _, c := range cases {
		if _, err := compile(t, reachRule(c.action, c.cond, c.extra)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestReachAcknowledgements(t *testing.T) {
	for _, a := range []string{ackBroad, ackProtected} {
		if !slices.Contains(rules.Acknowledgements, a) {
			t.Errorf("%q is not among rules.Acknowledgements %q", a, rules.Acknowledgements)
		}
	}
}

func TestPortSet(t *testing.T) {
	cases := []struct {
		atoms []plan.PolicyAtom
		want  int
	}{
		{nil, 65536},
		{[]plan.PolicyAtom{{Class: plan.PolDPort, Ports: [][2]uint16{{0, 65535}}}}, 65536},
		{[]plan.PolicyAtom{{Class: plan.PolDPort, Ports: [][2]uint16{{1025, 65535}}}}, 64511},
		{[]plan.PolicyAtom{{Class: plan.PolDPort, Ports: [][2]uint16{{30000, 65535}}}, {Class: plan.PolDPort, Ports: [][2]uint16{{0, 35000}}}}, 5001},
		{[]plan.PolicyAtom{{Class: plan.PolDPort, Neg: true, Ports: [][2]uint16{{1024, 65535}}}}, 1024},
		{[]plan.PolicyAtom{{Class: plan.PolDPort, Ports: [][2]uint16{{22, 22}, {63, 64}, {127, 129}}}}, 6},
	}
	for _, c := range cases {
		s := allPorts()
		for _, a := range c.atoms {
			s.restrict(a)
		}
		if got := s.count(); got != c.want {
			t.Errorf("%+v: %d ports, want %d", c.atoms, got, c.want)
		}
	}
}
