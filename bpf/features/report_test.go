package features

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

var (
	ringbufMissing = Feature{Name: RingBuf, Required: true, Detail: "not supported", Err: ebpf.ErrNotSupported}
	tpBTFMissing   = Feature{Name: BTFTracepoint, Required: true,
		Detail: "load tp_btf/sched_process_exec: refused by the kernel (EPERM): the platform restricts this program type"}
	btfOK       = Feature{Name: KernelBTF, Available: true, Required: true, Detail: "parsed /sys/kernel/btf/vmlinux (5387 KiB)"}
	fentryNo    = Feature{Name: FEntry, Detail: "load fentry/do_unlinkat: refused", Err: errors.New("eperm")}
	sendSignalY = Feature{Name: SendSignal, Available: true, Detail: "loaded a tracepoint program calling bpf_send_signal"}
)

func TestReportErr(t *testing.T) {
	tests := []struct {
		name     string
		features []Feature
		want     string // "" means Err() == nil
		missing  []string
	}{
		{name: "empty"},
		{name: "all available", features: []Feature{btfOK, sendSignalY}},
		{name: "only optional missing", features: []Feature{btfOK, fentryNo, sendSignalY}},
		{
			name:     "one required missing",
			features: []Feature{btfOK, ringbufMissing, fentryNo},
			want:     "kernel lacks required features: ring buffer map (BPF_MAP_TYPE_RINGBUF, Linux 5.8+): not supported",
			missing:  []string{RingBuf},
		},
		{
			name:     "two required missing",
			features: []Feature{ringbufMissing, btfOK, tpBTFMissing, fentryNo},
			want: "kernel lacks required features: ring buffer map (BPF_MAP_TYPE_RINGBUF, Linux 5.8+): not supported; " +
				"BTF tracepoint programs (tp_btf/sched_process_exec, Linux 5.5+): " +
				"load tp_btf/sched_process_exec: refused by the kernel (EPERM): the platform restricts this program type",
			missing: []string{RingBuf, BTFTracepoint},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Report{Kernel: "6.18.44", Features: tt.features}
			var names []string
			for _, f := range r.Missing() {
				names = append(names, f.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.missing) {
				t.Errorf("Missing() = %q, want %q", names, tt.missing)
			}
			err := r.Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Err() = nil, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Err() =\n%s\nwant\n%s", got, tt.want)
			}
			if !errors.Is(err, ErrMissing) {
				t.Error("errors.Is(err, ErrMissing) = false")
			}
			var me *MissingError
			if !errors.As(err, &me) || len(me.Features) != len(tt.missing) {
				t.Errorf("errors.As(err, *MissingError) = %v, features %d", me, len(tt.missing))
			}
			// The ring buffer's cause stays reachable for callers that branch on it.
			if !errors.Is(err, ebpf.ErrNotSupported) {
				t.Error("errors.Is(err, ebpf.ErrNotSupported) = false")
			}
		})
	}
}

func TestReportHasLookup(t *testing.T) {
	r := Report{Features: []Feature{btfOK, fentryNo}}
	for _, tt := range []struct {
		name     string
		has, got bool
	}{
		{KernelBTF, true, true},
		{FEntry, false, true},
		{Kprobe, false, false},
	} {
		if got := r.Has(tt.name); got != tt.has {
			t.Errorf("Has(%q) = %v, want %v", tt.name, got, tt.has)
		}
		f, ok := r.Lookup(tt.name)
		if ok != tt.got || (ok && f.Name != tt.name) {
			t.Errorf("Lookup(%q) = %v, %v", tt.name, f.Name, ok)
		}
	}
}

func TestReportWriteText(t *testing.T) {
	multiline := Feature{Name: Loop, Required: true, Detail: "rejected by the verifier: load program: invalid argument:\n\t0: (85) call unknown#181\n"}
	r := Report{Kernel: "6.18.44-fc", Features: []Feature{btfOK, multiline, fentryNo}}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"kernel 6.18.44-fc\n" +
		"FEATURE                                           AVAILABLE  REQUIRED  DETAIL\n" +
		"kernel BTF (/sys/kernel/btf/vmlinux, Linux 5.4+)  yes        yes       parsed /sys/kernel/btf/vmlinux (5387 KiB)\n" +
		"bpf_loop helper (Linux 5.17+)                     no         yes       rejected by the verifier: load program: invalid argument:\n" +
		"                                                                           0: (85) call unknown#181\n" +
		"fentry programs (fentry/do_unlinkat, Linux 5.5+)  no         no        load fentry/do_unlinkat: refused\n"
	if got := b.String(); got != want {
		t.Errorf("WriteText() =\n%s\nwant\n%s", got, want)
	}
}

// What `vigil check` says about enforcement, on this host's kind of kernel
// (LSM programs refused, cgroup hooks fine) and on one without the hooks.
func TestReportEnforcement(t *testing.T) {
	r := Report{Features: []Feature{
		{Name: LSMProgram, Detail: "lsm programs refused by this kernel"},
		{Name: LSMActive, Available: true},
		{Name: CgroupConnect4, Available: true},
		{Name: CgroupConnect6, Available: true},
		{Name: SendSignal, Available: true},
	}}
	want := []string{
		`deny exec, open: unavailable (lsm programs refused by this kernel); such rules need "fallback: kill" or "enforce: false"`,
		"deny connect: cgroup connect4/connect6 programs on the cgroup v2 root (EPERM)",
		"kill: bpf_send_signal(SIGKILL) from the exec, open and connect probes",
	}
	if got := r.Enforcement(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	r = Report{Features: []Feature{
		{Name: LSMActive, Detail: "active LSMs are lockdown,capability; without bpf"},
		{Name: CgroupConnect4, Detail: "no cgroup v2 root"},
		{Name: SendSignal, Detail: "helper refused"},
	}}
	want = []string{
		`deny exec, open: unavailable (active LSMs are lockdown,capability; without bpf); such rules need "fallback: kill" or "enforce: false"`,
		"deny connect: unavailable (no cgroup v2 root)",
		"kill: unavailable (helper refused)",
	}
	if got := r.Enforcement(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
