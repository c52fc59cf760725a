package config

import (
	"reflect"
	"testing"

	"github.com/vigil-project/vigil/engine"
)

// falco_rules is read; each flag given replaces its own key only.
func TestRulePaths(t *testing.T) {
	cfg, err := Parse("vigil.yaml", []byte("rules: [builtin, /etc/vigil/rules.d]\nfalco_rules: [/etc/falco/falco_rules.yaml]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rules, falco []string
		want         engine.Paths
	}{
		{nil, nil, engine.Paths{Rules: []string{"builtin", "/etc/vigil/rules.d"}, Falco: []string{"/etc/falco/falco_rules.yaml"}}},
		{[]string{"a.yaml"}, nil, engine.Paths{Rules: []string{"a.yaml"}, Falco: []string{"/etc/falco/falco_rules.yaml"}}},
		{nil, []string{"f.yaml"}, engine.Paths{Rules: []string{"builtin", "/etc/vigil/rules.d"}, Falco: []string{"f.yaml"}}},
	} {
		if got := cfg.RulePaths(c.rules, c.falco); !reflect.DeepEqual(got, c.want) {
			t.Errorf("RulePaths(%v, %v) = %+v, want %+v", c.rules, c.falco, got, c.want)
		}
	}
	if _, err := Parse("vigil.yaml", []byte("falco_rules: /etc/falco\n")); err == nil {
		t.Error("falco_rules as a string: no error")
	}
}

func TestRuleMatching(t *testing.T) {
	for _, v := range []string{"", "all", "first"} {
		if _, err := Parse("vigil.yaml", []byte("rule_matching: \""+v+"\"\n")); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	_, err := Parse("vigil.yaml", []byte("rule_matching: some\n"))
	if want := `vigil.yaml:1:16: rule_matching "some": want all or first`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
