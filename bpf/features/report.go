package features

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Feature names. The parenthesis names the kernel object and the first
// mainline release that has it, so that a report or an error is actionable
// without a lookup.
const (
	// Required: vigil does not start without these.
	KernelBTF      = "kernel BTF (/sys/kernel/btf/vmlinux, Linux 5.4+)"
	RingBuf        = "ring buffer map (BPF_MAP_TYPE_RINGBUF, Linux 5.8+)"
	Tracepoint     = "tracepoint programs (tp/syscalls/sys_exit_openat)"
	BTFTracepoint  = "BTF tracepoint programs (tp_btf/sched_process_exec, Linux 5.5+)"
	CurrentTaskBTF = "bpf_get_current_task_btf helper (Linux 5.11+)"
	TaskPtRegs     = "bpf_task_pt_regs helper (Linux 5.15+)"
	Loop           = "bpf_loop helper (Linux 5.17+)"
	// Optional: enforcement and alternative hooks, used when present.
	LSMProgram     = "BPF LSM programs (lsm/file_open, Linux 5.7+)"
	LSMActive      = "BPF LSM enabled (bpf in /sys/kernel/security/lsm)"
	CgroupConnect4 = "cgroup connect4 programs (cgroup/connect4 on the cgroup v2 root, Linux 4.17+)"
	CgroupConnect6 = "cgroup connect6 programs (cgroup/connect6 on the cgroup v2 root, Linux 4.17+)"
	SendSignal     = "bpf_send_signal helper (Linux 5.3+)"
	FEntry         = "fentry programs (fentry/do_unlinkat, Linux 5.5+)"
	Kprobe         = "kprobes (kprobe/do_unlinkat)"
)

// ErrMissing is matched (errors.Is) by the error [Report.Err] returns when a
// required feature is unavailable.
var ErrMissing = errors.New("kernel lacks required features")

// Feature is the outcome of one probe.
type Feature struct {
	// Name is one of the constants of this package.
	Name string
	// Available reports whether the probe succeeded on this kernel.
	Available bool
	// Required features are needed for vigil to run at all.
	Required bool
	// Detail says what was tried and, when it failed, why, in words.
	Detail string
	// Err is the underlying error of a failed probe, nil when available.
	Err error
}

// Report is what the running kernel offers.
type Report struct {
	// Kernel is the uname release, e.g. "6.18.44".
	Kernel   string
	Features []Feature
}

// MissingError lists every required feature the kernel lacks.
type MissingError struct {
	Features []Feature
}

func (e *MissingError) Error() string {
	var b strings.Builder
	b.WriteString(ErrMissing.Error())
	b.WriteString(": ")
	for i, f := range e.Features {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Detail)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// Unwrap exposes the probes' own errors, so that callers can still ask, for
// instance, errors.Is(err, ebpf.ErrNotSupported).
func (e *MissingError) Unwrap() []error {
	var errs []error
	for _, f := range e.Features {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errs
}

// Missing returns the required features that are unavailable, in report order.
func (r Report) Missing() []Feature {
	var missing []Feature
	for _, f := range r.Features {
		if f.Required && !f.Available {
			missing = append(missing, f)
		}
	}
	return missing
}

// Err returns nil when every required feature is available, and otherwise a
// *MissingError naming each missing one with its detail.
func (r Report) Err() error {
	missing := r.Missing()
	if len(missing) == 0 {
		return nil
	}
	return &MissingError{Features: missing}
}

// Has reports whether the named feature was probed and is available.
func (r Report) Has(name string) bool {
	f, ok := r.Lookup(name)
	return ok && f.Available
}

// Lookup returns the named feature and whether the report contains it.
func (r Report) Lookup(name string) (Feature, bool) {
	for _, f := range r.Features {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// WriteText writes the report as an aligned table, one feature a line.
// Detail lines after the first (a verifier log) stay in the detail column;
// their tabs become spaces so that they cannot start a new column.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kernel %s\n", r.Kernel)
	fmt.Fprintln(tw, "FEATURE\tAVAILABLE\tREQUIRED\tDETAIL")
	for _, f := range r.Features {
		detail := strings.ReplaceAll(strings.TrimRight(f.Detail, "\n"), "\t", "    ")
		lines := strings.Split(detail, "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, yesNo(f.Available), yesNo(f.Required), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t\t\t%s\n", l)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write feature report: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Enforcement says, one line per capability, how this kernel lets vigil
// act on deny and kill rules (what `vigil check` prints under the table).
func (r Report) Enforcement() []string {
	reason := func(names ...string) string {
		for _, n := range names {
			if f, ok := r.Lookup(n); ok && !f.Available {
				return f.Detail
			}
		}
		return ""
	}
	var out []string
	if why := reason(LSMActive, LSMProgram); why == "" && r.Has(LSMProgram) && r.Has(LSMActive) {
		out = append(out, "deny exec, open, connect: BPF LSM (bprm_check_security, file_open, socket_connect: EPERM before the syscall acts)")
	} else {
		out = append(out, "deny exec, open: unavailable ("+why+`); such rules need "fallback: kill" or "enforce: false"`)
	}
	if r.Has(CgroupConnect4) && r.Has(CgroupConnect6) {
		out = append(out, "deny connect: cgroup connect4/connect6 programs on the cgroup v2 root (EPERM)")
	} else {
		out = append(out, "deny connect: unavailable ("+reason(CgroupConnect4, CgroupConnect6)+")")
	}
	if r.Has(SendSignal) {
		out = append(out, "kill: bpf_send_signal(SIGKILL) from the exec, open and connect probes")
	} else {
		out = append(out, "kill: unavailable ("+reason(SendSignal)+")")
	}
	return out
}
