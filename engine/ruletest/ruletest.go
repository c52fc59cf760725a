// Package ruletest runs rule test files: YAML cases, each an event given by
// field values (or a line of `vigil events --format json`) and the rules
// that must fire and must not fire for it.
package ruletest

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// Case is one test case.
type Case struct {
	Name   string
	Pos    rules.Pos
	Event  *event.Event
	Fire   []string
	NoFire []string
}

type rawCase struct {
	Case      string         `yaml:"case"`
	Event     map[string]any `yaml:"event"`
	EventJSON string         `yaml:"event_json"`
	Fire      []string       `yaml:"fire"`
	NoFire    []string       `yaml:"no_fire"`
}

// Parse reads the cases of one test file. Errors name file:line.
func Parse(src rules.Source) ([]Case, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src.Data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d:%d: a test file is a list of cases", src.Name, seq.Line, seq.Column)
	}
	var cases []Case
	var errs []string
	for _, n := range seq.Content {
		pos := rules.Pos{File: src.Name, Line: n.Line, Col: n.Column}
		if err := knownKeys(n); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", pos, err))
			continue
		}
		var rc rawCase
		if err := n.Decode(&rc); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", pos, err))
			continue
		}
		c := Case{Name: rc.Case, Pos: pos, Fire: rc.Fire, NoFire: rc.NoFire}
		var err error
		switch {
		case rc.Case == "":
			err = fmt.Errorf("a case needs a name (case:)")
		case (rc.Event == nil) == (rc.EventJSON == ""):
			err = fmt.Errorf("give exactly one of event and event_json")
		case rc.Event != nil:
			c.Event, err = event.FromFields(rc.Event)
		default:
			c.Event, err = event.DecodeJSON([]byte(rc.EventJSON))
		}
		if err == nil && len(rc.Fire)+len(rc.NoFire) == 0 {
			err = fmt.Errorf("expects nothing (fire, no_fire)")
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: case %q: %v", pos, rc.Case, err))
			continue
		}
		cases = append(cases, c)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return cases, nil
}

func knownKeys(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("a case is a mapping")
	}
	for i := 0; i < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "case", "event", "event_json", "fire", "no_fire":
		default:
			return fmt.Errorf("line %d: unknown key %q (want case, event, event_json, fire, no_fire)", n.Content[i].Line, k)
		}
	}
	return nil
}

// Result is the outcome of one case.
type Result struct {
	Case     Case
	Fired    []string
	Failures []string
}

// Run evaluates every case against rs. A rule named in a case that rs
// does not have is a failure (a typo would otherwise pass silently).
func Run(rs *engine.Ruleset, cases []Case) []Result {
	known := map[string]bool{}
	for _, r := range rs.Rules {
		known[r.Name] = true
	}
	m := engine.NewMatcher()
	var out []Result
	for _, c := range cases {
		res := Result{Case: c}
		for _, a := range m.Match(rs, c.Event, nil) {
			res.Fired = append(res.Fired, a.Rule)
		}
		for _, name := range c.Fire {
			switch {
			case !known[name]:
				res.Failures = append(res.Failures, fmt.Sprintf("no rule named %q", name))
			case !slices.Contains(res.Fired, name):
				res.Failures = append(res.Failures, fmt.Sprintf("%q did not fire", name))
			}
		}
		for _, name := range c.NoFire {
			switch {
			case !known[name]:
				res.Failures = append(res.Failures, fmt.Sprintf("no rule named %q", name))
			case slices.Contains(res.Fired, name):
				res.Failures = append(res.Failures, fmt.Sprintf("%q fired", name))
			}
		}
		out = append(out, res)
	}
	return out
}

// Uncovered lists the enabled rules of rs that no case expects to fire,
// and those that no case expects not to fire.
func Uncovered(rs *engine.Ruleset, cases []Case) (noFire, noMiss []string) {
	fire, miss := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		for _, n := range c.Fire {
			fire[n] = true
		}
		for _, n := range c.NoFire {
			miss[n] = true
		}
	}
	for _, r := range rs.Rules {
		if !r.Enabled {
			continue
		}
		if !fire[r.Name] {
			noFire = append(noFire, r.Name)
		}
		if !miss[r.Name] {
			noMiss = append(noMiss, r.Name)
		}
	}
	return noFire, noMiss
}
