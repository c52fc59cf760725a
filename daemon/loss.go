package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// Loss watching: how often, and how long after a loss alerts carry the
// degraded flag.
const (
	lossInterval = time.Second
	degradedHold = 10 * time.Second
	// LossRule is the rule name of the alert that says events were lost.
	LossRule = "vigil: events lost"
)

// lossWatch knows whether events were lost lately: alerts raised then
// say coverage was degraded.
type lossWatch struct {
	kernel Kernel
	// degradedUntil (unix ns): alerts raised before then say coverage
	// was degraded, because events were being lost.
	degradedUntil atomic.Int64
	// seenDrops is the kernel drop count at watch's last look.
	seenDrops atomic.Uint64
	// For the judging goroutine: when it last read the drop counters.
	lastDropCheck time.Time
	now           func() time.Time
	host          string // the loss alert's hostname
	// limited, when set, are the events the kernel's rate limit held back (bpf.Probes.Limited).
	limited func() (map[event.Type]uint64, error)
}

func newLossWatch(k Kernel) *lossWatch {
	host, _ := os.Hostname()
	return &lossWatch{kernel: k, now: time.Now, host: host}
}

// degraded reports whether an alert raised now may have missed events:
// a loss was seen lately, or the kernel has dropped events since the
// watcher last looked (checked at most every 10 ms; alerts are rare, so
// the map reads cost nothing on the event path). Judging goroutine only.
func (l *lossWatch) degraded() bool {
	now := l.now()
	if now.UnixNano() < l.degradedUntil.Load() {
		return true
	}
	if now.Sub(l.lastDropCheck) < 10*time.Millisecond {
		return false
	}
	l.lastDropCheck = now
	drops, err := l.kernel.Drops()
	if err != nil || bpf.Sum(drops) <= l.seenDrops.Load() {
		return false
	}
	l.degradedUntil.Store(now.Add(degradedHold).UnixNano())
	return true
}

// watch looks at the loss counters every lossInterval until ctx ends.
func (l *lossWatch) watch(ctx context.Context, log *slog.Logger, fan *sinks.Fanout) {
	tick := time.NewTicker(lossInterval)
	defer tick.Stop()
	var last lossCount
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if a := l.check(&last, fan.Stats(), log); a != nil {
			fan.Publish(a)
		}
	}
}

type lossCount struct{ kernel, queues, limited uint64 }

// check compares the counters with last: when events were lost in the
// kernel (ring buffer full) or alerts in a sink's queue, it marks
// coverage degraded and returns the alert saying how many.
func (l *lossWatch) check(last *lossCount, stats []sinks.Stats, log *slog.Logger) *event.Alert {
	drops, err := l.kernel.Drops()
	if err != nil {
		return nil
	}
	cur := lossCount{kernel: bpf.Sum(drops)}
	if l.limited != nil {
		if n, err := l.limited(); err == nil {
			cur.limited = bpf.Sum(n)
		}
	}
	for _, s := range stats {
		cur.queues += s.Dropped
	}
	dk, dq, dl := cur.kernel-last.kernel, cur.queues-last.queues, cur.limited-last.limited
	*last = cur
	l.seenDrops.Store(cur.kernel)
	if dk+dq+dl == 0 {
		return nil
	}
	flood := ""
	if dl > 0 {
		flood = fmt.Sprintf(", %d rate limited in the kernel (event flood)", dl)
	}
	now := l.now()
	l.degradedUntil.Store(now.Add(degradedHold).UnixNano())
	log.Warn("events lost; coverage degraded", "kernel", dk, "rate_limited", dl, "sink_queues", dq)
	return &event.Alert{
		Time: now, Rule: LossRule, Priority: event.PriorityError.String(), Level: event.PriorityError.Level(), Source: "internal",
		Output: fmt.Sprintf("vigil lost events in the last %s: %d in the kernel (ring buffer full)%s, %d alerts in full sink queues; rules may have missed matches",
			lossInterval, dk, flood, dq),
		Tags: []string{"vigil", "coverage"}, Hostname: l.host, Action: "alert", Degraded: true,
		Event: &event.Event{Time: now, Proc: &event.Process{}},
	}
}
