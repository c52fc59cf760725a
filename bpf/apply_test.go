package bpf

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Live: Apply carries out a whole plan (here the open filter) and installs
// the policy only when it changed: the same policy again does not switch
// the kernel's policy generation, a different one does.
func TestApply(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	dir := tempDir(t)
	kept, dropped := filepath.Join(dir, "kept"), filepath.Join(dir, "dropped")
	killNothing := plan.Policy{}
	killNothing.Types[1] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolFile, Paths: []plan.PathRule{{Path: "/nonexistent/vigil-apply", Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("kill nothing", "kill", true, 0)},
	}
	pl := plan.Plan{Types: []event.Type{event.TypeOpen}, Open: plan.OpenFilter{Paths: []plan.PathRule{{Path: kept, Exact: true}}}, Policy: killNothing}
	if err := c.probes.Apply(pl); err != nil {
		t.Fatal(err)
	}
	gen := c.probes.cfg.PolGen
	if err := c.probes.Apply(pl); err != nil {
		t.Fatal(err)
	}
	if c.probes.cfg.PolGen != gen {
		t.Errorf("applying an unchanged policy switched the policy generation %d -> %d", gen, c.probes.cfg.PolGen)
	}
	// A child opens both (vigil's own opens are never reported), the
	// dropped one first: its record would come before the kept one's.
	if out, err := exec.Command("/bin/sh", "-c", "echo x > "+dropped+"; echo x > "+kept).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c.waitFor(t, "open of "+kept, func(e *event.Event) bool { return e.Type == event.TypeOpen && e.File.Path == kept })
	if evs := c.all(func(e *event.Event) bool { return e.Type == event.TypeOpen && e.File.Path == dropped }); len(evs) != 0 {
		t.Errorf("%d opens of %s reached user space; the plan's open filter drops them", len(evs), dropped)
	}
	pl.Policy = plan.Policy{}
	if err := c.probes.Apply(pl); err != nil {
		t.Fatal(err)
	}
	if c.probes.cfg.PolGen == gen {
		t.Error("applying a different policy did not switch the policy generation")
	}
}
