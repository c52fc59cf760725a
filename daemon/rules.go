package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Kernel is the kernel side as the daemon sees it. *bpf.Probes is one.
type Kernel interface {
	// Apply carries out a plan; on an error, parts of it may be applied.
	Apply(plan.Plan) error
	// Drops are the events lost so far because the ring buffer was full.
	Drops() (map[event.Type]uint64, error)
}

// Rules is the running rule set and the kernel plan it needs, replaced
// whole on reload. Current is safe from any goroutine.
type Rules struct {
	log *slog.Logger
	// compile loads and compiles the configured rules files, giving up
	// once its context is done.
	compile func(context.Context) (*engine.Ruleset, error)
	// Timeout bounds a reload's compile and plan (0: ReloadTimeout). Set
	// before the first Reload.
	Timeout time.Duration
	// plan is the kernel plan of a rule set under the config.
	plan func(*engine.Ruleset) (plan.Plan, error)

	set     atomic.Pointer[engine.Ruleset]
	mu      sync.Mutex // one reload at a time; guards the fields below
	kernel  Kernel
	applied plan.Plan // what the kernel holds (or more)
	pending plan.Plan // the first set's plan, until Start

	// Reloads that swapped a new set in, and those that kept the old.
	OK, Failed atomic.Uint64
}

// NewRules compiles the first rule set and its plan; nothing is applied
// until Start.
func NewRules(log *slog.Logger, compile func(context.Context) (*engine.Ruleset, error), planFor func(*engine.Ruleset) (plan.Plan, error)) (*Rules, error) {
	r := &Rules{log: log, compile: compile, plan: planFor}
	rs, err := compile(context.Background())
	if err != nil {
		return nil, err
	}
	if r.pending, err = r.planOf(rs); err != nil {
		return nil, err
	}
	r.set.Store(rs)
	return r, nil
}

// Current is the rule set in force.
func (r *Rules) Current() *engine.Ruleset { return r.set.Load() }

// Plan is the kernel plan of the rule set in force.
func (r *Rules) Plan() plan.Plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kernel == nil {
		return r.pending
	}
	return r.applied
}

// Start applies the first set's plan to k, which reloads then change.
func (r *Rules) Start(k Kernel) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.apply(k, r.pending, r.Current()); err != nil {
		return err
	}
	r.kernel, r.applied = k, r.pending
	return nil
}

// Reload compiles the rules again and swaps them in only if they compile
// and the kernel can carry out their plan. The kernel is first given the
// union of the old and the new plan, then the set is swapped, then the
// kernel is narrowed to the new plan: an event arriving meanwhile is
// judged by the old set or the new one, and never dropped by the kernel
// for the set that judges it. On any error the old set stays, with its
// plan.
func (r *Rules) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.reload()
	if err != nil {
		r.Failed.Add(1)
		r.log.Error("reload failed; the running rules stay", "err", err)
		return err
	}
	r.OK.Add(1)
	return nil
}

func (r *Rules) reload() error {
	next, np, err := r.prepare()
	if err != nil {
		return err
	}
	if r.kernel == nil {
		return errors.New("the kernel side is not started")
	}
	if err := r.apply(r.kernel, plan.Union(r.applied, np), next); err != nil {
		if rerr := r.kernel.Apply(r.applied); rerr != nil {
			r.log.Error("reload: restore the kernel plan (filters stay wider)", "err", rerr)
			r.applied = plan.Union(r.applied, np)
		}
		return err
	}
	r.set.Store(next)
	if err := r.kernel.Apply(np); err != nil {
		r.log.Error("reload: narrow the kernel plan (filters stay wider)", "err", err)
		r.applied = plan.Union(r.applied, np)
	} else {
		r.applied = np
	}
	r.log.Info("rules reloaded", "rules", len(next.Rules), "types", strings.Join(event.Names(np.Types...), ","), "open_filter_paths", len(np.Open.Paths))
	return nil
}

// ReloadTimeout is how long a reload may compile before it is abandoned.
// Loading is linear in the rules and bounded by rules' limits, so only a
// pathological set gets near it; the timeout keeps such a set from holding
// the reload lock, and so every later reload, for good.
const ReloadTimeout = 30 * time.Second

// prepare compiles the rules and their plan, or gives up after Timeout:
// the work goes on in its goroutine until the compiler sees its context
// is done (between two macros or rules), while the reload fails now.
func (r *Rules) prepare() (*engine.Ruleset, plan.Plan, error) {
	timeout := cmp.Or(r.Timeout, ReloadTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		rs  *engine.Ruleset
		p   plan.Plan
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		if res.rs, res.err = r.compile(ctx); res.err == nil {
			res.p, res.err = r.planOf(res.rs)
		}
		done <- res
	}()
	select {
	case res := <-done:
		return res.rs, res.p, res.err
	case <-ctx.Done():
		return nil, plan.Plan{}, fmt.Errorf("compiling the rules took longer than %s; reload abandoned", timeout)
	}
}

// planOf is rs's plan; an error names the rule the kernel cannot hold.
func (r *Rules) planOf(rs *engine.Ruleset) (plan.Plan, error) {
	p, err := r.plan(rs)
	if err != nil {
		return p, err
	}
	if len(p.Types) == 0 {
		return p, errors.New("no enabled rule uses a traced event type: nothing to watch")
	}
	return p, nil
}

// apply gives k the plan p of rs; a deny the kernel cannot make is an
// error at the rule's place.
func (r *Rules) apply(k Kernel, p plan.Plan, rs *engine.Ruleset) error {
	err := k.Apply(p)
	var ue *bpf.UnavailableError
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", rs.RulePos(ue.Rule), err)
	}
	if err != nil {
		return err
	}
	if !p.Policy.Empty() {
		n := 0
		for _, t := range p.Policy.Types {
			n += len(t.Conjs)
		}
		args := []any{"alternatives", n, "allow", len(p.Policy.Allow)}
		if m, ok := k.(interface{ Mechanisms() bpf.Mechanisms }); ok {
			args = append(args, "lsm", m.Mechanisms().LSM, "cgroup_connect", m.Mechanisms().CgroupConnect)
		}
		r.log.Info("enforcement policy installed", args...)
	}
	return nil
}
