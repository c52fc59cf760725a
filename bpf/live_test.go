package bpf

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/bpf/features"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
	"github.com/vigil-project/vigil/internal/testenv"
)

// needRoot fails under CI (where the live kernel must be tested) and skips
// elsewhere when the test cannot load BPF programs.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	if err := features.EnsureFS(); err != nil {
		t.Fatalf("mount tracefs/securityfs: %v", err)
	}
}

// collector runs probes and a reader and keeps every event for tests to
// wait on.
type collector struct {
	probes *Probes
	reader *Reader
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	cond   *sync.Cond
	events []*event.Event
}

func newCollector(o Options) (*collector, error) {
	p, err := Load(o)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	r, err := NewReader(p, ReaderOptions{Types: event.Types()})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("reader: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{probes: p, reader: r, cancel: cancel, done: make(chan error, 1)}
	c.cond = sync.NewCond(&c.mu)
	go func() {
		c.done <- r.Run(ctx, func(ev *event.Event) {
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.cond.Broadcast()
			c.mu.Unlock()
		})
	}()
	return c, nil
}

// startCollector runs a collector for one test.
func startCollector(t *testing.T, o Options) *collector {
	t.Helper()
	needRoot(t)
	c, err := newCollector(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func (c *collector) close() error {
	c.cancel()
	return errors.Join(<-c.done, c.probes.Close())
}

// waitFor returns the first event matching pred, failing the test if none
// arrives within a generous deadline (a failure bound, not a speed claim).
func (c *collector) waitFor(t *testing.T, what string, pred func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	timer := time.AfterFunc(10*time.Second, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; ; {
		for ; i < len(c.events); i++ {
			if pred(c.events[i]) {
				return c.events[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event for %s within 10s (%d events seen)", what, len(c.events))
		}
		c.cond.Wait()
	}
}

// all returns the events seen so far that match pred.
func (c *collector) all(pred func(*event.Event) bool) []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*event.Event
	for _, ev := range c.events {
		if pred(ev) {
			out = append(out, ev)
		}
	}
	return out
}

var (
	sharedOnce sync.Once
	shared     *collector
	sharedErr  error
)

// live returns the collector shared by the tests that only read events.
func live(t *testing.T) *collector {
	t.Helper()
	needRoot(t)
	sharedOnce.Do(func() {
		// Lives until the test process exits, which detaches everything.
		o := DefaultOptions()
		o.Env = plan.Env{Bytes: plan.MaxEnvBytes, Values: plan.DefaultEnvValues}
		shared, sharedErr = newCollector(o)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func realpath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tempDir(t *testing.T) string {
	return realpath(t, t.TempDir())
}

// After a quiet spell the reader stops polling and sleeps until the kernel
// wakes it. Its idle timeout is an hour here, so the event that follows can
// only arrive through the kernel's wakeup.
func TestReaderWokenAfterIdle(t *testing.T) {
	needRoot(t)
	cmd, marker, proceed := startWaiter(t)
	o := DefaultOptions()
	o.TargetPID = uint32(cmd.Process.Pid) // nothing else on the host gets through
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
	go func() {
		done <- r.Run(ctx, func(ev *event.Event) { got <- ev })
	}()
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
	if p.noPolling {
		t.Fatal("the reader-polling flag could not be written (no memory-mapped .bss)")
	}
	proceed() // the helper opens the marker and exits
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Type == event.TypeOpen && ev.File.Path == marker {
				return
			}
		case <-timeout:
			t.Fatal("the open after the quiet spell never arrived: no wakeup")
		}
	}
}

// waitN returns the first n events matching pred, in arrival order.
func (c *collector) waitN(t *testing.T, what string, n int, pred func(*event.Event) bool) []*event.Event {
	t.Helper()
	var got []*event.Event
	c.waitFor(t, fmt.Sprintf("%d events: %s", n, what), func(e *event.Event) bool {
		if pred(e) {
			got = append(got, e)
		}
		return len(got) == n
	})
	return got
}
