package bpf

import (
	"context"
	"os"
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
	o := DefaultOptions()
	o.RateLimit, o.RateBurst = 1000, 100
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

	cmd := helper(t, "open-loop", marker)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	var start, end *Flood
	delivered := 0
	timeout := time.After(20 * time.Second)
	for exited := false; !exited; {
		select {
		case it := <-got:
			switch {
			case it.fl != nil && it.fl.Proc.PID == pid:
				if it.fl.Start && start == nil {
					start = it.fl
				} else if !it.fl.Start && end == nil {
					end = it.fl
				} else {
					t.Errorf("flood record %+v after start %v end %v", it.fl, start != nil, end != nil)
				}
			case it.ev != nil && it.ev.Proc != nil && it.ev.Proc.PID == pid:
				if it.ev.Type == event.TypeOpen && it.ev.File.Path == marker {
					delivered++
				}
				exited = it.ev.Type == event.TypeExit
			}
		case <-timeout:
			t.Fatalf("no exit of the helper within 20 s (start %v, end %v, %d opens)", start, end, delivered)
		}
	}
	if start == nil || end == nil {
		t.Fatalf("flood start %v, end %v before the exit", start, end)
	}
	if start.Type != event.TypeOpen || !start.Bulk || start.Limited != 1 || start.User.UID != 0 || start.Proc.Exe != realpath(t, os.Args[0]) {
		t.Errorf("start: %+v, proc %+v", start, start.Proc)
	}
	after, _ := p.Limited()
	limited := after[event.TypeOpen] - before[event.TypeOpen]
	if end.Type != event.TypeOpen || end.Limited == 0 || end.Limited > limited {
		t.Errorf("end: %+v; the kernel counted %d limited opens in all", end, limited)
	}
	if uint64(delivered)+end.Limited < 20000 || delivered >= 20000 {
		t.Errorf("%d marker opens delivered + %d limited: want 20000 or more, with some limited", delivered, end.Limited)
	}
	t.Logf("20000 opens: %d delivered, %d held back (the process's own opens included)", delivered, end.Limited)
}
