package bpf

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Live: the exec the BPF LSM hook refuses is reported from lsm.c
// (evt.source lsm), the one it lets through by its tracepoint.
func TestEventSourceLive(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	if m := c.probes.Mechanisms(); !m.LSM {
		// Not a missing privilege: this kernel has no BPF LSM (the
		// host's refuses it). The VM suite boots with it, and there
		// its absence is a failure.
		if os.Getenv("VIGIL_VM_LSM") == "bpf" {
			t.Fatalf("booted with lsm=bpf, but no BPF LSM: %s", m.LSMReason)
		}
		t.Skipf("no BPF LSM here: %s", m.LSMReason)
	}
	dir := tempDir(t)
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	denied, allowed := filepath.Join(dir, "denied-true"), filepath.Join(dir, "allowed-true")
	for _, b := range []string{denied, allowed} {
		if err := os.WriteFile(b, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var pol plan.Policy
	pol.Types[0] = plan.TypePolicy{
		Atoms: []plan.PolicyAtom{{Class: plan.PolExe, Paths: []plan.PathRule{{Path: denied, Exact: true}}}},
		Conjs: []plan.PolicyConj{conj("no denied exec", "deny", true, 0)},
	}
	if err := c.probes.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(denied).Run(); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("exec of the denied binary: %v, want permission denied", err)
	}
	if err := exec.Command(allowed).Run(); err != nil {
		t.Fatal(err)
	}
	for exe, want := range map[string]string{denied: event.SourceLSM, allowed: event.SourceTracepoint} {
		ev := c.waitFor(t, "exec of "+exe, func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.Exe == exe })
		if ev.Source != want {
			t.Errorf("%s: evt.source %q, want %q", exe, ev.Source, want)
		}
	}
}
