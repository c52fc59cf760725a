package engine

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/internal/dnsnames"
	"github.com/vigil-project/vigil/rules"
)

// zone is a Names with fixed answers.
type zone map[string][]string

func (z zone) Resolves(name string, ip netip.Addr) bool {
	return slices.Contains(z[name], ip.String())
}

func compileNames(t *testing.T, names Names, src string) (*Ruleset, error) {
	t.Helper()
	set, err := rules.LoadSources(rules.Source{Name: "a.yaml", Data: []byte(src)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c, err := NewCompiler(Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if names != nil {
		if c, err = c.WithNames(names); err != nil {
			t.Fatal(err)
		}
	}
	return c.Compile(set)
}

const dnsRules = `
- list: miner_domains
  items: [pool.a.test, pool.b.test]
- macro: miner_dest
  condition: net.dip.resolvesToAny(miner_domains)
- rule: API server
  desc: d
  condition: evt.type == "connect" && net.dip.resolvesTo("kubernetes.default.svc.cluster.local")
  output: o
  priority: notice
- rule: Miner
  desc: d
  condition: evt.type == "connect" && net.dport == 3333 && miner_dest
  output: o
  priority: critical
- rule: Inbound
  desc: d
  condition: evt.type == "accept" && !net.sip.resolvesToAny(["trusted.example.test", "10.9.9.9"])
  output: o
  priority: warning
  exceptions:
    - name: partner
      condition: net.sip.resolvesTo("Partner.Example.Test") && proc.name in ["gateway"]
- rule: Off
  desc: d
  condition: evt.type == "connect" && net.dip.resolvesTo("disabled.test")
  output: o
  priority: info
  enabled: false
`

func TestResolvesTo(t *testing.T) {
	z := zone{
		"kubernetes.default.svc.cluster.local": {"10.96.0.1"},
		"pool.b.test":                          {"192.0.2.7", "2001:db8::7"},
		"trusted.example.test":                 {"10.1.1.1"},
		"10.9.9.9":                             {"10.9.9.9"},
		"Partner.Example.Test":                 {"203.0.113.9"},
	}
	rs, err := compileNames(t, z, dnsRules)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.9.9.9", "Partner.Example.Test", "kubernetes.default.svc.cluster.local", "pool.a.test", "pool.b.test", "trusted.example.test"}
	if got := rs.DNSNames(); !slices.Equal(got, want) {
		t.Errorf("DNSNames = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"evt.type": "connect", "net.dip": "10.96.0.1", "net.dport": 443}, "API server"},
		{map[string]any{"evt.type": "connect", "net.dip": "10.96.0.2", "net.dport": 443}, ""},
		{map[string]any{"evt.type": "connect", "net.dip": "192.0.2.7", "net.dport": 3333}, "Miner"},
		{map[string]any{"evt.type": "connect", "net.dip": "2001:db8::7", "net.dport": 3333}, "Miner"},
		{map[string]any{"evt.type": "connect", "net.dip": "192.0.2.7", "net.dport": 80}, ""},
		{map[string]any{"evt.type": "connect", "net.family": "unix", "net.path": "/run/x.sock"}, ""}, // no address
		{map[string]any{"evt.type": "accept", "net.sip": "10.1.1.1"}, ""},
		{map[string]any{"evt.type": "accept", "net.sip": "10.9.9.9"}, ""},
		{map[string]any{"evt.type": "accept", "net.sip": "203.0.113.5"}, "Inbound"},
		{map[string]any{"evt.type": "accept", "net.sip": "203.0.113.9", "proc.name": "gateway"}, ""}, // the exception
		{map[string]any{"evt.type": "accept", "net.sip": "203.0.113.9", "proc.name": "nc"}, "Inbound"},
	} {
		if got := strings.Join(fired(rs, ev(t, tt.fields)), ","); got != tt.want {
			t.Errorf("%v: fired %q, want %q", tt.fields, got, tt.want)
		}
	}

	// Without names, no name resolves to anything.
	rs, err = compileNames(t, nil, dnsRules)
	if err != nil {
		t.Fatal(err)
	}
	if got := fired(rs, ev(t, map[string]any{"evt.type": "connect", "net.dip": "10.96.0.1"})); len(got) != 0 {
		t.Errorf("fired %q with no names", got)
	}
}

// The names must be constants, and DNS names, or the rule does not load.
func TestResolvesToErrors(t *testing.T) {
	rule := func(cond string) string {
		return "- rule: R\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: info\n"
	}
	for _, tt := range []struct{ cond, want string }{
		{`evt.type == "connect" && net.dip.resolvesTo(proc.name)`,
			`a.yaml:3:62: rule "R": resolvesTo takes its DNS names as constants (a string), not a field or an expression: vigil resolves them ahead of the events, when the rules load (LOAD_CONDITION)`},
		{`evt.type == "connect" && net.dip.resolvesToAny(proc.args)`,
			`a.yaml:3:65: rule "R": resolvesToAny takes its DNS names as constants (a list literal or a named list), not a field or an expression: vigil resolves them ahead of the events, when the rules load (LOAD_CONDITION)`},
		{`evt.type == "connect" && net.dip.resolvesToAny(["a.test", proc.name])`,
			`a.yaml:3:76: rule "R": resolvesToAny takes its DNS names as constants (string literals), not a field or an expression: vigil resolves them ahead of the events, when the rules load (LOAD_CONDITION)`},
		{`evt.type == "connect" && net.dip.resolvesTo("api server.test")`,
			`a.yaml:3:58: rule "R": "api server.test" is not a DNS name: label 1 has the byte ' ' (LOAD_CONDITION)`},
		{`evt.type == "connect" && net.dip.resolvesToAny(["ok.test", "a..test"])`,
			`a.yaml:3:73: rule "R": "a..test" is not a DNS name: label 2 is empty (LOAD_CONDITION)`},
		{`evt.type == "connect" && net.dip.resolvesTo("")`,
			`a.yaml:3:58: rule "R": "" is not a DNS name: it is empty (LOAD_CONDITION)`},
	} {
		_, err := compileNames(t, nil, rule(tt.cond))
		if err == nil {
			t.Errorf("%s: compiled", tt.cond)
			continue
		}
		// The message's first line; a caret under the position follows.
		if got, _, _ := strings.Cut(err.Error(), "\n"); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.cond, got, tt.want)
		}
	}
}

func TestDNSNameError(t *testing.T) {
	for s, want := range map[string]string{
		"kubernetes.default.svc.cluster.local.": "",
		"_srv._tcp.example.test":                "",
		"fd00::1":                               "",
		"localhost":                             "",
		".":                                     "it is empty",
		"a." + strings.Repeat("b", 64):          "label 2 is 64 bytes long, over 63",
		strings.Repeat("a.", 127) + "bc":        "it is 256 bytes long, over 253",
		"a/b":                                   "label 1 has the byte '/'",
	} {
		if got := dnsNameError(s); got != want {
			t.Errorf("dnsNameError(%q) = %q, want %q", s, got, want)
		}
	}
}

// With a dnsnames.Cache on the host's resolver (the hosts file answers
// localhost), the names a rule set gives are resolved and match.
func TestResolvesToCache(t *testing.T) {
	cache := dnsnames.New(dnsnames.Options{Refresh: time.Hour})
	defer cache.Close()
	rs, err := compileNames(t, cache, `
- rule: Loopback by name
  desc: d
  condition: evt.type == "connect" && net.dip.resolvesTo("localhost")
  output: o
  priority: info
`)
	if err != nil {
		t.Fatal(err)
	}
	connect := ev(t, map[string]any{"evt.type": "connect", "net.dip": "127.0.0.1"})
	if got := fired(rs, connect); len(got) != 0 {
		t.Fatalf("fired %q before the name was resolved", got)
	}
	cache.SetNames(rs.DNSNames())
	deadline := time.Now().Add(5 * time.Second)
	for len(fired(rs, connect)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("never fired; cache %+v", cache.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := fired(rs, ev(t, map[string]any{"evt.type": "connect", "net.dip": "10.0.0.1"})); len(got) != 0 {
		t.Errorf("fired %q for another address", got)
	}
}

// FuzzDNSNameError: whatever a rule writes, the check answers without
// panicking, and what it accepts is an address or a name of at most 253
// bytes of letters, digits, '-', '_' and dots.
func FuzzDNSNameError(f *testing.F) {
	for _, s := range []string{"kubernetes.default.svc.cluster.local.", "a..b", "fd00::1", "", "x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dnsNameError(s) != "" {
			return
		}
		if _, err := netip.ParseAddr(s); err == nil {
			return
		}
		if len(strings.TrimSuffix(s, ".")) > 253 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			t.Fatalf("accepted %q", s)
		}
	})
}
