package engine

import (
	"reflect"
	"testing"
)

// A deny rule may compare a number field with a list of integers: the
// kernel gets the ports.
func TestPolicyIntList(t *testing.T) {
	rs := mustCompile(t, `
- list: web_ports
  items: [80, 443]
- rule: No web from curl
  desc: d
  condition: evt.type == "connect" && proc.name == "curl" && net.dport in web_ports
  output: o
  priority: warning
  action: deny
`)
	p, err := rs.Policy(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ports [][2]uint16
	for _, tp := range p.Types {
		for _, a := range tp.Atoms {
			ports = append(ports, a.Ports...)
		}
	}
	if want := [][2]uint16{{80, 80}, {443, 443}}; !reflect.DeepEqual(ports, want) {
		t.Errorf("ports %v, want %v", ports, want)
	}
}
