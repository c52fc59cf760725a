package rules

import (
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// EngineVersion is the rule format version this package implements; a file
// whose required_engine_version is greater is rejected.
const EngineVersion = "0.1.0"

// List is a named list of strings that conditions refer to by name.
type List struct {
	Name  string
	Items []string
	Pos   Pos
}

// Macro is a named condition that other conditions refer to by name.
type Macro struct {
	Name      string
	Condition Text
	Pos       Pos
}

// Exception is a named condition under which a rule does not fire.
type Exception struct {
	Name      string
	Condition Text
	Pos       Pos
}

// Rule is a condition that raises an alert (or acts) when an event matches.
type Rule struct {
	Name      string
	Desc      string
	Condition Text
	Output    Text
	Priority  event.Priority
	Tags      []string
	Enabled   bool
	Action    Action
	// Enforce false makes a deny or kill rule audit-only: it alerts with
	// "would deny" / "would kill" and the kernel does not act.
	Enforce bool
	// Fallback kill lets a deny rule kill where the kernel cannot deny
	// (exec and open without BPF LSM).
	Fallback   Action
	Exceptions []Exception
	// Understood lists the acknowledgements (i_understand) of an
	// enforcement rule that the engine would otherwise refuse: see
	// Acknowledgements.
	Understood []string
	Pos        Pos
}

// Acknowledgements are the values of i_understand. "broad": a deny or kill
// rule may act on most of the system (any exec, open or connect).
// "protected": it may act on processes vigil protects by default (vigil
// itself, PID 1, the container runtime, sshd).
var Acknowledgements = []string{"broad", "protected"}

// Action is what happens when a rule matches.
type Action string

// Actions. Deny and kill need an enforcing hook (see `vigil check`).
const (
	ActionAlert Action = "alert"
	ActionDeny  Action = "deny"
	ActionKill  Action = "kill"
)

func parseAction(s string) (Action, bool) {
	for _, a := range []Action{ActionAlert, ActionDeny, ActionKill} {
		if strings.EqualFold(s, string(a)) {
			return a, true
		}
	}
	return "", false
}

// Set is the result of loading: every list, macro and rule in definition
// order, with overrides applied.
type Set struct {
	Lists  []*List
	Macros []*Macro
	Rules  []*Rule

	files map[string]*source
}

// SourceLine returns line p.Line of file p.File as it was loaded, without
// its line ending, or "" if there is no such line.
func (s *Set) SourceLine(p Pos) string {
	if s == nil {
		return ""
	}
	if f := s.files[p.File]; f != nil {
		return f.line(p.Line)
	}
	return ""
}
