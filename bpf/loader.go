package bpf

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-project/vigil/bpf/cgroup"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Ring buffer sizes when Options.RingSize and PriorityRingSize are 0.
const (
	DefaultRingSize         = 8 << 20
	DefaultPriorityRingSize = 4 << 20
)

// The per-process rate limit when Options.RateLimit and RateBurst are 0:
// far above what a compiler, a package manager or a backup reaches
// (thousands of opens a second), far below a process that opens in a
// tight loop (about 180,000 a second on one core).
const (
	DefaultRateLimit = 20000
	DefaultRateBurst = 20000
)

// Options configure the kernel side.
type Options struct {
	// RingSize is the size in bytes of the bulk ring buffer, which
	// carries the high-volume file types (event.Class.Bulk): a power of
	// two and a multiple of the page size. 0 means DefaultRingSize.
	RingSize int
	// PriorityRingSize is the size of the priority ring buffer, which
	// carries every other type, the records of enforcement and the flood
	// records. 0 means DefaultPriorityRingSize.
	PriorityRingSize int
	// RateLimit is every process's budget, in records a second, on each
	// ring, for the types under the rate limit (event.Class.Limited);
	// records beyond it are counted (Probes.Limited) and not sent, and
	// the reader's Flood callback hears when a process starts and stops
	// going over it. 0 means DefaultRateLimit; < 0 means no limit.
	RateLimit int
	// RateBurst is how many records a process may send at once beyond
	// its rate. 0 means DefaultRateBurst.
	RateBurst int
	// Types are the event types reported. exec, fork and exit are always
	// on in the kernel, because the process table needs them (they are
	// rare next to opens); the reader still delivers only what is asked
	// for. Empty means every type.
	Types []event.Type
	// SelfPID is the process whose events are never reported: vigil
	// itself. 0 means os.Getpid(); -1 reports every process.
	SelfPID int
	// TargetPID, when non-zero, restricts events to that process.
	TargetPID uint32
	// Cgroup is the hierarchy whose cgroup ids records carry (and the
	// reader resolves to container ids). The zero value means
	// cgroup.DetectHost: cgroup v2 when it is mounted, else a v1 hierarchy.
	Cgroup cgroup.Hierarchy
	// WakeupBytes wakes the reader once this much data waits in the ring.
	// 0 means a quarter of the ring, at most 256 KiB.
	WakeupBytes uint64
	// WakeupInterval is the least time between two wakeups of the reader
	// by the kernel, and how long the reader keeps polling after one: the
	// bound on delivery latency. 0 means DefaultWakeupInterval.
	WakeupInterval time.Duration
	// PollInterval is how long the reader sleeps between two drains of
	// the rings while records flow (the kernel sends no wakeups then,
	// unless WakeupBytes wait): the bound on delivery latency under load.
	// 0 means DefaultPollInterval; less than WakeupInterval means
	// WakeupInterval.
	PollInterval time.Duration
	// Env is the environment collected at exec; the zero value collects
	// none.
	Env plan.Env
	// NoSetidOld leaves the set*id entry programs off from the start (no
	// rule reads setid.old_*); see plan.ArgFilter.NoSetidOld.
	NoSetidOld bool
}

// SetEnv changes what exec records carry, in place.
func (p *Probes) SetEnv(o plan.Env) error {
	if o.Bytes < 0 || o.Bytes > plan.MaxEnvBytes {
		return fmt.Errorf("environment bytes %d: must be between 0 and %d", o.Bytes, plan.MaxEnvBytes)
	}
	values := make(map[string]bool, len(o.Values))
	for _, v := range o.Values {
		values[v] = true
	}
	p.env.Store(&values)
	p.cfg.EnvBytes = uint32(o.Bytes)
	return p.writeConfig()
}

// DefaultWakeupInterval batches wakeups to at most 500 a second while
// keeping delivery within a few milliseconds.
const DefaultWakeupInterval = 2 * time.Millisecond

// DefaultPollInterval: a Go wake-up costs 50-90 us of CPU on this VM (a
// throwaway sleep/epoll loop, 2026-12-04; docs/performance.md), so a 2 ms
// window cost ~22 ms of CPU a second while records flowed, 6-9 ms at
// 10 ms. WakeupBytes still makes the kernel wake a polling reader early.
const DefaultPollInterval = 10 * time.Millisecond

// DefaultOptions returns the options `vigil run` uses without a config.
func DefaultOptions() Options {
	return Options{}
}

// Probes is the loaded and attached kernel side.
type Probes struct {
	objs   vigilObjects
	links  []link.Link
	cfg    vigilVgConfig
	poll   time.Duration // the reader's window while records flow (PollInterval)
	cgroup cgroup.Hierarchy
	// noPolling is set once the reader-polling flag proved unwritable
	// (no memory-mapped .bss): the kernel then wakes the reader every
	// wakeup interval, as if it never polled.
	noPolling bool
	tps       map[string]link.Link // attached syscall tracepoints, by name
	// noSetidOld: no rule reads the ids before a set*id call, so the
	// entry programs that save them are not attached.
	noSetidOld bool
	missing    []string // syscalls this kernel lacks (MissingHooks)
	env        atomic.Pointer[map[string]bool]
	// applied is the plan Apply last carried out in full.
	applied *plan.Plan
	policyFields
}

// fence is the target of a locked add, a full memory barrier on amd64.
var fence atomic.Uint64

// setReaderPolling tells the kernel whether the reader polls the ring on
// its own (no wakeups needed) or sleeps until woken. Stopping also resets
// the wakeup rate limit, so that the next record wakes the reader at once.
// Only the reader's goroutine calls it.
func (p *Probes) setReaderPolling(on bool) {
	if p.noPolling || p.objs.VgReaderPolling == nil {
		return
	}
	var v uint32
	if on {
		v = 1
	}
	if err := p.objs.VgReaderPolling.Set(v); err != nil {
		p.noPolling = true
		return
	}
	if !on {
		p.objs.VgLastWakeup.Set(uint64(0))
	}
	// The store must be visible before the reader looks at the ring
	// again (the kernel side pairs this with its commit's barrier).
	fence.Add(1)
}

// alwaysOn are the types the process table depends on.
var alwaysOn = []event.Type{event.TypeExec, event.TypeFork, event.TypeExit}

func (o Options) config() (vigilVgConfig, error) {
	var c vigilVgConfig
	switch {
	case o.SelfPID == 0:
		c.SelfTgid = uint32(os.Getpid())
	case o.SelfPID > 0:
		c.SelfTgid = uint32(o.SelfPID)
	}
	c.TargetTgid = o.TargetPID
	types := o.Types
	if len(types) == 0 {
		types = event.Types()
	}
	for _, t := range append(types, alwaysOn...) {
		if t == event.TypeNone || t >= event.Type(vigilVgTypeVG_TYPE_MAX) {
			return c, fmt.Errorf("event type %d has no kernel probe", t)
		}
		c.TypeMask |= 1 << t
	}
	for _, t := range event.Types() {
		if t.Info().Class.Bulk() {
			c.BulkTypes |= 1 << t
		}
		if t.Info().Class.Limited() {
			c.LimitTypes |= 1 << t
		}
	}
	if o.RateLimit >= 0 {
		rate, burst := o.RateLimit, o.RateBurst
		if rate == 0 {
			rate = DefaultRateLimit
		}
		if burst == 0 {
			burst = DefaultRateBurst
		}
		if burst < 0 || rate > int(time.Second) {
			return c, fmt.Errorf("rate limit %d a second, burst %d: want a rate of at most %d and a burst >= 0", rate, burst, int(time.Second))
		}
		c.RateIntervalNs = uint64(time.Second) / uint64(rate)
		c.RateBurstNs = uint64(burst) * c.RateIntervalNs
	}
	c.CgroupV1Subsys = -1
	c.WakeupBytes = o.WakeupBytes
	if c.WakeupBytes == 0 {
		c.WakeupBytes = min(uint64(min(o.ringSize(), o.priorityRingSize()))/4, 256<<10)
	}
	c.WakeupNs = uint64(o.WakeupInterval)
	if c.WakeupNs == 0 {
		c.WakeupNs = uint64(DefaultWakeupInterval)
	}
	return c, nil
}

func (o Options) ringSize() int {
	if o.RingSize == 0 {
		return DefaultRingSize
	}
	return o.RingSize
}

func (o Options) priorityRingSize() int {
	if o.PriorityRingSize == 0 {
		return DefaultPriorityRingSize
	}
	return o.PriorityRingSize
}

func validRingSize(n int) error {
	page := os.Getpagesize()
	if n < page || n&(n-1) != 0 {
		return fmt.Errorf("ring buffer size %d: must be a power of two and at least the page size (%d)", n, page)
	}
	return nil
}

// Load loads the BPF object into the kernel, writes its configuration and
// attaches every program. Close detaches everything.
func Load(o Options) (*Probes, error) {
	if err := validRingSize(o.ringSize()); err != nil {
		return nil, err
	}
	if err := validRingSize(o.priorityRingSize()); err != nil {
		return nil, fmt.Errorf("priority %w", err)
	}
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	hier := o.Cgroup
	if hier.Mount == "" {
		if hier, err = cgroup.DetectHost(); err != nil {
			return nil, fmt.Errorf("find the cgroup hierarchy: %w", err)
		}
	}
	if hier.Version == 1 {
		if cfg.CgroupV1Subsys, err = subsysID(hier.Subsys); err != nil {
			return nil, err
		}
	}
	spec, err := loadVigil()
	if err != nil {
		return nil, fmt.Errorf("parse bpf object: %w", err)
	}
	spec.Maps["vg_bulk"].MaxEntries = uint32(o.ringSize())
	spec.Maps["vg_events"].MaxEntries = uint32(o.priorityRingSize())

	p := &Probes{cfg: cfg, cgroup: hier, noSetidOld: o.NoSetidOld, poll: o.PollInterval}
	if p.poll == 0 {
		p.poll = DefaultPollInterval
	}
	p.poll = max(p.poll, time.Duration(cfg.WakeupNs))
	if o.Env.Bytes < 0 || o.Env.Bytes > plan.MaxEnvBytes {
		return nil, fmt.Errorf("environment bytes %d: must be between 0 and %d", o.Env.Bytes, plan.MaxEnvBytes)
	}
	p.cfg.EnvBytes = uint32(o.Env.Bytes)
	values := make(map[string]bool, len(o.Env.Values))
	for _, v := range o.Env.Values {
		values[v] = true
	}
	p.env.Store(&values)
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load bpf programs: %+v", verr)
		}
		return nil, fmt.Errorf("load bpf programs: %w", err)
	}
	if err := p.writeConfig(); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.attach(); err != nil {
		p.Close()
		return nil, err
	}
	// Where BPF LSM enforces, socket_connect denies connects; the cgroup
	// hooks would judge every connect a second time for nothing.
	p.attachLSM()
	if p.lsm {
		p.cgReason = "not needed: BPF LSM denies connects"
	} else {
		p.attachCgroupConnect()
	}
	return p, nil
}

func (p *Probes) attach() error {
	btfs := []struct {
		prog *ebpf.Program
		name string
	}{
		{p.objs.TpExec, "sched_process_exec"},
		{p.objs.TpFork, "sched_process_fork"},
		{p.objs.TpExit, "sched_process_exit"},
	}
	for _, b := range btfs {
		l, err := link.AttachTracing(link.TracingOptions{Program: b.prog})
		if err != nil {
			return fmt.Errorf("attach tp_btf/%s: %w", b.name, err)
		}
		p.links = append(p.links, l)
	}
	return p.syncHooks(p.cfg.TypeMask)
}

func (p *Probes) writeConfig() error {
	if err := p.objs.VgCfg.Update(uint32(0), &p.cfg, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write kernel config: %w", err)
	}
	return nil
}

// SetTypes changes the reported event types in place, without detaching:
// the kernel stops copying events of the other types at once.
func (p *Probes) SetTypes(types []event.Type) error {
	o := Options{Types: types}
	c, err := o.config()
	if err != nil {
		return err
	}
	p.cfg.TypeMask = c.TypeMask
	if err := p.writeConfig(); err != nil {
		return err
	}
	return p.syncHooks(c.TypeMask)
}

// Apply carries out a kernel plan, in this order: the types traced (and
// so the programs attached), the environment exec records carry, the
// open filter, the argument and path filters, then the enforcement
// policy. The policy is installed only when it differs from the one last
// applied (an install reads every process's executable). On an error the
// parts before it stay applied: the caller applies a plan it knows again.
func (p *Probes) Apply(pl plan.Plan) error {
	if err := p.SetTypes(pl.Types); err != nil {
		return fmt.Errorf("kernel event types: %w", err)
	}
	if err := p.SetEnv(pl.Env); err != nil {
		return fmt.Errorf("kernel environment collection: %w", err)
	}
	if err := p.SetOpenFilter(pl.Open); err != nil {
		return fmt.Errorf("kernel open filter: %w", err)
	}
	if err := p.SetArgFilter(pl.Args); err != nil {
		return fmt.Errorf("kernel argument filters: %w", err)
	}
	if p.applied == nil || !reflect.DeepEqual(p.applied.Policy, pl.Policy) {
		if err := p.SetPolicy(pl.Policy); err != nil {
			return err
		}
	}
	p.applied = &pl
	return nil
}

// Drops returns the ring buffer reserve failures per event type, summed
// over CPUs: records the kernel produced and could not queue (ring full).
func (p *Probes) Drops() (map[event.Type]uint64, error) {
	return sumPerCPU(p.objs.VgDrops)
}

// Limited returns the records the per-process rate limit kept from the
// rings, per event type, summed over CPUs.
func (p *Probes) Limited() (map[event.Type]uint64, error) {
	return sumPerCPU(p.objs.VgLimited)
}

// Close detaches every program and frees the maps.
func (p *Probes) Close() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	for name, l := range p.tps {
		errs = append(errs, l.Close())
		delete(p.tps, name)
	}
	errs = append(errs, p.lsmProgs.Close(), p.objs.Close())
	return errors.Join(errs...)
}

// subsysID is the kernel's id of a cgroup v1 subsystem (enum
// cgroup_subsys_id), taken from kernel BTF: the line order of /proc/cgroups
// stops matching it when controllers lack v1 support (Linux 6.12+).
func subsysID(name string) (int32, error) {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return 0, fmt.Errorf("load kernel BTF: %w", err)
	}
	var ids *btf.Enum
	if err := kernel.TypeByName("cgroup_subsys_id", &ids); err != nil {
		return 0, fmt.Errorf("find enum cgroup_subsys_id in kernel BTF: %w", err)
	}
	want := name + "_cgrp_id"
	if name == "blkio" { // the v1 name of the io controller
		want = "io_cgrp_id"
	}
	for _, v := range ids.Values {
		if v.Name == want {
			if v.Value > 15 {
				return 0, fmt.Errorf("cgroup subsystem %s has id %d, beyond what the probes index", name, v.Value)
			}
			return int32(v.Value), nil
		}
	}
	return 0, fmt.Errorf("cgroup v1 subsystem %q: no %s in the kernel's enum cgroup_subsys_id", name, want)
}
