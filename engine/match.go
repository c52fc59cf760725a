package engine

import (
	"math"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/hist"
)

// Source is the alert source Falco consumers expect for kernel events.
const Source = "syscall"

// Matcher evaluates events against rule sets from one goroutine: it owns
// the activation that converts each event's fields once.
type Matcher struct {
	// First stops at the first rule that matches an event, in definition
	// order (Falco's rule_matching: first); otherwise every matching rule
	// alerts (Falco's default, all).
	First bool
	act   *activation
	mark  []bool
	// Counters: written by the goroutine that calls Match, readable from
	// any (metrics).
	Events, Evaluations, Errors atomic.Uint64
	// EvalTime is the time the rules of one event took, sampled.
	EvalTime EvalHist
}

// EvalSampleEvery: one judged event in this many is timed, so the clock
// reads cost nothing measurable.
const EvalSampleEvery = 64

// EvalBuckets are the upper bounds, in seconds, of EvalHist's buckets.
var EvalBuckets = [...]float64{1e-6, 2.5e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 1e-3, 10e-3}

// EvalHist is a histogram of sampled per-event evaluation times, over
// EvalBuckets (Buckets[len(EvalBuckets)] counts the times above them).
type EvalHist = hist.Hist

// evalBounds are EvalBuckets as durations, for EvalHist.
func evalBounds() []time.Duration {
	b := make([]time.Duration, len(EvalBuckets))
	for i, s := range EvalBuckets {
		b[i] = time.Duration(math.Round(s * float64(time.Second)))
	}
	return b
}

// NewMatcher returns a Matcher.
func NewMatcher() *Matcher {
	m := &Matcher{act: newActivation()}
	m.EvalTime.Init(evalBounds())
	return m
}

// Match evaluates the enabled rules indexed for ev's type, appends an
// alert for each rule whose condition holds and no exception of which does,
// and returns the extended slice.
func (m *Matcher) Match(rs *Ruleset, ev *event.Event, out []*event.Alert) []*event.Alert {
	cands := rs.byType[ev.Type]
	if len(cands) == 0 {
		return out
	}
	if m.Events.Add(1)%EvalSampleEvery == 0 {
		t0 := time.Now()
		out = m.match(rs, ev, cands, out)
		m.EvalTime.Observe(time.Since(t0))
		return out
	}
	return m.match(rs, ev, cands, out)
}

func (m *Matcher) match(rs *Ruleset, ev *event.Event, cands []*Rule, out []*event.Alert) []*event.Alert {
	m.act.reset(rs, ev)
	var mark []bool
	if ix := rs.index[ev.Type]; ix != nil {
		if cap(m.mark) < len(cands) {
			m.mark = make([]bool, len(cands))
		}
		mark = m.mark[:len(cands)]
		clear(mark)
		if ev.Type == event.TypeOpen {
			ix.markOpen(ev.File.Path, ev.File.Flags, mark)
		} else {
			ix.markExec(ev.Proc.Name, mark)
		}
	}
	for i, r := range cands {
		if mark != nil && !mark[i] {
			continue
		}
		m.Evaluations.Add(1)
		v, _, err := r.prg.Eval(m.act)
		if err != nil {
			m.Errors.Add(1)
			continue
		}
		if v != types.True || m.excepted(r) {
			continue
		}
		out = append(out, rs.alert(r, ev))
		if m.First {
			break
		}
	}
	m.act.ev = nil
	return out
}

func (m *Matcher) excepted(r *Rule) bool {
	for _, e := range r.exceptions {
		v, _, err := e.prg.Eval(m.act)
		if err != nil {
			m.Errors.Add(1)
			continue
		}
		if v == types.True {
			return true
		}
	}
	return false
}

func (rs *Ruleset) alert(r *Rule, ev *event.Event) *event.Alert {
	action := "alert"
	if r.Action != "" && r.Action != "alert" {
		// What the kernel did for this rule ("deny", "kill", or "would
		// deny" when audit-only), as the event's record says; without
		// that (the kernel decided by another rule, or the policy is not
		// installed), the rule did nothing but alert.
		action = "would " + string(r.Action)
		if ev.Enforcement.Rule == r.Name && ev.Enforcement.Action != "" {
			action = ev.Enforcement.Action
		}
	}
	return &event.Alert{
		Time:         ev.Time,
		Rule:         r.Name,
		Priority:     r.Priority.String(),
		Level:        r.Priority.Level(),
		Source:       Source,
		Output:       render(r.output, ev),
		Fields:       r.outFields,
		FieldSources: r.outSources,
		Tags:         r.Tags,
		Hostname:     rs.hostname,
		Action:       action,
		Event:        ev,
	}
}

// Candidates is the number of enabled rules indexed for type t.
func (rs *Ruleset) Candidates(t event.Type) int { return len(rs.byType[t]) }

// Types is the set of event types some enabled rule can match.
func (rs *Ruleset) Types() []event.Type {
	var out []event.Type
	for _, t := range event.Types() {
		if len(rs.byType[t]) > 0 {
			out = append(out, t)
		}
	}
	return out
}
