package features

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/internal/testenv"
)

// requireRoot ends a test that needs root and BPF as testenv.RequireRoot
// does: a skip, or a failure in CI, where a skipped kernel test would hide
// that the suite never ran.
func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
}

// TestProbeThisHost asserts what KERNEL.md measured on the development and CI
// host (Firecracker VM, Linux 6.18, trampolines restricted to PID 1, no
// kprobes). On another kernel this test is expected to need new answers.
func TestProbeThisHost(t *testing.T) {
	requireRoot(t)

	fdsBefore := openFDs(t)
	start := time.Now()
	r := Probe()
	elapsed := time.Since(start)
	t.Logf("Probe took %v", elapsed)
	if elapsed > 3*time.Second {
		t.Errorf("Probe took %v, want well under 3s", elapsed)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())

	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil on this host", err)
	}
	if r.Kernel == "" || strings.HasPrefix(r.Kernel, "unknown") {
		t.Errorf("Kernel = %q", r.Kernel)
	}
	if len(r.Features) != len(probes()) {
		t.Errorf("%d features, want %d", len(r.Features), len(probes()))
	}

	want := map[string]bool{
		KernelBTF:      true,
		RingBuf:        true,
		Tracepoint:     true,
		BTFTracepoint:  true,
		CurrentTaskBTF: true,
		TaskPtRegs:     true,
		Loop:           true,
		CgroupConnect4: true,
		CgroupConnect6: true,
		SendSignal:     true,
		LSMProgram:     false,
		FEntry:         false,
		Kprobe:         false,
	}
	for name, avail := range want {
		f, ok := r.Lookup(name)
		if !ok {
			t.Errorf("%s: not in report", name)
			continue
		}
		if f.Available != avail {
			t.Errorf("%s: Available = %v, want %v (detail: %s)", name, f.Available, avail, f.Detail)
		}
		if f.Available != (f.Err == nil) {
			t.Errorf("%s: Available = %v but Err = %v", name, f.Available, f.Err)
		}
		if f.Detail == "" {
			t.Errorf("%s: empty detail", name)
		}
	}

	// The refusals must read as refusals, with the errno a user can search for.
	for name, substrs := range map[string][]string{
		LSMProgram: {"lsm programs refused by this kernel", "EPERM", "platform restricts"},
		FEntry:     {"fentry/do_unlinkat", "EPERM", "platform restricts"},
		Kprobe:     {"kprobe/do_unlinkat", "no kprobe support"},
	} {
		f, _ := r.Lookup(name)
		for _, s := range substrs {
			if !strings.Contains(f.Detail, s) {
				t.Errorf("%s: detail %q lacks %q", name, f.Detail, s)
			}
		}
	}
	if f, _ := r.Lookup(LSMProgram); !errors.Is(f.Err, unix.EPERM) {
		t.Errorf("%s: Err = %v, want EPERM", LSMProgram, f.Err)
	}

	// The active LSM list is whatever the kernel says; the feature must agree.
	lsm, err := os.ReadFile(lsmFile)
	if err != nil {
		t.Fatalf("EnsureFS should have made %s readable: %v", lsmFile, err)
	}
	bpfActive := strings.Contains(","+strings.TrimSpace(string(lsm))+",", ",bpf,")
	if r.Has(LSMActive) != bpfActive {
		t.Errorf("Has(LSMActive) = %v, %s says %q", r.Has(LSMActive), lsmFile, lsm)
	}

	if after := openFDs(t); after > fdsBefore {
		t.Errorf("Probe leaked file descriptors: %d open before, %d after", fdsBefore, after)
	}
}

// TestLoadAttachVerifierDetail checks that a verifier rejection is reported
// with its log, not as a bare errno.
func TestLoadAttachVerifierDetail(t *testing.T) {
	requireRoot(t)
	spec := &ebpf.ProgramSpec{
		Type:         ebpf.TracePoint,
		Instructions: asm.Instructions{asm.Return()}, // R0 never written
	}
	detail, err := loadAttach(env{privileged: true}, "tp/broken", spec, func(*ebpf.Program) (link.Link, error) {
		t.Fatal("attach called for a program that must not load")
		return nil, nil
	})
	var verr *ebpf.VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a *ebpf.VerifierError", err)
	}
	for _, s := range []string{"load tp/broken: rejected by the verifier", "R0 !read_ok"} {
		if !strings.Contains(detail, s) {
			t.Errorf("detail %q lacks %q", detail, s)
		}
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name       string
		privileged bool
		err        error
		want       string
	}{
		{"eperm privileged", true, wrap(unix.EPERM), "refused by the kernel (EPERM): the platform restricts this program type"},
		{"eperm unprivileged", false, wrap(unix.EPERM), "refused by the kernel (EPERM): vigil lacks CAP_BPF and CAP_SYS_ADMIN; run it as root"},
		{"not supported", true, wrap(ebpf.ErrNotSupported), "not supported"},
		{"einval", true, wrap(unix.EINVAL), "rejected as invalid, most likely not supported by this kernel: load x: invalid argument"},
		{"enoent", true, wrap(unix.ENOENT), "not found (ENOENT): load x: no such file or directory"},
		{"other", true, errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (env{privileged: tt.privileged}).explain(tt.err, "program type"); got != tt.want {
				t.Errorf("explain() = %q, want %q", got, tt.want)
			}
		})
	}
}

func wrap(err error) error { return fmt.Errorf("load x: %w", err) }

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
