package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-project/vigil/containers"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
)

// gatedSource answers a lookup of a known id once its gate is closed;
// unknown ids wait until the lookup's context ends.
type gatedSource struct {
	gates map[string]chan struct{}
}

func (s *gatedSource) Name() string { return "docker" }
func (s *gatedSource) Lookup(ctx context.Context, id string) (containers.Meta, error) {
	g, ok := s.gates[id]
	if !ok {
		<-ctx.Done()
		return containers.Meta{}, ctx.Err()
	}
	select {
	case <-g:
		return containers.Meta{Name: "name-" + id, Image: "img-" + id}, nil
	case <-ctx.Done():
		return containers.Meta{}, ctx.Err()
	}
}
func (s *gatedSource) Watch(ctx context.Context, _ func(id, runtime string)) error {
	<-ctx.Done()
	return nil
}
func (s *gatedSource) Close() error { return nil }

// TestMetaHold: an alert of a container being looked up waits for its
// metadata and goes out with it; one whose lookup never ends goes out
// after holdFor without it; the hold keeps working after it was idle
// (it ticks only while something is held); Close publishes what is held.
func TestMetaHold(t *testing.T) {
	src := &gatedSource{gates: map[string]chan struct{}{"aaa": make(chan struct{}), "ccc": make(chan struct{})}}
	cache := containers.New(containers.Options{Sources: map[string][]containers.Source{"docker": {src}}, Timeout: time.Minute})
	defer cache.Close()
	out := make(chan *event.Alert, 8)
	h := newMetaHold(cache, func() *engine.Ruleset { return &engine.Ruleset{} }, func(a *event.Alert) { out <- a })
	alert := func(id string) *event.Alert {
		ct := event.Container{ID: id, FullID: id, Runtime: "docker"}
		if _, ok := cache.Get(ct); ok {
			t.Fatalf("container %s known before its lookup answered", id)
		}
		return &event.Alert{Rule: "r-" + id, Event: &event.Event{Proc: &event.Process{Container: ct}}}
	}
	next := func(what string) *event.Alert {
		t.Helper()
		select {
		case a := <-out:
			return a
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no alert published", what)
			return nil
		}
	}

	h.Publish(alert("aaa"))
	h.Publish(alert("bbb")) // never answered
	select {
	case a := <-out:
		t.Fatalf("alert %s published before its metadata or holdFor", a.Rule)
	case <-time.After(50 * time.Millisecond):
	}
	close(src.gates["aaa"])
	a := next("filled")
	if a.Rule != "r-aaa" || a.Event.Proc.Container.Name != "name-aaa" || a.Event.Proc.Container.Image != "img-aaa" {
		t.Fatalf("filled alert: rule %q container %+v, want r-aaa with name-aaa/img-aaa", a.Rule, a.Event.Proc.Container)
	}
	a = next("timeout")
	if a.Rule != "r-bbb" || a.Event.Proc.Container.Name != "" {
		t.Fatalf("timed-out alert: rule %q container %+v, want r-bbb without metadata", a.Rule, a.Event.Proc.Container)
	}

	// Idle now; a new held alert must restart the ticking.
	time.Sleep(3 * holdTick)
	h.Publish(alert("ccc"))
	close(src.gates["ccc"])
	if a = next("after idle"); a.Event.Proc.Container.Name != "name-ccc" {
		t.Fatalf("alert after idle: container %+v, want name-ccc", a.Event.Proc.Container)
	}

	h.Publish(alert("ddd")) // never answered: Close must publish it
	h.Close()
	if a = next("close"); a.Rule != "r-ddd" {
		t.Fatalf("Close published %q, want r-ddd", a.Rule)
	}
	if got := [4]uint64{h.Held.Load(), h.Filled.Load(), h.Timeout.Load(), h.Overflow.Load()}; got != [4]uint64{4, 2, 2, 0} {
		t.Errorf("held, filled, timeout, overflow = %v, want [4 2 2 0]", got)
	}
}
