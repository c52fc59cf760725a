package plan

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// The kernel-side form of the rules that act (action: deny or kill). CEL
// cannot run in the kernel, so the engine compiles each such rule's
// condition, for each event type it can match, into a disjunction of
// conjunctions of atoms; an atom tests one value of the event against a
// set (exact or prefix paths, names, IP prefixes, port ranges, uids),
// possibly negated. The kernel gives every atom of a type one bit and
// evaluates a conjunction as "all its atoms' bits are set" (bpf/c/policy.h).

// PolicyClass is the value an atom tests.
type PolicyClass uint8

// Atom classes.
const (
	PolExe    PolicyClass = iota // proc.exe: exact or prefix paths (judged at exec)
	PolName                      // proc.name (the comm, 15 bytes at most): names
	PolFile                      // file.path: exact or prefix paths
	PolDIP                       // net.dip: IP prefixes (v4 and v6)
	PolDPort                     // net.dport: port ranges
	PolUID                       // user.uid: values
	PolFamily                    // net.family: ipv4, ipv6, unix (in Names)
	PolScope                     // in a container (Neg: on the host)
	NumPolClasses
)

var polClassNames = [...]string{"proc.exe", "proc.name", "file.path", "net.dip", "net.dport", "user.uid", "net.family", "container scope"}

func (c PolicyClass) String() string { return polClassNames[c] }

// PolicyTypes are the event types the kernel can act on, in the order of
// Policy.Types.
var PolicyTypes = [...]event.Type{event.TypeExec, event.TypeOpen, event.TypeConnect}

// PolicyTypeIndex returns t's index in PolicyTypes, or -1.
func PolicyTypeIndex(t event.Type) int {
	return slices.Index(PolicyTypes[:], t)
}

// Limits of the kernel's bit masks.
const (
	MaxPolicyAtoms = 64 // per event type
	MaxPolicyConjs = 64 // per event type
)

// PolicyAtom is one test of a conjunction.
type PolicyAtom struct {
	Class PolicyClass
	Neg   bool
	Paths []PathRule // PolExe, PolFile (AnyFlags unused)
	Names []string   // PolName
	Nets  []netip.Prefix
	Ports [][2]uint16 // inclusive ranges
	UIDs  []uint32
}

// PolicyConj is one conjunction: the rule acts when all its atoms hold.
type PolicyConj struct {
	Rule     string
	Action   string // "deny" or "kill"
	Enforce  bool   // false: audit only ("would deny")
	Fallback string // "kill": kill where the kernel cannot deny
	Atoms    []int  // indexes into TypePolicy.Atoms
}

// TypePolicy is the policy for one event type.
type TypePolicy struct {
	Atoms []PolicyAtom
	Conjs []PolicyConj
}

// Policy is what the kernel enforces. Allow lists executables (exact
// paths) whose processes are never denied or killed; vigil itself and
// PID 1 never are either.
type Policy struct {
	Types [len(PolicyTypes)]TypePolicy
	Allow []string
}

// AddAtom returns the index of a, adding it unless an equal atom is there.
func (tp *TypePolicy) AddAtom(a PolicyAtom) int {
	for i := range tp.Atoms {
		if reflect.DeepEqual(tp.Atoms[i], a) {
			return i
		}
	}
	tp.Atoms = append(tp.Atoms, a)
	return len(tp.Atoms) - 1
}

// Empty reports whether no type has a conjunction.
func (p *Policy) Empty() bool {
	for _, t := range p.Types {
		if len(t.Conjs) > 0 {
			return false
		}
	}
	return true
}

// Holds reports whether the atom holds for e (the Go model of the kernel's
// test, for the agreement tests).
func (a *PolicyAtom) Holds(e *event.Event) bool {
	in := false
	switch a.Class {
	case PolExe:
		in = pathIn(a.Paths, e.Proc.Exe)
	case PolName:
		name := e.Proc.Name
		if len(name) > 15 {
			name = name[:15]
		}
		in = slices.Contains(a.Names, name)
	case PolFile:
		in = pathIn(a.Paths, e.File.Path)
	case PolDIP:
		ip := e.Net.DIP.Unmap()
		for _, p := range a.Nets {
			if ip.IsValid() && p.Contains(ip) {
				in = true
				break
			}
		}
	case PolDPort:
		for _, r := range a.Ports {
			if e.Net.DPort >= r[0] && e.Net.DPort <= r[1] {
				in = true
				break
			}
		}
	case PolUID:
		in = slices.Contains(a.UIDs, e.User.UID)
	case PolFamily:
		in = slices.Contains(a.Names, e.Net.Family)
	case PolScope:
		in = e.Proc.Container.ID != ""
	}
	return in != a.Neg
}

func pathIn(rules []PathRule, p string) bool {
	for _, r := range rules {
		if r.Exact && p == r.Path || !r.Exact && strings.HasPrefix(p, r.Path) {
			return true
		}
	}
	return false
}

// Match returns the first conjunction that holds for e, or -1.
func (tp *TypePolicy) Match(e *event.Event) int {
	held := make([]bool, len(tp.Atoms))
	for i := range tp.Atoms {
		held[i] = tp.Atoms[i].Holds(e)
	}
	for j, c := range tp.Conjs {
		all := true
		for _, i := range c.Atoms {
			all = all && held[i]
		}
		if all {
			return j
		}
	}
	return -1
}
