package process

import (
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

const (
	// DefaultMaxEntries is the default hard cap of the table: pid_max on
	// a default kernel configuration.
	DefaultMaxEntries = 32768
	// exitedKeep is how many exited processes stay in the table, because
	// their children's later events may still name them as parent.
	exitedKeep = 1024
	// maxAncestors caps Process.Ancestors.
	maxAncestors = event.MaxAncestors
)

// Options configure a Table.
type Options struct {
	// MaxEntries is the hard cap on entries; 0 means DefaultMaxEntries.
	MaxEntries int
	// Procfs is where procfs is mounted; "" means /proc.
	Procfs string
	// Containers maps a cgroup id to its container, and says whether that
	// answer is final (false: not resolvable yet, ask again on a later
	// event). It may be nil, and is called from the goroutine that mutates
	// the table.
	Containers func(cgroupID uint64) (event.Container, bool)
	// ExeLayer, when set, says whether a container process's executable
	// is on its overlay's upper layer (internal/overlay): pid's, or when
	// pid is gone, fallback's root is read. known false reads as false.
	ExeLayer func(pid, fallback uint32, exe string) (upper, known bool)
	// BootTime is the wall-clock time of boot, to place /proc start times.
	// Zero means now minus CLOCK_BOOTTIME, the clock /proc counts from.
	BootTime time.Time
}

// Table maps a pid (thread-group id) to the newest snapshot of its process.
// Snapshots are never modified once stored: events hold them and travel to
// other goroutines, so exec, fork and seeding store new ones.
//
// Only one goroutine may call the methods that read or change entries (the
// event reader); Stats may be called from any goroutine.
type Table struct {
	procfs     string
	max        int
	containers func(uint64) (event.Container, bool)
	exeLayer   func(pid, fallback uint32, exe string) (bool, bool)
	boot       time.Time
	// retry holds the cgroup ids whose container was not final yet: the
	// processes in them ask again on their next event.
	retry map[uint64]struct{}
	pipes pipeIndex

	procs map[uint32]*event.Process
	// exited is a FIFO ring of exited processes waiting to be removed. The
	// snapshot is kept to tell the exited process from a newer one that
	// reused its pid.
	exited     []exitedProc
	head, nExt int

	entries                              atomic.Int64
	evictions, misses, procReads, reaped atomic.Uint64
}

type exitedProc struct {
	pid  uint32
	proc *event.Process
}

// Stats are the table's counters.
type Stats struct {
	Entries   int    // processes in the table
	Evictions uint64 // live entries dropped because the table was full
	Misses    uint64 // Lookup calls for unknown pids
	ProcReads uint64 // misses found in procfs
	Reaped    uint64 // exited processes removed
}

// New returns an empty table.
func New(o Options) *Table {
	t := &Table{
		procfs:     o.Procfs,
		max:        o.MaxEntries,
		containers: o.Containers,
		exeLayer:   o.ExeLayer,
		boot:       o.BootTime,
		procs:      make(map[uint32]*event.Process),
		retry:      make(map[uint64]struct{}),
		pipes:      newPipeIndex(),
		exited:     make([]exitedProc, exitedKeep),
	}
	if t.procfs == "" {
		t.procfs = "/proc"
	}
	if t.max <= 0 {
		t.max = DefaultMaxEntries
	}
	if t.boot.IsZero() {
		// CLOCK_BOOTTIME exists since Linux 2.6.39; there is no error to expect.
		t.boot, _ = BootTime()
	}
	return t
}

// Get returns the process pid, or nil if it is unknown.
func (t *Table) Get(pid uint32) *event.Process { return t.procs[pid] }

// Parent returns p's parent, or nil if it is unknown.
func (t *Table) Parent(p *event.Process) *event.Process { return t.procs[p.PPID] }

// Lookup returns the process pid, reading it from procfs and storing it if
// the table does not know it.
func (t *Table) Lookup(pid uint32) *event.Process {
	if p := t.procs[pid]; p != nil {
		return p
	}
	t.misses.Add(1)
	p, err := t.read(pid)
	if err != nil {
		return nil
	}
	t.procReads.Add(1)
	p.Cmdline = event.MakeCmdline(p.Name, p.Argv)
	p.Script = Script(p.Exe, p.Argv, p.Cwd)
	setLineage(p, t.procs[p.PPID])
	p.SName = sessionName(p, t.procs[p.PPID])
	t.store(p)
	return p
}

// Exec stores p, a process that has just executed a new image, as decoded
// from the kernel's record, after filling in Cmdline, Ancestors and
// Container. The table owns p from then on: the caller must not modify it.
func (t *Table) Exec(p *event.Process) *event.Process {
	p.Cmdline = event.MakeCmdline(p.Name, p.Argv)
	p.Script = Script(p.Exe, p.Argv, p.Cwd)
	setLineage(p, t.procs[p.PPID])
	p.SName = sessionName(p, t.procs[p.PPID])
	p.Container = t.container(p.CgroupID, t.procs[p.PID])
	if t.exeLayer != nil && p.Container.FullID != "" && !p.ExeMemfd {
		var fallback uint32 // the parent, when it is in the same container
		if pp := t.procs[p.PPID]; pp != nil && pp.Container.FullID == p.Container.FullID {
			fallback = p.PPID
		}
		var known bool
		p.ExeUpperLayer, known = t.exeLayer(p.PID, fallback, p.Exe)
		if !known {
			// The process and its parent are gone already (a dropped
			// binary that ran and exited with its shell): any other
			// process of the container has the same root.
			p.ExeUpperLayer = t.layerVia(p)
		}
	}
	t.pipes.exec(p, t.procs[p.PID], t.procs)
	t.store(p)
	return p
}

// layerVia asks the overlay about p's executable through another process
// of p's container, trying a few.
func (t *Table) layerVia(p *event.Process) bool {
	tries := 0
	for pid, q := range t.procs {
		if pid == p.PID || pid == p.PPID || q.Container.FullID != p.Container.FullID {
			continue
		}
		if upper, known := t.exeLayer(pid, 0, p.Exe); known {
			return upper
		}
		if tries++; tries == 4 {
			break
		}
	}
	return false
}

// ExecAttempt fills p, an exec the kernel refused, as Exec would, without
// storing it: the process goes on with its current image and snapshot.
func (t *Table) ExecAttempt(p *event.Process) *event.Process {
	p.Cmdline = event.MakeCmdline(p.Name, p.Argv)
	p.Script = Script(p.Exe, p.Argv, p.Cwd)
	setLineage(p, t.procs[p.PPID])
	p.SName = sessionName(p, t.procs[p.PPID])
	p.Container = t.container(p.CgroupID, t.procs[p.PID])
	return p
}

// Child is what the kernel says of a new process.
type Child struct {
	PID      uint32
	Start    time.Time
	CgroupID uint64
	// VPID, VPGID and SID are its ids in its own pid namespace.
	VPID, VPGID, SID uint32
}

// Fork stores and returns the snapshot of a new process child of parent,
// which until it executes something is a copy of its parent.
func (t *Table) Fork(parent uint32, child Child) *event.Process {
	var c event.Process
	par := t.Lookup(parent)
	if par != nil {
		c = *par
		setLineage(&c, par)
		c.Container = t.container(child.CgroupID, par)
	} else {
		c.Container = t.container(child.CgroupID, nil)
	}
	c.PID, c.PPID, c.Start, c.CgroupID = child.PID, parent, child.Start, child.CgroupID
	c.VPID, c.VPGID, c.SID = child.VPID, child.VPGID, child.SID
	c.SName = sessionName(&c, par)
	p := &c
	t.store(p)
	return p
}

// Exit records that pid is gone. The entry stays until exitedKeep later
// exits have happened (or the table is full), because events of its
// children may still name it as their parent.
func (t *Table) Exit(pid uint32) {
	p := t.procs[pid]
	if p == nil {
		return
	}
	t.pipes.remove(p)
	if t.nExt == len(t.exited) {
		t.reapOldest()
	}
	t.exited[(t.head+t.nExt)%len(t.exited)] = exitedProc{pid, p}
	t.nExt++
}

// Stats returns the counters. It is safe to call from any goroutine.
func (t *Table) Stats() Stats {
	return Stats{
		Entries:   int(t.entries.Load()),
		Evictions: t.evictions.Load(),
		Misses:    t.misses.Load(),
		ProcReads: t.procReads.Load(),
		Reaped:    t.reaped.Load(),
	}
}

// reapOldest removes the oldest exited process, unless its pid now belongs
// to a newer process. It reports whether an entry was removed.
func (t *Table) reapOldest() bool {
	e := t.exited[t.head]
	t.exited[t.head] = exitedProc{}
	t.head = (t.head + 1) % len(t.exited)
	t.nExt--
	if t.procs[e.pid] != e.proc {
		return false
	}
	delete(t.procs, e.pid)
	t.reaped.Add(1)
	t.entries.Store(int64(len(t.procs)))
	return true
}

// store makes p the snapshot of p.PID, keeping the table within its cap:
// exited processes go first, then arbitrary live ones.
func (t *Table) store(p *event.Process) {
	if _, ok := t.procs[p.PID]; !ok {
		for len(t.procs) >= t.max && t.nExt > 0 {
			t.reapOldest()
		}
		for pid := range t.procs {
			if len(t.procs) < t.max {
				break
			}
			delete(t.procs, pid)
			t.evictions.Add(1)
		}
	}
	t.procs[p.PID] = p
	t.entries.Store(int64(len(t.procs)))
}

// container returns the container of a process in cgroup id, given the
// snapshot it derives from (its parent's, or its own before an exec).
func (t *Table) container(id uint64, prev *event.Process) event.Container {
	if t.containers == nil {
		if prev != nil {
			return prev.Container
		}
		return event.Container{}
	}
	if prev != nil && prev.CgroupID == id {
		if _, again := t.retry[id]; !again {
			return prev.Container
		}
	}
	c, final := t.containers(id)
	if final {
		delete(t.retry, id)
	} else {
		if len(t.retry) >= maxRetry {
			clear(t.retry)
		}
		t.retry[id] = struct{}{}
	}
	if c.ID == "" && prev != nil && (prev.CgroupID == 0 || prev.CgroupID == id) {
		// prev was read from procfs, which names cgroups by path, not id:
		// an id the resolver cannot place (yet) is no reason to drop the
		// container that procfs showed. Or prev is this cgroup's own
		// earlier answer.
		return prev.Container
	}
	return c
}

// maxRetry bounds Table.retry.
const maxRetry = 4096

// setLineage sets the ancestor lists of p, a child of parent: parent
// first, then parent's own ancestors, at most maxAncestors. The three
// lists of strings share one allocation.
func setLineage(p, parent *event.Process) {
	p.Ancestors, p.AncestorExes, p.AncestorArgv0s, p.AncestorPIDs = nil, nil, nil, nil
	if parent == nil || parent.Name == "" {
		return
	}
	capped := func(l []string) []string { return l[:min(len(l), maxAncestors-1)] }
	strs := make([]string, 0, 3+len(capped(parent.Ancestors))+len(capped(parent.AncestorExes))+len(capped(parent.AncestorArgv0s)))
	list := func(first string, rest []string) []string {
		start := len(strs)
		strs = append(append(strs, first), capped(rest)...)
		return strs[start:len(strs):len(strs)]
	}
	p.Ancestors = list(parent.Name, parent.Ancestors)
	p.AncestorExes = list(parent.Exe, parent.AncestorExes)
	p.AncestorArgv0s = list(argv0(parent), parent.AncestorArgv0s)
	pids := parent.AncestorPIDs[:min(len(parent.AncestorPIDs), maxAncestors-1)]
	p.AncestorPIDs = append(append(make([]uint32, 0, len(pids)+1), parent.PID), pids...)
}

// addAncestor appends a to p's ancestor lists (Seed builds them so).
func addAncestor(p, a *event.Process) {
	p.Ancestors = append(p.Ancestors, a.Name)
	p.AncestorExes = append(p.AncestorExes, a.Exe)
	p.AncestorArgv0s = append(p.AncestorArgv0s, argv0(a))
	p.AncestorPIDs = append(p.AncestorPIDs, a.PID)
}

func argv0(p *event.Process) string {
	if len(p.Argv) == 0 {
		return ""
	}
	return p.Argv[0]
}

// sessionName is the SName of p, a child of parent: the name of the
// eldest ancestor in p's session, as Falco's proc.sname finds it. Session
// ids are as each process sees them, so the walk also stops where a
// parent's session differs, as at a container's init.
func sessionName(p, parent *event.Process) string {
	if p.SID == p.VPID || parent == nil || parent.SID != p.SID || parent.SName == "" {
		return p.Name
	}
	return parent.SName
}

// Moved returns the snapshot of p's process as seen in cgroup id: p itself
// when that is p's cgroup, else a new snapshot with the container of the
// new cgroup, stored if p was current. Runtimes move a process into the
// container's cgroup after it started, and seeded processes (CgroupID 0)
// learn their id from their first event.
func (t *Table) Moved(p *event.Process, cgroupID uint64) *event.Process {
	var ct event.Container
	if p.CgroupID == cgroupID {
		if _, again := t.retry[cgroupID]; !again {
			return p
		}
		if ct = t.container(cgroupID, p); ct.FullID == p.Container.FullID {
			return p
		}
	} else {
		ct = t.container(cgroupID, p)
	}
	c := *p
	c.CgroupID = cgroupID
	c.Container = ct
	np := &c
	if t.procs[p.PID] == p {
		t.store(np)
	}
	return np
}

// WithContainer returns a snapshot of p's process in container c (the
// same container with the runtime's metadata): a new snapshot, stored if
// p was current, so that later events and children carry it.
func (t *Table) WithContainer(p *event.Process, c event.Container) *event.Process {
	np := *p
	np.Container = c
	if t.procs[p.PID] == p {
		t.store(&np)
	}
	return &np
}
