package process

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// newTable returns a table over an empty procfs, with a container resolver
// that knows cgroup ids 7 and 8 and counts its calls.
func newTable(t testing.TB, max int) (*Table, *int) {
	calls := new(int)
	return New(Options{
		MaxEntries: max,
		Procfs:     t.TempDir(),
		BootTime:   boot,
		Containers: func(id uint64) (event.Container, bool) {
			*calls++
			switch id {
			case 7, 8:
				return event.Container{ID: fmt.Sprint("c", id), FullID: fmt.Sprint("c", id), Runtime: "docker"}, true
			case 9: // a cgroup the resolver places only from the third question on
				if *calls < 3 {
					return event.Container{}, false
				}
				return event.Container{ID: "c9", FullID: "c9", Runtime: "containerd"}, true
			}
			return event.Container{}, true
		},
	}), calls
}

func execRec(pid, ppid uint32, name string, cgroupID uint64, argv ...string) *event.Process {
	return &event.Process{PID: pid, PPID: ppid, Name: name, Exe: "/bin/" + name, Argv: append([]string{name}, argv...),
		Cwd: "/", Start: boot.Add(time.Duration(pid) * time.Second), CgroupID: cgroupID}
}

func clone(p *event.Process) event.Process {
	c := *p
	c.Argv = append([]string(nil), p.Argv...)
	c.Ancestors = append([]string(nil), p.Ancestors...)
	return c
}

func TestExecFork(t *testing.T) {
	tab, calls := newTable(t, 0)
	initp := tab.Exec(execRec(1, 0, "init", 1))
	if initp.Cmdline != "init" || initp.Ancestors != nil || initp.Container.ID != "" {
		t.Fatalf("init: %+v", initp)
	}
	initCopy := clone(initp)

	// fork + exec of a shell, then a container runtime's child.
	child := tab.Fork(1, Child{PID: 10, Start: boot.Add(time.Minute), CgroupID: 1})
	want := clone(initp)
	want.PID, want.PPID, want.Start, want.Ancestors = 10, 1, boot.Add(time.Minute), []string{"init"}
	want.AncestorExes, want.AncestorArgv0s, want.AncestorPIDs = []string{"/bin/init"}, []string{"init"}, []uint32{1}
	if !reflect.DeepEqual(clone(child), want) {
		t.Errorf("fork:\n got %+v\nwant %+v", child, want)
	}
	forked := clone(child)
	sh := tab.Exec(execRec(10, 1, "sh", 1, "-c", "echo hi"))
	if sh.Cmdline != "sh -c echo hi" || !reflect.DeepEqual(sh.Ancestors, []string{"init"}) || tab.Get(10) != sh {
		t.Errorf("exec: %+v", sh)
	}
	if !reflect.DeepEqual(clone(child), forked) || !reflect.DeepEqual(clone(initp), initCopy) {
		t.Error("a stored snapshot changed")
	}
	if tab.Parent(sh) != initp || tab.Parent(initp) != nil {
		t.Error("Parent")
	}

	// Moving into cgroup 7 (a container) at fork changes the container;
	// staying in the parent's cgroup does not ask the resolver again.
	n := *calls
	ctr := tab.Fork(10, Child{PID: 11, Start: boot, CgroupID: 7})
	if ctr.Container.ID != "c7" || *calls != n+1 {
		t.Errorf("fork into a container: %+v, %d resolver calls", ctr.Container, *calls-n)
	}
	n = *calls
	run := tab.Exec(execRec(11, 10, "nginx", 7))
	grand := tab.Fork(11, Child{PID: 12, Start: boot, CgroupID: 7})
	if run.Container.ID != "c7" || grand.Container.ID != "c7" || *calls != n {
		t.Errorf("container lost: %+v %+v, %d resolver calls", run.Container, grand.Container, *calls-n)
	}
	if !reflect.DeepEqual(grand.Ancestors, []string{"nginx", "sh", "init"}) {
		t.Errorf("ancestors %q", grand.Ancestors)
	}

	// An unknown parent, not in procfs either.
	orphan := tab.Fork(999, Child{PID: 1000, Start: boot, CgroupID: 8})
	if want := (event.Process{PID: 1000, PPID: 999, Start: boot, CgroupID: 8, Container: orphan.Container}); !reflect.DeepEqual(*orphan, want) ||
		orphan.Container.ID != "c8" {
		t.Errorf("orphan: %+v", orphan)
	}
	if e := tab.Exec(execRec(1001, 999, "x", 0)); e.Ancestors != nil {
		t.Errorf("exec with unknown parent: ancestors %q", e.Ancestors)
	}
}

// A process seeded from procfs has no cgroup id; the container procfs
// showed must survive a fork into an id the resolver cannot place.
func TestForkKeepsProcfsContainer(t *testing.T) {
	tab, _ := newTable(t, 0)
	seeded := &event.Process{PID: 5, Name: "app", Container: event.Container{ID: "abc", FullID: "abc", Runtime: "lxc"}}
	tab.store(seeded)
	if c := tab.Fork(5, Child{PID: 6, Start: boot, CgroupID: 99}).Container; !reflect.DeepEqual(c, seeded.Container) {
		t.Errorf("fork of a seeded process: %+v", c)
	}
	if c := tab.Fork(5, Child{PID: 7, Start: boot, CgroupID: 8}).Container; c.ID != "c8" {
		t.Errorf("fork into a known container: %+v", c)
	}
	if c := tab.Fork(6, Child{PID: 8, Start: boot, CgroupID: 1}).Container; c.ID != "" {
		t.Errorf("fork out of the container: %+v", c)
	}
}

func TestAncestorsCap(t *testing.T) {
	tab, _ := newTable(t, 0)
	tab.Exec(execRec(1, 0, "p1", 1))
	for pid := uint32(2); pid <= 40; pid++ {
		tab.Fork(pid-1, Child{PID: pid, Start: boot, CgroupID: 1})
		p := tab.Exec(execRec(pid, pid-1, fmt.Sprint("p", pid), 1))
		if want := min(int(pid-1), maxAncestors); len(p.Ancestors) != want || p.Ancestors[0] != fmt.Sprint("p", pid-1) {
			t.Fatalf("pid %d: ancestors %q", pid, p.Ancestors)
		}
	}
	// The exes, argv[0]s and pids of the same ancestors, nearest first.
	p := tab.Get(40)
	var exes, argv0s []string
	var pids []uint32
	for pid := uint32(39); pid > 39-maxAncestors; pid-- {
		exes, argv0s, pids = append(exes, fmt.Sprint("/bin/p", pid)), append(argv0s, fmt.Sprint("p", pid)), append(pids, pid)
	}
	if !reflect.DeepEqual(p.AncestorExes, exes) || !reflect.DeepEqual(p.AncestorArgv0s, argv0s) || !reflect.DeepEqual(p.AncestorPIDs, pids) {
		t.Errorf("pid 40: exes %q argv0s %q pids %v; want %q %q %v", p.AncestorExes, p.AncestorArgv0s, p.AncestorPIDs, exes, argv0s, pids)
	}
	// The three lists share one allocation: appending to one (a user of
	// the snapshot may) does not write into the next.
	c := tab.Fork(40, Child{PID: 41, Start: boot, CgroupID: 1})
	_ = append(c.Ancestors, "x")
	_ = append(c.AncestorExes, "x")
	if c.AncestorExes[0] != "/bin/p40" || c.AncestorArgv0s[0] != "p40" {
		t.Errorf("lists overlap: exes %q argv0s %q", c.AncestorExes, c.AncestorArgv0s)
	}
}

func TestExit(t *testing.T) {
	tab, _ := newTable(t, 0)
	tab.Exec(execRec(1, 0, "init", 1))
	for pid := uint32(2); pid < 2+exitedKeep+10; pid++ {
		tab.Fork(1, Child{PID: pid, Start: boot, CgroupID: 1})
	}
	// pid 2 exits, and before it is reaped pid 2 is reused: the new
	// process must outlive the old one's exit.
	tab.Exit(2)
	tab.Exit(3)
	tab.Exit(424242) // unknown: nothing to reap
	if tab.Get(2) == nil {
		t.Fatal("exited process removed at once")
	}
	reused := tab.Fork(1, Child{PID: 2, Start: boot.Add(time.Hour), CgroupID: 1})
	for pid := uint32(4); pid < 4+exitedKeep; pid++ {
		tab.Exit(pid)
	}
	if tab.Get(2) != reused {
		t.Error("reused pid 2 was removed by the old process's exit")
	}
	if tab.Get(3) != nil || tab.Get(4) == nil {
		t.Error("FIFO order: 3 should be reaped, 4 kept")
	}
	if s := tab.Stats(); s.Reaped != 1 || s.Entries != exitedKeep+10 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestCap(t *testing.T) {
	const max = 8
	tab, _ := newTable(t, max)
	tab.Exec(execRec(1, 0, "init", 1))
	for pid := uint32(2); pid < 50; pid++ {
		tab.Fork(1, Child{PID: pid, Start: boot, CgroupID: 1})
		if s := tab.Stats(); s.Entries > max || len(tab.procs) > max {
			t.Fatalf("table grew to %d entries (cap %d)", len(tab.procs), max)
		}
	}
	s := tab.Stats()
	if s.Evictions != 49-max || s.Entries != max {
		t.Errorf("Stats = %+v", s)
	}

	// Exited processes make room before any live one is evicted.
	var live []uint32
	for pid := range tab.procs {
		live = append(live, pid)
	}
	tab.Exit(live[0])
	tab.Exit(live[1])
	tab.Fork(1, Child{PID: 100, Start: boot, CgroupID: 1})
	tab.Fork(1, Child{PID: 101, Start: boot, CgroupID: 1})
	if s2 := tab.Stats(); s2.Evictions != s.Evictions || s2.Reaped != 2 || tab.Get(live[2]) == nil {
		t.Errorf("exited entries not reaped first: %+v", s2)
	}
	// Replacing an entry does not need room.
	tab.Exec(execRec(100, 1, "x", 1))
	if s3 := tab.Stats(); s3.Evictions != s.Evictions || s3.Entries != max {
		t.Errorf("exec of a known pid evicted: %+v", s3)
	}
}

func BenchmarkTable(b *testing.B) {
	tab, _ := newTable(b, 0)
	tab.Exec(execRec(1, 0, "init", 1))
	for pid := uint32(2); pid < 30002; pid++ {
		tab.Fork(1, Child{PID: pid, Start: boot, CgroupID: 1})
	}
	// Exec's figures include the caller's allocation of the record.
	b.Run("Exec", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			tab.Exec(&event.Process{PID: uint32(2 + i%30000), PPID: 1, Name: "sh", Argv: []string{"sh", "-c", "true"}, CgroupID: 1})
		}
	})
	b.Run("Fork", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			tab.Fork(1, Child{PID: uint32(2 + i%30000), Start: boot, CgroupID: 1})
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if tab.Get(uint32(2+i%30000)) == nil {
				b.Fatal("miss")
			}
		}
	})
}

// A process whose cgroup could not be placed yet asks again on its later
// events, and stops asking once the answer is final.
func TestContainerRetry(t *testing.T) {
	tab, calls := newTable(t, 0)
	p := tab.Fork(1, Child{PID: 50, Start: time.Now(), CgroupID: 9})
	if p.Container.ID != "" || *calls != 1 {
		t.Fatalf("fork: %+v, %d calls", p.Container, *calls)
	}
	if q := tab.Moved(p, 9); q != p || *calls != 2 {
		t.Fatalf("second event: new snapshot %v, %d calls", q != p, *calls)
	}
	q := tab.Moved(p, 9)
	if q == p || q.Container.ID != "c9" || tab.Get(50) != q || *calls != 3 {
		t.Fatalf("third event: %+v, stored %v, %d calls", q.Container, tab.Get(50) == q, *calls)
	}
	if r := tab.Moved(q, 9); r != q || *calls != 3 {
		t.Errorf("after the final answer: new snapshot %v, %d calls", r != q, *calls)
	}
	// An exec in the resolved cgroup keeps the container.
	e := tab.Exec(&event.Process{PID: 50, PPID: 1, Name: "sh", CgroupID: 9})
	if e.Container.ID != "c9" || *calls != 3 {
		t.Errorf("exec: %+v, %d calls", e.Container, *calls)
	}
}

// A process's session leader is the eldest ancestor in its session, as
// each process sees session ids: a login shell leads its own session, a
// build under it is in the shell's, a container's init leads its own (its
// parent's ids are of another namespace), and a child forked before its
// leader exec'd keeps the leader's name of that time.
func TestSessionNames(t *testing.T) {
	tab, _ := newTable(t, 0)
	ids := func(p *event.Process, vpid, vpgid, sid uint32) *event.Process {
		p.VPID, p.VPGID, p.SID = vpid, vpgid, sid
		return p
	}
	steps := []struct {
		p    *event.Process
		want string
	}{
		{ids(execRec(50, 1, "sshd", 1), 50, 50, 50), "sshd"},
		{ids(execRec(51, 50, "bash", 1), 51, 51, 51), "bash"},
		{ids(execRec(52, 51, "make", 1), 52, 52, 51), "bash"},
		{ids(execRec(60, 1, "containerd-shim", 1), 60, 60, 60), "containerd-shim"},
		{ids(execRec(61, 60, "init", 7), 1, 1, 1), "init"},
		{ids(execRec(62, 61, "sh", 7), 7, 7, 1), "init"},
		// Not setsid'd by its runtime: the session is outside its namespace.
		{ids(execRec(63, 60, "app", 8), 1, 1, 0), "app"},
		{ids(execRec(64, 63, "worker", 8), 2, 1, 0), "app"},
	}
	for _, s := range steps {
		if got := tab.Exec(s.p).SName; got != s.want {
			t.Errorf("exec %s (pid %d): sname %q, want %q", s.p.Name, s.p.PID, got, s.want)
		}
	}
	cc := tab.Fork(52, Child{PID: 53, Start: boot, CgroupID: 1, VPID: 53, VPGID: 52, SID: 51})
	if cc.SName != "bash" || cc.Name != "make" || cc.VPID != 53 || cc.VPGID != 52 {
		t.Errorf("fork of make: %+v", cc)
	}
	tab.Exec(ids(execRec(51, 50, "zsh", 1), 51, 51, 51))
	if got := tab.Get(53).SName; got != "bash" {
		t.Errorf("forked before the leader's exec: sname %q, want bash", got)
	}
	if got := tab.Exec(ids(execRec(53, 52, "cc", 1), 53, 52, 51)).SName; got != "bash" {
		t.Errorf("exec under a make forked from bash: sname %q, want bash (make's snapshot)", got)
	}
	if got := tab.Exec(ids(execRec(54, 51, "vi", 1), 54, 54, 51)).SName; got != "zsh" {
		t.Errorf("exec under the re-exec'd leader: sname %q, want zsh", got)
	}
}
