package daemon

import (
	"testing"
	"time"

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
		{7, 0, "vigil lost events in the last 1s: 7 in the kernel (ring buffer full), 0 alerts in full sink queues; rules may have missed matches"},
		{7, 0, ""},
		{9, 3, "vigil lost events in the last 1s: 2 in the kernel (ring buffer full), 3 alerts in full sink queues; rules may have missed matches"},
	}
	for i, s := range steps {
		k.drops = s.kernel
		a := l.check(&last, []sinks.Stats{{Dropped: s.queue}}, quiet)
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
