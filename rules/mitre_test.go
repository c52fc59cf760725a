package rules

import (
	"strings"
	"testing"
)

// Every technique the built-in rules name has its ATT&CK name (and, for a
// sub-technique, its parent's), so `vigil rules list --mitre` names them.
func TestBuiltinTechniquesNamed(t *testing.T) {
	set, err := Load(Builtin)
	if err != nil {
		t.Fatal(err)
	}
	var rs []TaggedRule
	for _, r := range set.Rules {
		rs = append(rs, TaggedRule{Name: r.Name, Tags: r.Tags})
	}
	cov := CoverageOf(rs)
	if len(cov) < 50 {
		t.Errorf("the built-in rules name %d techniques, want at least 50", len(cov))
	}
	for _, c := range cov {
		if c.Name == "" {
			t.Errorf("technique %s (rules %q) has no name in the table", c.ID, c.Rules)
		}
		if parent, _, ok := strings.Cut(c.ID, "."); ok && techniques[parent] == "" {
			t.Errorf("technique %s: no parent %s", c.ID, parent)
		}
		if len(c.Tactics) == 0 {
			t.Errorf("technique %s: its rules %q tag no tactic (mitre_*)", c.ID, c.Rules)
		}
	}
}

func TestCoverageOf(t *testing.T) {
	got := CoverageOf([]TaggedRule{
		{Name: "A", Tags: []string{"host", "mitre_execution", "T1059.004"}},
		{Name: "B", Tags: []string{"mitre_persistence", "T1059.004", "T1053.003", "T99"}},
	})
	if len(got) != 2 || got[0].ID != "T1053.003" || got[1].ID != "T1059.004" {
		t.Fatalf("coverage %+v", got)
	}
	if c := got[1]; c.Name != "Command and Scripting Interpreter: Unix Shell" || strings.Join(c.Tactics, ",") != "execution,persistence" || strings.Join(c.Rules, ",") != "A,B" {
		t.Errorf("T1059.004: %+v", c)
	}
	if n, ok := TechniqueName("T1053.003"); !ok || n != "Scheduled Task/Job: Cron" {
		t.Errorf("T1053.003: %q %v", n, ok)
	}
	if _, ok := TechniqueName("T0000"); ok {
		t.Error("T0000 has a name")
	}
}
