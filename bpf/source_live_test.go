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
// (evt.source lsm), the one it lets through by its tracepoint. Where
// there is no BPF LSM (this host refuses it; the VM suite boots kernels
// with and without), the deny cannot be installed and both execs are
// reported by their tracepoint.
func TestEventSourceLive(t *testing.T) {
	c := startCollector(t, DefaultOptions())
	m := c.probes.Mechanisms()
	if vm := os.Getenv("VIGIL_VM_LSM"); vm == "bpf" && !m.LSM {
		t.Fatalf("booted with lsm=bpf, but no BPF LSM: %s", m.LSMReason)
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
	want := map[string]string{denied: event.SourceLSM, allowed: event.SourceTracepoint}
	err = c.probes.SetPolicy(pol)
	switch {
	case m.LSM && err != nil:
		t.Fatal(err)
	case m.LSM:
		if err := exec.Command(denied).Run(); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("exec of the denied binary: %v, want permission denied", err)
		}
	default:
		var ue *UnavailableError
		if !errors.As(err, &ue) || ue.Rule != "no denied exec" {
			t.Fatalf("exec deny without BPF LSM: %v, want the rule refused as unavailable", err)
		}
		if err := exec.Command(denied).Run(); err != nil {
			t.Fatal(err)
		}
		want[denied] = event.SourceTracepoint
	}
	if err := exec.Command(allowed).Run(); err != nil {
		t.Fatal(err)
	}
	for exe, want := range want {
		ev := c.waitFor(t, "exec of "+exe, func(e *event.Event) bool { return e.Type == event.TypeExec && e.Proc.Exe == exe })
		if ev.Source != want {
			t.Errorf("%s: evt.source %q, want %q", exe, ev.Source, want)
		}
	}
}
