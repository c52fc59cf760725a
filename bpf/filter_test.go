package bpf

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// With a one-page ring buffer and nobody reading, a flood of opens must be
// accounted for exactly: every open is either delivered or counted lost.
func TestLossCounted(t *testing.T) {
	needRoot(t)
	marker := filepath.Join(t.TempDir(), "flood")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.RingSize = os.Getpagesize()
	o.SelfPID = -1
	o.TargetPID = uint32(os.Getpid())
	o.Types = []event.Type{event.TypeOpen}
	p, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// An unseeded table: seeding reads /proc, and those opens would fill
	// the ring before the flood starts.
	r, err := NewReader(p, ReaderOptions{Types: []event.Type{event.TypeOpen}, Procs: process.New(process.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	before, err := p.Drops()
	if err != nil {
		t.Fatal(err)
	}

	// The ring may already hold the loader's own opens (attaching reads
	// tracefs); only opens of the marker are counted below.
	const n = 2000
	// One thread, no allocation between the opens: no other syscalls of
	// this process land in the ring meanwhile.
	runtime.LockOSThread()
	for range n {
		fd, err := unix.Open(marker, unix.O_RDONLY, 0)
		if err != nil {
			runtime.UnlockOSThread()
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	runtime.UnlockOSThread()

	after, err := p.Drops()
	if err != nil {
		t.Fatal(err)
	}
	lost := after[event.TypeOpen] - before[event.TypeOpen]

	// Drain what the ring holds, then stop.
	ctx, cancel := context.WithCancel(context.Background())
	delivered := 0
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(ev *event.Event) {
			if ev.File.RawPath == marker {
				delivered++
			}
		})
	}()
	for r.available() > 0 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if lost == 0 {
		t.Fatalf("a %d-byte ring took %d opens without a loss", o.RingSize, n)
	}
	if uint64(delivered)+lost != n {
		t.Errorf("delivered %d + lost %d = %d, want %d", delivered, lost, uint64(delivered)+lost, n)
	}
	if s := r.Stats(); s.DecodeErrors != 0 {
		t.Errorf("decode errors: %d", s.DecodeErrors)
	}
	t.Logf("%d opens: %d delivered, %d counted lost", n, delivered, lost)
}

// Types switched off in the kernel are never copied; SetTypes switches
// them at run time without detaching. vigil's own process never reports.
func TestKernelFilters(t *testing.T) {
	needRoot(t)
	o := DefaultOptions() // SelfPID: this test process
	o.Types = []event.Type{event.TypeConnect}
	c := startCollector(t, o)
	dir := tempDir(t)

	// Our own open and connect are filtered by pid; the child's open by
	// type. The child's connect afterwards proves the stream is flowing;
	// the ring preserves order, so anything filtered would have come first.
	if fd, err := unix.Open(filepath.Join(dir, "self"), unix.O_RDONLY|unix.O_CREAT, 0o600); err == nil {
		unix.Close(fd)
	}
	_, pid := runHelperCmd(t, "opens", dir)
	_, cpid := runHelperCmd(t, "connect", "127.0.0.1:1")
	c.waitFor(t, "connect after the filtered opens", func(e *event.Event) bool {
		return e.Type == event.TypeConnect && e.Proc.PID == uint32(cpid) && e.Net.DPort == 1 && e.Proc.PPID == uint32(os.Getpid())
	})
	if got := c.all(func(e *event.Event) bool { return e.Type == event.TypeOpen }); len(got) != 0 {
		t.Errorf("open switched off in the kernel, yet %d open events arrived (first: %+v)", len(got), got[0].File)
	}
	if got := c.all(func(e *event.Event) bool { return e.Proc.PID == uint32(os.Getpid()) }); len(got) != 0 {
		t.Errorf("vigil's own process produced %d events", len(got))
	}

	// Switch open on in place.
	if err := c.probes.SetTypes([]event.Type{event.TypeConnect, event.TypeOpen}); err != nil {
		t.Fatal(err)
	}
	_, pid2 := runHelperCmd(t, "opens", dir)
	c.waitFor(t, "open after SetTypes", openOf(pid2, "rel.txt"))
	if got := c.all(func(e *event.Event) bool { return e.Proc.PID == uint32(pid) && e.Type == event.TypeOpen }); len(got) != 0 {
		t.Errorf("opens from before SetTypes arrived: %d", len(got))
	}
}
