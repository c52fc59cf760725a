package engine

import (
	"slices"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Plan is everything the kernel must do for the enabled rules under the
// config's options o: the types to trace (at most o.Events), the open,
// path and argument filters, the environment to collect and the
// enforcement policy. An error is a deny or kill rule the kernel cannot
// hold.
func (rs *Ruleset) Plan(o plan.Options) (plan.Plan, error) {
	pf := rs.Prefilter()
	pol, err := rs.Policy(o.Audit, o.Allow)
	if err != nil {
		return plan.Plan{}, err
	}
	types := pf.Types
	if o.Events != nil {
		types = slices.DeleteFunc(slices.Clone(types), func(t event.Type) bool { return !slices.Contains(o.Events, t) })
	}
	return plan.Plan{Types: types, Open: pf.Open, Args: pf.Args, Env: o.Env.For(pf.Env), Policy: pol}, nil
}

// Unwatched is an enabled rule that needs an event type the config's
// events list leaves out: it never sees those events.
type Unwatched struct {
	Rule string
	Pos  string // file:line:col of the rule
	Type event.Type
}

// Unwatched lists, rule by rule in definition order, the types events
// leaves out that enabled rules need (none when events is nil: no limit).
func (rs *Ruleset) Unwatched(events []event.Type) []Unwatched {
	if events == nil {
		return nil
	}
	var out []Unwatched
	for _, r := range rs.Rules {
		if !r.Enabled {
			continue
		}
		for _, t := range event.Types() {
			if r.Types.Has(t) && !slices.Contains(events, t) {
				out = append(out, Unwatched{Rule: r.Name, Pos: rs.RulePos(r.Name), Type: t})
			}
		}
	}
	return out
}
