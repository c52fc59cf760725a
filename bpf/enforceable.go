package bpf

import (
	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// What this kernel would make of a rule set's deny and kill rules, without
// loading vigil's probes (`vigil rules validate` reports it). The decision
// is SetPolicy's own (checkMechanisms, kernelCannotDeny); only the
// mechanisms come from the feature probes of `vigil check` instead of from
// loaded programs.

// MechanismsOf returns the enforcement mechanisms a feature report shows,
// as loading the probes would find them: BPF LSM where bpf is an active
// LSM and LSM programs attach (then the cgroup connect hooks are not
// attached), else the cgroup connect hooks where they attach.
func MechanismsOf(r features.Report) Mechanisms {
	reason := func(names ...string) string {
		for _, n := range names {
			if f, ok := r.Lookup(n); !ok {
				return n + ": not probed"
			} else if !f.Available {
				return f.Detail
			}
		}
		return ""
	}
	m := Mechanisms{Kill: r.Has(features.SendSignal)}
	// The order of features.BPFLSM, which the loader asks.
	if m.LSMReason = reason(features.LSMActive, features.LSMProgram); m.LSMReason == "" {
		m.LSM = true
		m.CgroupReason = "not needed: BPF LSM denies connects"
		return m
	}
	if m.CgroupReason = reason(features.CgroupConnect4, features.CgroupConnect6); m.CgroupReason == "" {
		m.CgroupConnect = true
	}
	return m
}

// Enforcement is what the kernel does for one deny or kill rule on one
// event type.
type Enforcement struct {
	Rule    string
	Type    event.Type
	Action  string // the rule's: deny or kill
	Enforce bool   // false: audit only
	// Does is what the kernel does when the rule matches: deny or kill
	// (kill for a deny with fallback: kill the kernel cannot make).
	Does string
	// How names the mechanism: "BPF LSM", "cgroup connect hooks",
	// "bpf_send_signal".
	How string
	// Why the kernel cannot deny, when it cannot ("" when it can).
	Why string
	// Refused: vigil run refuses the rule set (the error SetPolicy
	// returns), nil when it accepts this rule.
	Refused *UnavailableError
}

// Enforceability judges every deny and kill rule of pol on m as SetPolicy
// does, one entry per rule and event type in policy order.
func Enforceability(pol plan.Policy, m Mechanisms) []Enforcement {
	var out []Enforcement
	for ti, tp := range pol.Types {
		t := plan.PolicyTypes[ti]
		for _, c := range tp.Conjs {
			if n := len(out); n > 0 && out[n-1].Rule == c.Rule && out[n-1].Type == t {
				continue // another alternative of the same rule
			}
			e := Enforcement{Rule: c.Rule, Type: t, Action: c.Action, Enforce: c.Enforce, Does: c.Action}
			if err := checkMechanisms(only(ti, c), m); err != nil {
				e.Refused = err.(*UnavailableError)
			}
			// What a plain enforced deny would meet here.
			deny := c
			deny.Action, deny.Enforce, deny.Fallback = "deny", true, ""
			cannot, _ := checkMechanisms(only(ti, deny), m).(*UnavailableError)
			switch {
			case c.Action == "kill":
				e.How = "bpf_send_signal"
			case cannot != nil:
				e.Why = cannot.Why
				if c.Fallback == "kill" {
					e.Does, e.How = "kill", "bpf_send_signal"
				}
			case m.LSM:
				e.How = "BPF LSM"
			default:
				e.How = "cgroup connect hooks"
			}
			out = append(out, e)
		}
	}
	return out
}

// only is a policy of the one conjunction c on the type of index ti.
func only(ti int, c plan.PolicyConj) plan.Policy {
	var p plan.Policy
	p.Types[ti].Conjs = []plan.PolicyConj{c}
	return p
}
