package engine

import (
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// constRule is a rule whose condition starts at a.yaml:3:15.
func constRule(cond string) string {
	return "- rule: R\n  desc: d\n  condition: '" + cond + "'\n  output: o\n  priority: info\n"
}

// Every constant argument that can never match is an error at the
// constant, with its line and column.
func TestConstantErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // the first line of each error
	}{
		{"cidr prefix length", constRule(`evt.type == "connect" && net.dip.inCidr("10.0.0.0/99")`),
			[]string{`a.yaml:3:55: rule "R": inCidr: "10.0.0.0/99" is not an IP address or prefix (prefix length out of range) (LOAD_BAD_CONSTANT)`}},
		{"cidr not an address", constRule(`evt.type == "connect" && net.dip.inCidr("not-an-ip")`),
			[]string{`a.yaml:3:55: rule "R": inCidr: "not-an-ip" is not an IP address or prefix (unable to parse IP) (LOAD_BAD_CONSTANT)`}},
		{"cidrs literal item", constRule(`evt.type == "connect" && net.dip.inCidrs(["10.0.0.0/8", "bogus"])`),
			[]string{`a.yaml:3:71: rule "R": inCidrs: "bogus" is not an IP address or prefix (unable to parse IP) (LOAD_BAD_CONSTANT)`}},
		{"cidrs list item", "- list: nets\n  items: [10.0.0.0/8, 10.0.0.0/x]\n" + constRule(`evt.type == "connect" && net.dip.inCidrs(nets)`),
			[]string{`a.yaml:1:9: list "nets": inCidrs: item "10.0.0.0/x" is not an IP address or prefix (bad bits after slash: "x") (used by rule "R" at a.yaml:5:56) (LOAD_BAD_CONSTANT)`}},
		{"glob class never closed", constRule(`evt.type == "open" && file.path.glob("/etc/[abc")`),
			[]string{`a.yaml:3:52: rule "R": glob: "/etc/[abc" is not a valid glob pattern: the [ at byte 6 opens a class that is never closed (write \[ for a [) (LOAD_BAD_CONSTANT)`}},
		{"glob empty range", constRule(`evt.type == "open" && file.path.glob("/etc/[z-a]*")`),
			[]string{`a.yaml:3:52: rule "R": glob: "/etc/[z-a]*" is not a valid glob pattern: the range z-a in the class at byte 6 is empty (LOAD_BAD_CONSTANT)`}},
		{"regex member", constRule(`evt.type == "open" && file.path.matches("^/etc/(a|b")`),
			[]string{`a.yaml:3:55: rule "R": matches: "^/etc/(a|b" is not a valid regular expression (RE2): missing closing ) (LOAD_BAD_CONSTANT)`}},
		{"regex global", constRule(`evt.type == "open" && matches(file.path, "[abc")`),
			[]string{`a.yaml:3:56: rule "R": matches: "[abc" is not a valid regular expression (RE2): missing closing ] (LOAD_BAD_CONSTANT)`}},
		{"regex not RE2", constRule(`evt.type == "open" && file.path.matches("(?<=a)b")`),
			[]string{`a.yaml:3:55: rule "R": matches: "(?<=a)b" is not a valid regular expression (RE2): invalid named capture (LOAD_BAD_CONSTANT)`}},
		{"ip not an address", constRule(`evt.type == "connect" && net.dip == "1.2.3.999"`),
			[]string{`a.yaml:3:51: rule "R": net.dip is compared with "1.2.3.999", which is not an IP address (IPv4 field has value >255) (LOAD_BAD_CONSTANT)`}},
		{"ip left of ==, !=", constRule(`evt.type == "connect" && "10.0.0.256" != net.sip`),
			[]string{`a.yaml:3:40: rule "R": net.sip is compared with "10.0.0.256", which is not an IP address (IPv4 field has value >255) (LOAD_BAD_CONSTANT)`}},
		{"ip not as rendered", constRule(`evt.type == "connect" && net.dip in ["", "fd00:0::1"]`),
			[]string{`a.yaml:3:56: rule "R": net.dip is compared with "fd00:0::1", which it never equals: it is written "fd00::1" (LOAD_BAD_CONSTANT)`}},
		{"ip list item", "- list: hosts\n  items: [10.0.0.1, 10.0.0.01]\n" + constRule(`evt.type == "connect" && net.dip in hosts`),
			[]string{`a.yaml:1:9: list "hosts": net.dip is compared with item "10.0.0.01", which is not an IP address (IPv4 field has octet with leading zero) (used by rule "R" at a.yaml:5:51) (LOAD_BAD_CONSTANT)`}},
		{"port over 65535", constRule(`evt.type == "connect" && net.dport == 70000`),
			[]string{`a.yaml:3:53: rule "R": net.dport is compared with 70000, a value it never holds (port 70000 out of range) (LOAD_BAD_CONSTANT)`}},
		{"port in list, ordered", constRule(`evt.type == "connect" && (net.dport in [80, -1] || net.sport > 70000)`),
			[]string{
				`a.yaml:3:59: rule "R": net.dport is compared with -1, a value it never holds (port -1 out of range) (LOAD_BAD_CONSTANT)`,
				`a.yaml:3:78: rule "R": net.sport is compared with 70000, a value it never holds (port 70000 out of range) (LOAD_BAD_CONSTANT)`,
			}},
		{"uid negative", constRule(`evt.type == "exec" && proc.uid == -1`),
			[]string{`a.yaml:3:49: rule "R": proc.uid is compared with -1, a value it never holds (-1 out of range) (LOAD_BAD_CONSTANT)`}},
		{"enum typo", constRule(`evt.type == "ptrace" && ptrace.request == "PTRACE_ATACH"`),
			[]string{`a.yaml:3:57: rule "R": ptrace.request is compared with "PTRACE_ATACH", which is not one of its values (did you mean PTRACE_ATTACH?) (LOAD_BAD_CONSTANT)`}},
		{"enum case", constRule(`evt.type == "exec" && "cap_sys_admin" in proc.cap_effective`),
			[]string{`a.yaml:3:37: rule "R": proc.cap_effective is compared with "cap_sys_admin", which is not one of its values (did you mean CAP_SYS_ADMIN?) (LOAD_BAD_CONSTANT)`}},
		{"enum number of a named value", constRule(`evt.type == "exec" && "CAP_21" in proc.cap_effective`),
			[]string{`a.yaml:3:37: rule "R": proc.cap_effective is compared with "CAP_21", which is not one of its values (it is written CAP_SYS_ADMIN) (LOAD_BAD_CONSTANT)`}},
		{"enum few values listed", constRule(`evt.type == "setns" && "network" in ns.types`),
			[]string{`a.yaml:3:38: rule "R": ns.types is compared with "network", which is not one of its values (cgroup, ipc, mnt, net, pid, time, user, uts) (LOAD_BAD_CONSTANT)`}},
		{"enum list literal", constRule(`evt.type == "bpf" && bpf.prog_type in ["", "kprobe", "xdpp"]`),
			[]string{`a.yaml:3:68: rule "R": bpf.prog_type is compared with "xdpp", which is not one of its values (did you mean xdp?) (LOAD_BAD_CONSTANT)`}},
		{"enum many values", constRule(`evt.type == "bpf" && bpf.cmd != "LOAD"`),
			[]string{"a.yaml:3:47: rule \"R\": bpf.cmd is compared with \"LOAD\", which is not one of its values (`vigil rules fields` lists them) (LOAD_BAD_CONSTANT)"}},
		{"event type in a macro", "- macro: m\n  condition: evt.type in [\"open\", \"opn\"]\n" + constRule(`m`),
			[]string{`a.yaml:2:35: macro "m": evt.type is compared with "opn", which is not an event type (` + typeList(event.AllTypes) + `) (LOAD_BAD_EVTTYPE)`}},
		{"event type in a list", "- list: ts\n  items: [open, exce]\n" + constRule(`evt.type in ts`),
			[]string{`a.yaml:1:9: list "ts": evt.type is compared with item "exce", which is not an event type (` + typeList(event.AllTypes) + `) (used by rule "R" at a.yaml:5:27) (LOAD_BAD_EVTTYPE)`}},
		{"in an exception", "- rule: R\n  desc: d\n  condition: evt.type == \"open\"\n  output: o\n  priority: info\n  exceptions:\n    - name: e\n      condition: file.path.glob(\"[\")\n",
			[]string{`a.yaml:8:33: rule "R" exception "e": glob: "[" is not a valid glob pattern: the [ at byte 1 opens a class that is never closed (write \[ for a [) (LOAD_BAD_CONSTANT)`}},
		{"in list of another type", constRule(`evt.type == "exec" && proc.uid in [0, 1.0, 2u, "root"]`),
			[]string{`a.yaml:3:62: rule "R": in compares int with this string, which are never equal (LOAD_BAD_CONSTANT)`}},
		{"in list of lists", "- list: l0\n  items: [a]\n" + constRule(`evt.type in [[1, 2], l0]`),
			[]string{
				`a.yaml:5:28: rule "R": in compares string with this list(int), which are never equal (LOAD_BAD_CONSTANT)`,
				`a.yaml:5:36: rule "R": in compares string with this list(string), which are never equal (LOAD_BAD_CONSTANT)`,
			}},
		{"constant that fails", constRule(`evt.type == "open" && evt.time > timestamp("2024-13-01")`),
			[]string{`a.yaml:3:48: rule "R": this constant expression fails on every event: invalid RFC 3339 timestamp "2024-13-01" (LOAD_BAD_CONSTANT)`}},
		{"constant conversion", constRule(`evt.type == "open" && proc.uid == int("abc")`),
			[]string{`a.yaml:3:49: rule "R": this constant expression fails on every event: type conversion error from 'string' to 'int' (LOAD_BAD_CONSTANT)`}},
		{"constant division", constRule(`evt.type == "open" && (proc.name == "x" || proc.uid == 1 / 0)`),
			[]string{`a.yaml:3:70: rule "R": this constant expression fails on every event: division by zero (LOAD_BAD_CONSTANT)`}},
		{"constant index", constRule(`evt.type == "open" && proc.name == ["a", "b"][2]`),
			[]string{`a.yaml:3:50: rule "R": this constant expression fails on every event: index out of bounds: 2 (LOAD_BAD_CONSTANT)`}},
	}
	for _, c := range cases {
		_, err := compile(t, c.src)
		if err == nil {
			t.Errorf("%s: compiled", c.name)
			continue
		}
		var got []string
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.HasPrefix(line, "a.yaml:") {
				got = append(got, line)
			}
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", c.name, strings.Join(got, "\n     "), strings.Join(c.want, "\n     "))
		}
	}
}

// What the checks accept still compiles, and matches.
func TestConstantsAccepted(t *testing.T) {
	conds := []struct {
		cond   string
		fields map[string]any
	}{
		{`evt.type == "connect" && net.dip.inCidrs(["10.0.0.0/8", "fd00::/8", "192.168.1.1"])`, map[string]any{"evt.type": "connect", "net.dip": "10.1.2.3"}},
		{`evt.type == "connect" && net.dip.inCidr("10.0.0.1/8")`, map[string]any{"evt.type": "connect", "net.dip": "10.1.2.3"}},
		{`evt.type == "connect" && net.dip in ["", "::ffff:10.0.0.1", "fd00::1"] && net.dport in [0, 65535]`, map[string]any{"evt.type": "connect", "net.dip": "fd00::1", "net.dport": 65535}},
		{`evt.type == "connect" && net.dport >= 0 && net.dport <= 65535 && net.sip == ""`, map[string]any{"evt.type": "connect"}},
		{`evt.type == "open" && file.path.glob("/etc/[!a-c]*\\[x") && file.path.matches("^/etc/(d|e)")`, map[string]any{"evt.type": "open", "file.path": "/etc/d[x"}},
		{`evt.type == "exec" && "CAP_SYS_ADMIN" in proc.cap_effective && !("CAP_41" in proc.cap_effective)`, map[string]any{"evt.type": "exec", "proc.cap_effective": []any{"CAP_SYS_ADMIN"}}},
		{`evt.type == "bpf" && bpf.cmd == "BPF_PROG_LOAD" && bpf.prog_type in ["kprobe", "prog_type_99"] && bpf.map_type == ""`, map[string]any{"evt.type": "bpf", "bpf.prog_type": "kprobe"}},
		{`evt.type == "ptrace" && ptrace.request in ["PTRACE_ATTACH", "PTRACE_SEIZE"]`, map[string]any{"evt.type": "ptrace", "ptrace.request": "PTRACE_SEIZE"}},
		{`evt.type == "setuid" && setid.real == -1 && proc.loginuid == -1`, map[string]any{"evt.type": "setuid"}},
		{`evt.type == "open" && evt.time > timestamp("2020-01-01T00:00:00Z") + duration("1h") && proc.uid == int("0")`, map[string]any{"evt.type": "open", "evt.time": "2025-01-01T00:00:00Z"}},
	}
	for _, c := range conds {
		rs, err := compile(t, constRule(c.cond))
		if err != nil {
			t.Errorf("%s:\n%v", c.cond, err)
			continue
		}
		if got := fired(rs, ev(t, c.fields)); len(got) != 1 {
			t.Errorf("%s: did not match %v", c.cond, c.fields)
		}
	}
}
