package features

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	ebpffeatures "github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

const (
	vmlinuxBTF = "/sys/kernel/btf/vmlinux"
	kprobePMU  = "/sys/bus/event_source/devices/kprobe"
	// A kernel function every supported kernel has and BTF describes, for the
	// function-entry hooks; it is also what vigil's own unlink probes target.
	probeFunc = "do_unlinkat"
)

// errBPFLSMOff means BPF LSM programs may load and attach but enforce nothing.
var errBPFLSMOff = errors.New("bpf is not in the active LSM list")

// env is what every probe may need to know about the process.
type env struct {
	fsErr      error // from EnsureFS: explains tracepoint and LSM list failures
	privileged bool  // CAP_BPF or CAP_SYS_ADMIN: tells EPERM causes apart
	cgroupRoot string
	cgroupErr  error
}

type probe struct {
	name     string
	required bool
	run      func(env) (detail string, err error)
}

func probes() []probe {
	return []probe{
		{KernelBTF, true, probeKernelBTF},
		{RingBuf, true, probeRingBuf},
		{Tracepoint, true, probeTracepoint},
		{BTFTracepoint, true, probeBTFTracepoint},
		{CurrentTaskBTF, true, probeHelper(asm.FnGetCurrentTaskBtf, "bpf_get_current_task_btf")},
		{TaskPtRegs, true, probeHelper(asm.FnTaskPtRegs, "bpf_task_pt_regs")},
		{Loop, true, probeHelper(asm.FnLoop, "bpf_loop")},
		{LSMProgram, false, probeLSMProgram},
		{LSMActive, false, probeLSMActive},
		{CgroupConnect4, false, probeCgroupConnect(ebpf.AttachCGroupInet4Connect, "cgroup/connect4")},
		{CgroupConnect6, false, probeCgroupConnect(ebpf.AttachCGroupInet6Connect, "cgroup/connect6")},
		{SendSignal, false, probeHelper(asm.FnSendSignal, "bpf_send_signal")},
		{FEntry, false, probeFEntry},
		{Kprobe, false, probeKprobe},
	}
}

// Probe asks the running kernel for every feature vigil uses. It mounts
// tracefs and securityfs first (see EnsureFS), and leaves no program, map or
// link behind. Failures are recorded in the report, never returned.
func Probe() Report {
	e := env{fsErr: EnsureFS(), privileged: privileged()}
	e.cgroupRoot, e.cgroupErr = cgroup2Root()

	r := Report{Kernel: kernelRelease()}
	for _, p := range probes() {
		detail, err := p.run(e)
		r.Features = append(r.Features, Feature{
			Name:      p.name,
			Available: err == nil,
			Required:  p.required,
			Detail:    detail,
			Err:       err,
		})
	}
	return r
}

func probeKernelBTF(e env) (string, error) {
	f, err := os.Open(vmlinuxBTF)
	if errors.Is(err, fs.ErrNotExist) {
		return "no " + vmlinuxBTF + ": the kernel was built without CONFIG_DEBUG_INFO_BTF", err
	}
	if err != nil {
		return "open " + vmlinuxBTF + ": " + e.explain(err, "file"), err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "stat " + vmlinuxBTF + ": " + err.Error(), err
	}
	// LoadKernelSpec caches the parsed spec for the process, so the loader's
	// CO-RE relocations and the tp_btf probe below reuse this work.
	if _, err := btf.LoadKernelSpec(); err != nil {
		return "parse " + vmlinuxBTF + ": " + err.Error(), fmt.Errorf("load kernel btf: %w", err)
	}
	return fmt.Sprintf("parsed %s (%d KiB)", vmlinuxBTF, fi.Size()/1024), nil
}

func probeRingBuf(e env) (string, error) {
	if err := ebpffeatures.HaveMapType(ebpf.RingBuf); err != nil {
		return "create a BPF_MAP_TYPE_RINGBUF map: " + e.explain(err, "map type"), err
	}
	return "created a BPF_MAP_TYPE_RINGBUF map", nil
}

func probeTracepoint(e env) (string, error) {
	spec := &ebpf.ProgramSpec{Type: ebpf.TracePoint}
	detail, err := loadAttach(e, "tp/syscalls/sys_exit_openat", spec, func(p *ebpf.Program) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_exit_openat", p, nil)
	})
	if err != nil && e.fsErr != nil {
		detail += " (tracefs: " + e.fsErr.Error() + ")"
	}
	return detail, err
}

func probeBTFTracepoint(e env) (string, error) {
	spec := &ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceRawTp,
		AttachTo:   "sched_process_exec",
	}
	return loadAttach(e, "tp_btf/sched_process_exec", spec, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
	})
}

// probeHelper asks whether a tracepoint program may call fn: vigil's
// observation programs are tracepoints, and helpers are allowed per program
// type, so a helper present for LSM programs says nothing here.
func probeHelper(fn asm.BuiltinFunc, cname string) func(env) (string, error) {
	return func(e env) (string, error) {
		if err := ebpffeatures.HaveProgramHelper(ebpf.TracePoint, fn); err != nil {
			return "load a tracepoint program calling " + cname + ": " + e.explain(err, "program type"), err
		}
		return "loaded a tracepoint program calling " + cname, nil
	}
}

func probeLSMProgram(e env) (string, error) {
	spec := &ebpf.ProgramSpec{
		Type:       ebpf.LSM,
		AttachType: ebpf.AttachLSMMac,
		AttachTo:   "file_open",
	}
	detail, err := loadAttach(e, "lsm/file_open", spec, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachLSM(link.LSMOptions{Program: p})
	})
	switch {
	case errors.Is(err, unix.EPERM):
		return "lsm programs refused by this kernel: " + detail, err
	case err == nil:
		return detail + " (it enforces nothing unless bpf is in " + lsmFile + ")", nil
	}
	return detail, err
}

func probeLSMActive(e env) (string, error) {
	raw, err := os.ReadFile(lsmFile)
	if err != nil {
		detail := "read " + lsmFile + ": " + err.Error()
		if e.fsErr != nil {
			detail += " (securityfs: " + e.fsErr.Error() + ")"
		}
		return detail, err
	}
	active := strings.TrimSpace(string(raw))
	for lsm := range strings.SplitSeq(active, ",") {
		if lsm == "bpf" {
			return "active LSMs: " + active, nil
		}
	}
	return "active LSMs are " + active + "; without bpf among them LSM programs enforce nothing " +
		"(add bpf to the lsm= kernel command line)", errBPFLSMOff
}

func probeCgroupConnect(at ebpf.AttachType, what string) func(env) (string, error) {
	return func(e env) (string, error) {
		if e.cgroupErr != nil {
			return "find the cgroup v2 root to attach " + what + ": " + e.cgroupErr.Error(), e.cgroupErr
		}
		// Returning 1 allows the connect: the probe is invisible to the host
		// for the microseconds it is attached.
		spec := &ebpf.ProgramSpec{
			Type:         ebpf.CGroupSockAddr,
			AttachType:   at,
			Instructions: returnImm(1),
		}
		detail, err := loadAttach(e, what, spec, func(p *ebpf.Program) (link.Link, error) {
			return link.AttachCgroup(link.CgroupOptions{Path: e.cgroupRoot, Attach: at, Program: p})
		})
		if err != nil {
			return detail, err
		}
		return "loaded " + what + " and attached it to the cgroup v2 root " + e.cgroupRoot, nil
	}
}

func probeFEntry(e env) (string, error) {
	spec := &ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceFEntry,
		AttachTo:   probeFunc,
	}
	return loadAttach(e, "fentry/"+probeFunc, spec, func(p *ebpf.Program) (link.Link, error) {
		return link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceFEntry})
	})
}

func probeKprobe(e env) (string, error) {
	const what = "kprobe/" + probeFunc
	prog, detail, err := load(e, what, &ebpf.ProgramSpec{Type: ebpf.Kprobe})
	if err != nil {
		return detail, err
	}
	defer prog.Close()
	detail, err = attach(e, what, prog, func(p *ebpf.Program) (link.Link, error) {
		return link.Kprobe(probeFunc, p, nil)
	})
	if err != nil && !exists(kprobePMU) && isFS(tracingDir, unix.TRACEFS_MAGIC) && !exists(tracingDir+"/kprobe_events") {
		// cilium/ebpf reports only the last fallback's ENOENT; the cause is
		// that neither kprobe interface exists.
		return "attach " + what + ": the kernel has no kprobe support " +
			"(no kprobe PMU, no kprobe_events in tracefs: CONFIG_KPROBES is off)", err
	}
	return detail, err
}

// loadAttach loads spec as a program that returns 0 (unless spec has its own
// instructions), attaches it with attachFn, and closes both.
func loadAttach(e env, what string, spec *ebpf.ProgramSpec, attachFn func(*ebpf.Program) (link.Link, error)) (string, error) {
	prog, detail, err := load(e, what, spec)
	if err != nil {
		return detail, err
	}
	defer prog.Close()
	return attach(e, what, prog, attachFn)
}

func load(e env, what string, spec *ebpf.ProgramSpec) (*ebpf.Program, string, error) {
	spec.Name = "vigil_probe"
	spec.License = "GPL"
	if spec.Instructions == nil {
		spec.Instructions = returnImm(0)
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, "load " + what + ": " + e.explain(err, "program type"), fmt.Errorf("load %s: %w", what, err)
	}
	return prog, "", nil
}

func attach(e env, what string, prog *ebpf.Program, attachFn func(*ebpf.Program) (link.Link, error)) (string, error) {
	l, err := attachFn(prog)
	if err != nil {
		return "attach " + what + ": " + e.explain(err, "attachment"), fmt.Errorf("attach %s: %w", what, err)
	}
	if err := l.Close(); err != nil {
		return "detach " + what + ": " + err.Error(), fmt.Errorf("detach %s: %w", what, err)
	}
	return "loaded and attached " + what, nil
}

func returnImm(v int32) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, v),
		asm.Return(),
	}
}

// explain turns a probe error into words; the errno stays visible because
// users search for it. restricted names what EPERM refused.
func (e env) explain(err error, restricted string) string {
	var verr *ebpf.VerifierError
	switch {
	case errors.Is(err, unix.EPERM) && !e.privileged:
		return "refused by the kernel (EPERM): vigil lacks CAP_BPF and CAP_SYS_ADMIN; run it as root"
	case errors.Is(err, unix.EPERM):
		return "refused by the kernel (EPERM): the platform restricts this " + restricted
	case errors.As(err, &verr) && len(verr.Log) > 0:
		return fmt.Sprintf("rejected by the verifier: %+v", verr)
	case errors.Is(err, ebpf.ErrNotSupported):
		return "not supported"
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.E2BIG):
		return "rejected as invalid, most likely not supported by this kernel: " + err.Error()
	case errors.Is(err, unix.ENOENT):
		return "not found (ENOENT): " + err.Error()
	case errors.Is(err, unix.EACCES):
		return "permission denied (EACCES): " + err.Error()
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTSUP):
		return "not supported (EOPNOTSUPP): " + err.Error()
	}
	return err.Error()
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// privileged reports whether the effective capabilities include CAP_BPF or
// CAP_SYS_ADMIN, the two that let a process load programs at all.
func privileged() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			break
		}
		return caps&(1<<unix.CAP_BPF|1<<unix.CAP_SYS_ADMIN) != 0
	}
	return os.Geteuid() == 0
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// BPFLSM reports whether BPF LSM programs would enforce on this kernel: bpf
// is an active LSM and an LSM program loads and attaches. When not, the
// string says why.
func BPFLSM() (bool, string) {
	e := env{fsErr: EnsureFS(), privileged: privileged()}
	if d, err := probeLSMActive(e); err != nil {
		return false, d
	}
	if d, err := probeLSMProgram(e); err != nil {
		return false, d
	}
	return true, ""
}
