package bpf

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// A process over its rate limit: the kernel sends a flood record when it
// starts (naming the process and the type), counts what it holds back,
// and sends the end, with the total, before the process's exit. Every one
// of its opens is either delivered or counted.
func TestRateLimitLive(t *testing.T) {
	needRoot(t)
	marker := filepath.Join(tempDir(t), "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("open", func(t *testing.T) { rateLimitLive(t, "open-loop", marker, event.TypeOpen, true) })
	// Connects use the priority ring's budget, apart from the bulk one.
	t.Run("connect", func(t *testing.T) { rateLimitLive(t, "connect-loop", "127.0.0.1:1", event.TypeConnect, false) })
}

func rateLimitLive(t *testing.T, action, arg string, typ event.Type, bulk bool) {
	o := DefaultOptions()
	o.RateLimit, o.RateBurst = 1000, 100
	// Only the type counted (exec, fork and exit come always): the
	// connect loop's sockets would share its budget.
	o.Types = []event.Type{typ}
	p, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before, _ := p.Limited()
	type item struct {
		ev *event.Event
		fl *Flood
	}
	got := make(chan item, 1<<16)
	r, err := NewReader(p, ReaderOptions{Types: event.Types(), Flood: func(f Flood) { got <- item{fl: &f} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(ev *event.Event) { got <- item{ev: ev} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	cmd := helper(t, action, arg)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	// Floods alternate start, end; a pause of the helper longer than its
	// burst (descheduled on a busy machine) ends one and the next starts
	// another.
	var floods []*Flood
	var heldBack uint64
	delivered := 0
	timeout := time.After(20 * time.Second)
	for exited := false; !exited; {
		select {
		case it := <-got:
			switch {
			case it.fl != nil && it.fl.Proc.PID == pid:
				if it.fl.Start != (len(floods)%2 == 0) {
					t.Errorf("flood record %+v after %d others", it.fl, len(floods))
				}
				floods = append(floods, it.fl)
				if !it.fl.Start {
					heldBack += it.fl.Limited
				}
			case it.ev != nil && it.ev.Proc != nil && it.ev.Proc.PID == pid:
				if it.ev.Type == typ && (typ != event.TypeOpen || it.ev.File.Path == arg) {
					delivered++
				}
				exited = it.ev.Type == event.TypeExit
			}
		case <-timeout:
			t.Fatalf("no exit of the helper within 20 s (%d flood records, %d events)", len(floods), delivered)
		}
	}
	if len(floods) == 0 || len(floods)%2 != 0 {
		t.Fatalf("%d flood records before the exit, want starts and ends", len(floods))
	}
	start, end := floods[0], floods[1]
	if start.Type != typ || start.Bulk != bulk || start.Limited != 1 || start.User.UID != 0 || start.Proc.Exe != realpath(t, os.Args[0]) {
		t.Errorf("start: %+v, proc %+v", start, start.Proc)
	}
	after, _ := p.Limited()
	limited := after[typ] - before[typ]
	if end.Type != typ || end.Limited == 0 || heldBack > limited {
		t.Errorf("end: %+v; %d held back in %d floods; the kernel counted %d in all", end, heldBack, len(floods)/2, limited)
	}
	if uint64(delivered)+heldBack < 20000 || delivered >= 20000 {
		t.Errorf("%d %s events delivered + %d held back: want 20000 or more, with some held back", delivered, typ, heldBack)
	}
	t.Logf("20000 %s calls: %d delivered, %d held back in %d floods (the process's other calls included)", typ, delivered, heldBack, len(floods)/2)
}

// With the bulk ring busy, the opens a process makes right after its exec
// still meet the process table after that exec (the rings are merged by
// kernel time): each names the new image and its arguments, never the
// parent's.
func TestExecBeforeItsOpens(t *testing.T) {
	needRoot(t)
	dir := tempDir(t)
	busy := filepath.Join(dir, "busy")
	os.WriteFile(busy, nil, 0o600)
	o := DefaultOptions()
	o.RateLimit = -1
	p, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := make(chan *event.Event, 1<<16)
	r, err := NewReader(p, ReaderOptions{Types: []event.Type{event.TypeOpen}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(ev *event.Event) {
			if filepath.Dir(ev.File.Path) == dir && ev.File.Path != busy {
				got <- ev
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for range 2 {
		loop := helper(t, "open-loop", busy)
		if err := loop.Start(); err != nil {
			t.Fatal(err)
		}
		defer loop.Wait()
	}
	cat, _ := filepath.EvalSymlinks("/bin/cat")
	const n = 30
	for i := range n {
		f := filepath.Join(dir, fmt.Sprintf("m%d", i))
		os.WriteFile(f, nil, 0o600)
		if err := exec.Command("/bin/cat", f).Run(); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	timeout := time.After(20 * time.Second)
	for seen < n {
		select {
		case ev := <-got:
			seen++
			if ev.Proc.Exe != cat || len(ev.Proc.Argv) != 2 || ev.Proc.Argv[1] != ev.File.Path {
				t.Errorf("open of %s: proc exe %q argv %q, want %s [cat %s]", ev.File.Path, ev.Proc.Exe, ev.Proc.Argv, cat, ev.File.Path)
			}
		case <-timeout:
			drops, _ := p.Drops()
			t.Fatalf("%d of %d opens after 20 s (open drops %d)", seen, n, drops[event.TypeOpen])
		}
	}
}

// The wakeup scheme serves the priority ring too: with the open type off,
// the only record after a quiet spell is the helper's exit, and the
// sleeping reader (idle timeout an hour) still gets it.
func TestPriorityRingWakes(t *testing.T) {
	needRoot(t)
	cmd, _, proceed := startWaiter(t)
	o := DefaultOptions()
	o.TargetPID = uint32(cmd.Process.Pid)
	o.Types = []event.Type{event.TypeExec}
	p, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := NewReader(p, ReaderOptions{Types: event.Types()})
	if err != nil {
		t.Fatal(err)
	}
	r.idle = time.Hour
	got := make(chan *event.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(ev *event.Event) { got <- ev }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !r.asleep.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader never stopped polling")
		}
	}
	proceed()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Type == event.TypeOpen {
				t.Fatalf("an open with the type off: %+v", ev.File)
			}
			if ev.Type == event.TypeExit && ev.Proc.PID == uint32(cmd.Process.Pid) {
				return
			}
		case <-timeout:
			t.Fatal("the exit after the quiet spell never arrived: no wakeup through the priority ring")
		}
	}
}
