package sinks_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// recorder collects what it is sent.
type recorder struct {
	mu     sync.Mutex
	got    []*event.Alert
	arrive chan struct{}
}

func newRecorder() *recorder { return &recorder{arrive: make(chan struct{}, 1<<16)} }

func (r *recorder) Send(_ context.Context, b []*event.Alert) error {
	r.mu.Lock()
	r.got = append(r.got, b...)
	r.mu.Unlock()
	for range b {
		r.arrive <- struct{}{}
	}
	return nil
}
func (r *recorder) Close(context.Context) error { return nil }

// blocked never returns from Send until its context ends.
type blocked struct{ entered chan struct{} }

func (b *blocked) Send(ctx context.Context, _ []*event.Alert) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}
func (b *blocked) Close(context.Context) error { return nil }

func alert(rule string, level int, tags ...string) *event.Alert {
	return &event.Alert{Rule: rule, Level: level, Tags: tags, Event: &event.Event{Proc: &event.Process{}}}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A sink that blocks forever delays no alert of the other sinks, and its
// own overflow is counted as dropped.
func TestBlockedSinkDoesNotDelayOthers(t *testing.T) {
	rec := newRecorder()
	blk := &blocked{entered: make(chan struct{}, 1)}
	f := sinks.NewFanout(quiet,
		sinks.Output{Name: "blocked", Sink: blk, Filter: sinks.Filter{MinLevel: 7}, QueueSize: 8},
		sinks.Output{Name: "ok", Sink: rec, Filter: sinks.Filter{MinLevel: 7}, QueueSize: 2000})
	f.Publish(alert("first", 4))
	<-blk.entered // the blocked sink now holds its worker
	const n = 1000
	for range n {
		f.Publish(alert("r", 4))
	}
	for i := 0; i < n+1; i++ {
		<-rec.arrive // every alert reaches the healthy sink while the other is stuck
	}
	st := f.Stats()
	if st[0].Dropped != n-8 || st[0].QueueDepth != 8 {
		t.Errorf("blocked sink: dropped %d (want %d), depth %d (want 8)", st[0].Dropped, n-8, st[0].QueueDepth)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f.Close(ctx)
	st = f.Stats()
	if st[1].Sent != n+1 || st[1].Dropped != 0 {
		t.Errorf("healthy sink: %+v", st[1])
	}
	// The stuck batch failed at the deadline; the queued ones are unsent.
	if st[0].Failed != 1 || st[0].Unsent != 8 {
		t.Errorf("blocked sink after close: failed %d (want 1), unsent %d (want 8)", st[0].Failed, st[0].Unsent)
	}
}

func TestFilter(t *testing.T) {
	cases := []struct {
		f    sinks.Filter
		a    *event.Alert
		want bool
	}{
		{sinks.Filter{MinLevel: 4}, alert("r", 4), true},
		{sinks.Filter{MinLevel: 4}, alert("r", 5), false},
		{sinks.Filter{MinLevel: 7, Rules: []string{"a"}}, alert("b", 0), false},
		{sinks.Filter{MinLevel: 7, Tags: []string{"container"}}, alert("r", 0, "host", "container"), true},
		{sinks.Filter{MinLevel: 7, Tags: []string{"container"}}, alert("r", 0, "host"), false},
	}
	for i, c := range cases {
		if got := c.f.Accepts(c.a); got != c.want {
			t.Errorf("case %d: %v", i, got)
		}
	}
}

func TestCloseDrains(t *testing.T) {
	rec := newRecorder()
	f := sinks.NewFanout(quiet, sinks.Output{Name: "ok", Sink: rec, Filter: sinks.Filter{MinLevel: 7}})
	for range 500 {
		f.Publish(alert("r", 1))
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := f.Stats()[0]; st.Sent != 500 || len(rec.got) != 500 {
		t.Errorf("after close: %+v, got %d", st, len(rec.got))
	}
	f.Publish(alert("late", 1)) // after Close: ignored, no panic
}
