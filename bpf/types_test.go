package bpf

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// The committed object's BTF is what the kernel side was built from.
func objectSpec(t *testing.T) *ebpf.CollectionSpec {
	t.Helper()
	spec, err := loadVigil()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// enumValues are the constants of a C enum, by name.
func enumValues(t *testing.T, spec *ebpf.CollectionSpec, name string) map[string]uint64 {
	t.Helper()
	var enum *btf.Enum
	if err := spec.Types.TypeByName(name, &enum); err != nil {
		t.Fatalf("enum %s: %v", name, err)
	}
	out := make(map[string]uint64, len(enum.Values))
	for _, v := range enum.Values {
		out[v.Name] = v.Value
	}
	return out
}

// Every Go event type is the record tag its row names (enum vg_type), and
// every tag of the C enum is a Go type.
func TestTypesMatchC(t *testing.T) {
	spec := objectSpec(t)
	tags := enumValues(t, spec, "vg_type")
	if got, want := tags["VG_TYPE_MAX"], uint64(len(event.Types())+1); got != want {
		t.Errorf("VG_TYPE_MAX = %d, want %d (one past the last Go type)", got, want)
	}
	delete(tags, "VG_TYPE_MAX")
	for _, typ := range event.Types() {
		info := typ.Info()
		v, ok := tags[info.C]
		switch {
		case !ok:
			t.Errorf("%s: %s is not in enum vg_type", typ, info.C)
		case v != uint64(typ):
			t.Errorf("%s: Go %d, C %s = %d", typ, typ, info.C, v)
		}
		delete(tags, info.C)
		var s *btf.Struct
		if err := spec.Types.TypeByName(info.Record.String(), &s); err != nil {
			t.Errorf("%s: record struct %q: %v", typ, info.Record, err)
		}
	}
	for name, v := range tags {
		t.Errorf("enum vg_type: %s = %d has no Go event type", name, v)
	}
}

// The hooks the type table implies are the object's syscall programs, each
// on its own tracepoint, and no syscall program is left out.
func TestHooksMatchPrograms(t *testing.T) {
	spec := objectSpec(t)
	used := map[string]bool{}
	for _, h := range syscallHooks {
		p, ok := spec.Programs[h.prog]
		if !ok {
			t.Errorf("%s: no program %s", h.typ, h.prog)
			continue
		}
		if want := "tp/syscalls/" + h.tp; p.SectionName != want {
			t.Errorf("%s: section %s, want %s", h.prog, p.SectionName, want)
		}
		if used[h.prog] {
			t.Errorf("%s: attached twice", h.prog)
		}
		used[h.prog] = true
	}
	for name, p := range spec.Programs {
		if strings.HasPrefix(p.SectionName, "tp/syscalls/") && !used[name] {
			t.Errorf("program %s (%s) is in no type's syscalls", name, p.SectionName)
		}
	}
}

// The syscall ids (enum vg_syscall) name the syscalls of the type table,
// both ways.
func TestSyscallIDsMatchC(t *testing.T) {
	ids := enumValues(t, objectSpec(t), "vg_syscall")
	named := map[string]bool{}
	for c, id := range ids {
		want := strings.ToLower(strings.TrimPrefix(c, "VG_SYS_"))
		if got := syscallName(uint16(id)); got != want {
			t.Errorf("%s = %d: named %q, want %q", c, id, got, want)
		}
		named[want] = true
	}
	for _, typ := range event.Types() {
		for _, sc := range typ.Info().Syscalls {
			if !named[sc.Name] {
				t.Errorf("%s: syscall %s has no VG_SYS_ id", typ, sc.Name)
			}
		}
	}
}

// evt.source is the hook that built the record: an exec the LSM hook
// refused comes from lsm.c, everything else from a tracepoint.
func TestEventSource(t *testing.T) {
	recs := sampleRecords(t)
	procs := process.New(process.Options{})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	for name, want := range map[string]string{"exec": event.SourceTracepoint, "exec_denied": event.SourceLSM,
		"open": event.SourceTracepoint, "connect": event.SourceTracepoint, "bpf": event.SourceTracepoint} {
		var d Record
		if err := r.dec.Decode(recs[name], &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ev := r.handle(&d)
		if ev.Source != want {
			t.Errorf("%s: evt.source %q, want %q", name, ev.Source, want)
		}
		if name == "exec_denied" && ev.Res != -1 {
			t.Errorf("denied exec: res %d, want -1", ev.Res)
		}
	}
}

// Every type has a traffic class, and the kernel's ring and rate-limit
// masks are the class column of the type table: the file types on the
// bulk ring, process lifecycle never limited.
func TestClassesReachKernel(t *testing.T) {
	c, err := DefaultOptions().config()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range event.Types() {
		cl := typ.Info().Class
		if cl == event.ClassNone {
			t.Errorf("%s: no traffic class in the type table", typ)
		}
		if got := c.BulkTypes&(1<<typ) != 0; got != (cl == event.ClassFile) {
			t.Errorf("%s (%s): on the bulk ring %v", typ, cl, got)
		}
		if got := c.LimitTypes&(1<<typ) != 0; got != (cl != event.ClassProcess) {
			t.Errorf("%s (%s): rate limited %v", typ, cl, got)
		}
	}
	for _, typ := range []event.Type{event.TypeExec, event.TypeFork, event.TypeExit, event.TypeConnect, event.TypeSetuid} {
		if c.BulkTypes&(1<<typ) != 0 {
			t.Errorf("%s is on the bulk ring", typ)
		}
	}
	if want := uint64(time.Second) / DefaultRateLimit; c.RateIntervalNs != want || c.RateBurstNs != DefaultRateBurst*want {
		t.Errorf("rate: interval %d burst %d ns, want %d and %d", c.RateIntervalNs, c.RateBurstNs, want, DefaultRateBurst*want)
	}
	if off, err := (Options{RateLimit: -1}).config(); err != nil || off.RateIntervalNs != 0 {
		t.Errorf("RateLimit -1: interval %d, %v; want 0 (no limit)", off.RateIntervalNs, err)
	}
}
