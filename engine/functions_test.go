package engine

import "testing"

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"/etc/*.conf", "/etc/a.conf", true},
		{"/etc/*.conf", "/etc/sub/a.conf", true}, // * crosses /
		{"/etc/*.conf", "/etc/a.confx", false},
		{"*", "", true},
		{"?", "", false},
		{"a?c", "abc", true},
		{"[abc]x", "bx", true},
		{"[!abc]x", "bx", false},
		{"[a-c]x", "cx", true},
		{"[a-c]x", "dx", false},
		{`\*x`, "*x", true},
		{`\*x`, "ax", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxcxxb", false},
		{"[", "[", false}, // never closed: matches nothing (refused at load)
		{`\[`, "[", true},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[a-c-]", "-", true},
		{"x\\", "x\\", false}, // a trailing \ quotes nothing
		{"/tmp/*/run/*", "/tmp/x/run/y", true},
	}
	for _, c := range cases {
		if got := glob(c.pattern, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestGlobError(t *testing.T) {
	cases := map[string]string{
		"/etc/*.conf": "", `\[x`: "", "[]]": "", "[!]]": "", "[a-c-]": "", "[a-a]": "",
		"/etc/[abc":  "the [ at byte 6 opens a class that is never closed (write \\[ for a [)",
		"[]":         "the [ at byte 1 opens a class that is never closed (write \\[ for a [)",
		"a[!]":       "the [ at byte 2 opens a class that is never closed (write \\[ for a [)",
		"[a-c][z-a]": "the range z-a in the class at byte 6 is empty",
		`/etc/\`:     `it ends in \, which quotes nothing (write \\ for a \)`,
	}
	for p, want := range cases {
		if got := globError(p); got != want {
			t.Errorf("globError(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestUnderInCidr(t *testing.T) {
	under := []struct {
		p, d string
		want bool
	}{
		{"/etc/ssh/x", "/etc", true}, {"/etc", "/etc", true}, {"/etc", "/etc/", true}, {"/etcx", "/etc", false},
		{"/x", "/", true}, {"etc/x", "/etc", false},
	}
	for _, c := range under {
		if got := underDir(c.p, c.d); got != c.want {
			t.Errorf("under(%q, %q) = %v", c.p, c.d, got)
		}
	}
	cidr := []struct {
		ip, c string
		want  bool
	}{
		{"10.1.2.3", "10.0.0.0/8", true}, {"11.1.2.3", "10.0.0.0/8", false}, {"::ffff:10.1.2.3", "10.0.0.0/8", true},
		{"fd00::1", "fd00::/8", true}, {"fe80::1", "fd00::/8", false}, {"1.2.3.4", "1.2.3.4", true},
		{"", "10.0.0.0/8", false}, {"x", "10.0.0.0/8", false}, {"10.0.0.1", "bogus", false},
	}
	for _, c := range cidr {
		if got := inCidr(c.ip, c.c); got != c.want {
			t.Errorf("inCidr(%q, %q) = %v", c.ip, c.c, got)
		}
	}
}

// The functions through CEL, as rule authors write them.
func TestFunctionsInRules(t *testing.T) {
	conds := map[string]bool{
		`file.path.glob("/etc/*.conf")`:                                   true,
		`basename(file.path) == "a.conf" && dirname(file.path) == "/etc"`: true,
		`proc.name.equalsIgnoreCase("CAT")`:                               true,
		`proc.name.upperAscii() == "CAT"`:                                 true,
		`file.path.startsWithAny(["/usr", "/etc/"])`:                      true,
		`file.path.endsWithAny([".conf"])`:                                true,
		`file.path.containsAny(["a.c"])`:                                  true,
		`file.path.under("/etc")`:                                         true,
		`file.path.underAny(["/usr", "/var"])`:                            false,
		`"10.0.0.1".inCidr("10.0.0.0/8")`:                                 true,
		`"10.0.0.1".inCidrs(["192.168.0.0/16", "fd00::/8"])`:              false,
	}
	for cond, want := range conds {
		rs := mustCompile(t, "- rule: R\n  desc: d\n  condition: 'evt.type == \"open\" && ("+cond+")'\n  output: o\n  priority: info\n")
		got := len(fired(rs, ev(t, map[string]any{"evt.type": "open", "file.path": "/etc/a.conf", "proc.name": "cat"}))) == 1
		if got != want {
			t.Errorf("%s = %v, want %v", cond, got, want)
		}
	}
}
