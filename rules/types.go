package rules

import (
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// EngineVersion is the rule format version this package implements; a file
// whose required_engine_version is greater is rejected.
const EngineVersion = "0.1.0"

// FalcoEngineVersion is the Falco engine version whose rules files this
// package reads; a Falco file whose required_engine_version is greater is
// rejected.
const FalcoEngineVersion = "0.57.0"

// Dialect is the language of a rules file: vigil's (CEL conditions) or
// Falco's (Falco conditions, Falco's loading rules). The lists, macros
// and rules of each dialect have names of their own: one never sees, nor
// changes, the other's.
type Dialect uint8

// Dialects.
const (
	DialectVigil Dialect = iota
	DialectFalco
)

func (d Dialect) String() string {
	if d == DialectFalco {
		return "falco"
	}
	return "vigil"
}

// List is a named list of strings that conditions refer to by name.
//
// Falco list items are kept as written: a quoted item keeps its quotes.
type List struct {
	Name    string
	Items   []string
	Dialect Dialect
	Pos     Pos
}

// Macro is a named condition that other conditions refer to by name.
type Macro struct {
	Name      string
	Condition Text
	Dialect   Dialect
	Pos       Pos
}

// Exception is a named condition under which a rule does not fire. The
// Condition of a Falco exception is the text Falco builds from its fields,
// comps and values (see FalcoCondition); an exception without values is
// not kept, since Falco adds nothing for it.
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
	Dialect    Dialect
	// WarnEvttypes and SkipIfUnknown are Falco's warn_evttypes (default
	// true) and skip-if-unknown-filter (default false); both are false
	// on vigil rules, which have no such keys.
	WarnEvttypes  bool
	SkipIfUnknown bool
	Pos           Pos
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
//
// Falco rules whose source is not syscall are not in Rules (Warnings say
// so). Warnings are what loading found that does not stop the set from
// being used: print them, do not fail on them.
type Set struct {
	Lists    []*List
	Macros   []*Macro
	Rules    []*Rule
	Warnings Errors

	files  map[string]*source
	lists  map[key]*List
	macros map[key]*Macro
	rules  map[key]*Rule
}

// key is a name in one dialect's namespace.
type key struct {
	dialect Dialect
	name    string
}

// List returns the list of dialect d named name, or nil.
func (s *Set) List(d Dialect, name string) *List { return s.lists[key{d, name}] }

// Macro returns the macro of dialect d named name, or nil.
func (s *Set) Macro(d Dialect, name string) *Macro { return s.macros[key{d, name}] }

// Rule returns the rule of dialect d named name, or nil.
func (s *Set) Rule(d Dialect, name string) *Rule { return s.rules[key{d, name}] }

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
