package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// Losses in the kernel or in sink queues raise one alert per look with
// the counts since the last, and mark the alerts of the next 10 s.
func TestLossWatch(t *testing.T) {
	k := &fakeKernel{}
	l := newLossWatch(k)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	var last lossCount
	steps := []struct {
		kernel, queue uint64
		want          string // the alert's output; "" for none
	}{
		{0, 0, ""},
		{7, 0, "vigil lost events in the last 1s: 7 in the kernel (ring buffer full), 0 alerts in sinks; rules may have missed matches"},
		{7, 0, ""},
		{9, 3, "vigil lost events in the last 1s: 2 in the kernel (ring buffer full), 3 alerts in sinks (webhook#1: 1 queue_full, 2 spool_full); rules may have missed matches"},
	}
	for i, s := range steps {
		k.drops = s.kernel
		st := sinks.Stats{Name: "webhook#1", Dropped: s.queue / 3, Drops: map[sinks.Reason]uint64{sinks.ReasonQueueFull: s.queue / 3, sinks.ReasonSpoolFull: s.queue - s.queue/3}}
		a := l.check(&last, []sinks.Stats{st}, quiet)
		switch {
		case s.want == "" && a != nil:
			t.Errorf("step %d: alert %q, want none", i, a.Output)
		case s.want != "" && a == nil:
			t.Errorf("step %d: no alert, want %q", i, s.want)
		case a != nil:
			if a.Output != s.want || a.Rule != LossRule || a.Priority != "Error" || a.Level != 3 || a.Source != "internal" || !a.Degraded {
				t.Errorf("step %d: %+v", i, a)
			}
		}
	}
	if !l.degraded() {
		t.Error("an alert raised right after a loss is not marked degraded")
	}
	now = now.Add(degradedHold + time.Second)
	if l.degraded() {
		t.Error("an alert raised 11 s after the last loss, with no new drop, is marked degraded")
	}
	k.drops++ // dropped since the watcher last looked
	now = now.Add(time.Second)
	if !l.degraded() {
		t.Error("a drop the watcher has not seen yet does not mark the alert")
	}
}

// A sink's losses are counted per reason; the loss alert goes only to
// the sinks that lost nothing in the interval, and a sink that lost only
// loss alerts is counted but raises no new one (no loop).
func TestLossWatchSinks(t *testing.T) {
	l := newLossWatch(&fakeKernel{})
	var last lossCount
	stats := func(webhook, apart, nats uint64) []sinks.Stats {
		return []sinks.Stats{
			{Name: "webhook#1", Drops: map[sinks.Reason]uint64{sinks.ReasonSpoolFull: webhook}, Apart: apart},
			{Name: "nats#2", Drops: map[sinks.Reason]uint64{sinks.ReasonRefused: nats}},
		}
	}
	a := l.check(&last, stats(221, 0, 0), quiet)
	want := "vigil lost events in the last 1s: 0 in the kernel (ring buffer full), 221 alerts in sinks (webhook#1: 221 spool_full); rules may have missed matches"
	if a == nil || a.Output != want {
		t.Fatalf("alert %+v, want %q", a, want)
	}
	if !l.losing["webhook#1"] || l.losing["nats#2"] {
		t.Errorf("losing %v: want the loss alert kept from webhook#1 only", l.losing)
	}
	// The loss alert reached a losing sink anyway (it was already queued)
	// and was lost there: counted, no new alert.
	if a := l.check(&last, stats(222, 1, 0), quiet); a != nil {
		t.Errorf("a lost loss alert raised another: %q", a.Output)
	}
	if a := l.check(&last, stats(222, 1, 4), quiet); a == nil || a.Output != "vigil lost events in the last 1s: 0 in the kernel (ring buffer full), 4 alerts in sinks (nats#2: 4 refused); rules may have missed matches" {
		t.Errorf("second loss: %+v", a)
	}
}

// recSink records what it is sent.
type recSink struct{ got chan *event.Alert }

func (r *recSink) Send(_ context.Context, b []*event.Alert) error {
	for _, a := range b {
		r.got <- a
	}
	return nil
}
func (r *recSink) Close(context.Context) error { return nil }

// A loss alert withheld from a sink that was losing reaches it once the
// sink stops losing, and is not sent twice.
func TestLossWatchHeldForLosingSink(t *testing.T) {
	l := newLossWatch(&fakeKernel{})
	all := sinks.Filter{MinLevel: 7}
	web, nats := &recSink{make(chan *event.Alert, 4)}, &recSink{make(chan *event.Alert, 4)}
	fan := sinks.NewFanout(quiet, sinks.Output{Name: "webhook#1", Sink: web, Filter: all}, sinks.Output{Name: "nats#2", Sink: nats, Filter: all})
	defer fan.Close(context.Background())
	var last lossCount
	stats := func(webhook uint64) []sinks.Stats {
		return []sinks.Stats{{Name: "webhook#1", Drops: map[sinks.Reason]uint64{sinks.ReasonQueueFull: webhook}}, {Name: "nats#2"}}
	}
	a := l.check(&last, stats(5), quiet)
	l.deliver(fan, a)
	if got := <-nats.got; got != a {
		t.Fatalf("nats got %+v", got)
	}
	l.deliver(fan, l.check(&last, stats(9), quiet)) // still losing: held
	l.deliver(fan, l.check(&last, stats(9), quiet)) // recovered: gets the latest
	got := <-web.got
	if got.Rule != LossRule || got.Output != "vigil lost events in the last 1s: 0 in the kernel (ring buffer full), 4 alerts in sinks (webhook#1: 4 queue_full); rules may have missed matches" {
		t.Errorf("webhook got %+v", got)
	}
	l.deliver(fan, l.check(&last, stats(9), quiet))
	fan.Close(context.Background())
	if len(web.got) != 0 || len(nats.got) != 1 {
		t.Errorf("after: webhook %d more, nats %d more (want 0, 1: the second loss)", len(web.got), len(nats.got))
	}
}
