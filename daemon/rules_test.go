package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/rules"
)

// fakeKernel records the plans it is given, with the rule set in force
// at each, and fails where told.
type fakeKernel struct {
	rules   *Rules
	applied []applied
	fail    func(n int, p plan.Plan) error // n counts calls from 0
	drops   uint64
}

type applied struct {
	p       plan.Plan
	current string // the rule set in force while it was applied
}

func (k *fakeKernel) Apply(p plan.Plan) error {
	n := len(k.applied)
	k.applied = append(k.applied, applied{p, setName(k.rules.Current())})
	if k.fail != nil {
		return k.fail(n, p)
	}
	return nil
}

func (k *fakeKernel) Drops() (map[event.Type]uint64, error) {
	return map[event.Type]uint64{event.TypeOpen: k.drops}, nil
}

// setName is the name of the one rule of the test sets.
func setName(rs *engine.Ruleset) string { return rs.Rules[0].Name }

const (
	setA = `- rule: A
  condition: evt.type == "open" && file.path == "/etc/a"
  desc: a
  output: a
  priority: warning
`
	setB = `- rule: B
  condition: (evt.type == "open" && file.path == "/etc/b") || (evt.type == "exec" && proc.name == "nc")
  desc: b
  output: b
  priority: warning
`
	setBroken = "- rule: C\n  condition: file.pth == \"/x\"\n  desc: c\n  output: c\n  priority: warning\n"
	// setDeny denies what a kernel without BPF LSM cannot deny.
	setDeny = `- rule: D
  condition: evt.type == "exec" && proc.exe == "/usr/bin/nc"
  desc: d
  output: d
  priority: warning
  action: deny
`
)

func compiler(t *testing.T, src *string) func(context.Context) (*engine.Ruleset, error) {
	c, err := engine.NewCompiler(engine.Options{Hostname: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context) (*engine.Ruleset, error) {
		set, err := rules.LoadSources(rules.Source{Name: "r.yaml", Data: []byte(*src)})
		if err != nil {
			return nil, err
		}
		return c.CompileContext(ctx, set)
	}
}

func planOf(t *testing.T, src string) plan.Plan {
	src2 := src
	rs, err := compiler(t, &src2)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := rs.Plan(plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Reload's invariants, for each way it can go: compile first; give the
// kernel old ∪ new while the old set is in force, swap, then new; keep
// the old set (and restore its plan) on any error.
func TestReload(t *testing.T) {
	pa, pb := planOf(t, setA), planOf(t, setB)
	union := plan.Union(pa, pb)
	unavailable := &bpf.UnavailableError{Rule: "D", Type: event.TypeExec, Why: "no BPF LSM"}
	cases := []struct {
		name    string
		next    string
		fail    func(n int, p plan.Plan) error
		wantErr string
		want    []applied // after Start's
		current string
		ok      bool
	}{
		{name: "swap", next: setB, want: []applied{{union, "A"}, {pb, "B"}}, current: "B", ok: true},
		{name: "compile error", next: setBroken, wantErr: `r.yaml:2:14: rule "C": undefined field, list or macro "file.pth" (did you mean file.path?) (LOAD_CONDITION)`, current: "A"},
		{name: "kernel refuses the union", next: setB,
			fail:    func(n int, p plan.Plan) error { return map[bool]error{true: errors.New("map full")}[n == 1] },
			wantErr: "map full", want: []applied{{union, "A"}, {pa, "A"}}, current: "A"},
		{name: "kernel cannot enforce", next: setDeny,
			fail:    func(n int, p plan.Plan) error { return map[bool]error{true: unavailable}[n == 1] },
			wantErr: `r.yaml:1:9: rule "D": this kernel cannot deny exec (no BPF LSM)`, current: "A"},
		{name: "narrowing fails", next: setB,
			fail: func(n int, p plan.Plan) error { return map[bool]error{true: errors.New("busy")}[n == 2] },
			want: []applied{{union, "A"}, {pb, "B"}}, current: "B", ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := setA
			r, err := NewRules(quiet, compiler(t, &src), func(rs *engine.Ruleset) (plan.Plan, error) { return rs.Plan(plan.Options{}) })
			if err != nil {
				t.Fatal(err)
			}
			k := &fakeKernel{rules: r, fail: c.fail}
			if err := r.Start(k); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(k.applied, []applied{{pa, "A"}}) {
				t.Fatalf("start applied %+v", k.applied)
			}
			src = c.next
			err = r.Reload()
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("Reload() = %v, want %q", err, c.wantErr)
			}
			if c.want != nil && !reflect.DeepEqual(k.applied[1:], c.want) {
				t.Errorf("applied:\n got %+v\nwant %+v", k.applied[1:], c.want)
			}
			if c.want == nil && c.name == "compile error" && len(k.applied) != 1 {
				t.Errorf("a set that does not compile reached the kernel: %+v", k.applied[1:])
			}
			if got := setName(r.Current()); got != c.current {
				t.Errorf("in force: %s, want %s", got, c.current)
			}
			if ok, failed := r.OK.Load(), r.Failed.Load(); ok != map[bool]uint64{true: 1}[c.ok] || failed != map[bool]uint64{false: 1}[c.ok] {
				t.Errorf("ok=%d failed=%d", ok, failed)
			}
			// What the kernel holds: the new plan, or the union where
			// narrowing failed, or the old plan.
			wantHeld := map[string]plan.Plan{"A": pa, "B": pb}[c.current]
			if c.name == "narrowing fails" {
				wantHeld = union
			}
			if got := r.Plan(); !reflect.DeepEqual(got, wantHeld) {
				t.Errorf("held plan %+v, want %+v", got, wantHeld)
			}
		})
	}
}

// The union of two plans drops nothing either keeps.
func TestUnionWidens(t *testing.T) {
	pa, pb := planOf(t, setA), planOf(t, setB)
	u := plan.Union(pa, pb)
	if !slices.Equal(u.Types, []event.Type{event.TypeExec, event.TypeOpen}) {
		t.Errorf("types %v", u.Types)
	}
	vals := u.Open.TrieValues()
	for _, path := range []string{"/etc/a", "/etc/b"} {
		if !u.Open.Wants(vals, path, 0) {
			t.Errorf("the union drops opens of %s", path)
		}
	}
	if u.Open.Wants(vals, "/etc/c", 0) {
		t.Error("the union keeps opens of /etc/c, which neither set wants")
	}
}

// A rule the kernel cannot enforce stops start-up at the rule's place.
func TestStartRefusesUnenforceable(t *testing.T) {
	src := setDeny
	r, err := NewRules(quiet, compiler(t, &src), func(rs *engine.Ruleset) (plan.Plan, error) { return rs.Plan(plan.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	k := &fakeKernel{rules: r, fail: func(int, plan.Plan) error {
		return &bpf.UnavailableError{Rule: "D", Type: event.TypeExec, Why: "no BPF LSM"}
	}}
	if err := r.Start(k); err == nil || !strings.HasPrefix(err.Error(), `r.yaml:1:9: rule "D": this kernel cannot deny exec`) {
		t.Errorf("Start() = %v, want an error at r.yaml:1:9", err)
	}
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Reload() before a Start = %v", err)
	}
}

// A reload whose compile outlasts the timeout is abandoned: it fails and
// is counted, the old set stays, the compile is told to stop, and the
// next reload runs at once.
func TestReloadTimeout(t *testing.T) {
	src := setA
	compile := compiler(t, &src)
	stuck := make(chan struct{}) // closed: the next compile hangs until cancelled
	stopped := make(chan error, 1)
	hang := false
	r, err := NewRules(quiet, func(ctx context.Context) (*engine.Ruleset, error) {
		if hang {
			close(stuck)
			<-ctx.Done()
			stopped <- ctx.Err()
			return nil, ctx.Err()
		}
		return compile(ctx)
	}, func(rs *engine.Ruleset) (plan.Plan, error) { return rs.Plan(plan.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	r.Timeout = 50 * time.Millisecond
	if err := r.Start(&fakeKernel{rules: r}); err != nil {
		t.Fatal(err)
	}
	old := r.Current()
	hang = true
	err = r.Reload()
	if err == nil || err.Error() != "compiling the rules took longer than 50ms; reload abandoned" {
		t.Errorf("Reload() = %v", err)
	}
	<-stuck
	if err := <-stopped; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the abandoned compile saw %v, want its deadline", err)
	}
	if r.Current() != old || r.Failed.Load() != 1 || r.OK.Load() != 0 {
		t.Errorf("after the abandoned reload: same set %v, failed %d, ok %d", r.Current() == old, r.Failed.Load(), r.OK.Load())
	}
	hang, src = false, setB
	if err := r.Reload(); err != nil || r.OK.Load() != 1 || r.Current() == old {
		t.Errorf("the next reload: %v, ok %d", err, r.OK.Load())
	}
}
