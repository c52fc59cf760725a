package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
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
	// losing are the sinks that lost alerts in check's last interval: the
	// loss alert does not go to them, where it would be lost too and its
	// loss would raise another.
	losing map[string]bool
	// held are the loss alerts withheld from a losing sink, the latest
	// per sink: it gets it once it stops losing, so that a sink flooded
	// while the kernel lost events still hears of the loss.
	held map[string]*event.Alert
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
	fan.CountApart(LossRule)
	tick := time.NewTicker(lossInterval)
	defer tick.Stop()
	var last lossCount
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		a := l.check(&last, fan.Stats(), log)
		l.deliver(fan, a)
	}
}

// deliver hands a (nil: no loss this interval) to the sinks not losing
// now, holds it for the others, and hands a sink that stopped losing the
// alert it was held.
func (l *lossWatch) deliver(fan *sinks.Fanout, a *event.Alert) {
	for sink, h := range l.held {
		if !l.losing[sink] {
			delete(l.held, sink)
			if a == nil {
				fan.PublishTo(h, func(s string) bool { return s == sink })
			}
		}
	}
	if a == nil {
		return
	}
	for sink := range l.losing {
		if l.held == nil {
			l.held = make(map[string]*event.Alert)
		}
		l.held[sink] = a
	}
	fan.PublishTo(a, func(sink string) bool { return !l.losing[sink] })
}

type lossCount struct {
	kernel, limited uint64
	sinks           map[string]sinkLoss
}

// sinkLoss is what a sink lost: by reason, and of that, loss alerts.
type sinkLoss struct {
	drops map[sinks.Reason]uint64
	total uint64
	apart uint64
}

// check compares the counters with last: when events were lost in the
// kernel (ring buffer full, rate limited) or alerts in a sink (by
// reason), it marks coverage degraded and returns one alert for the
// interval saying how many, per sink and reason. A sink's loss of loss
// alerts only is counted (in the metrics and the next alert's counts)
// but raises no alert of its own, so that a sink that loses every alert
// does not make one loss alert per interval forever.
func (l *lossWatch) check(last *lossCount, stats []sinks.Stats, log *slog.Logger) *event.Alert {
	drops, err := l.kernel.Drops()
	if err != nil {
		return nil
	}
	cur := lossCount{kernel: bpf.Sum(drops), sinks: make(map[string]sinkLoss, len(stats))}
	if l.limited != nil {
		if n, err := l.limited(); err == nil {
			cur.limited = bpf.Sum(n)
		}
	}
	var ds, raise uint64
	var parts []string
	l.losing = make(map[string]bool)
	for _, s := range stats {
		now := sinkLoss{drops: maps.Clone(s.Drops), total: s.Lost(), apart: s.Apart}
		if now.drops == nil && s.Dropped > 0 { // Stats not from a Fanout
			now.drops = map[sinks.Reason]uint64{sinks.ReasonQueueFull: s.Dropped}
			now.total = s.Dropped
		}
		cur.sinks[s.Name] = now
		was := last.sinks[s.Name]
		d := now.total - was.total
		if d == 0 {
			continue
		}
		l.losing[s.Name] = true
		ds += d
		raise += d - min(d, now.apart-was.apart)
		delta := make(map[sinks.Reason]uint64)
		for r, n := range now.drops {
			if n > was.drops[r] {
				delta[r] = n - was.drops[r]
			}
		}
		name := s.Name
		if name == "" {
			name = "sink"
		}
		parts = append(parts, name+": "+sinks.FormatCounts(delta))
	}
	dk, dl := cur.kernel-last.kernel, cur.limited-last.limited
	*last = cur
	l.seenDrops.Store(cur.kernel)
	if dk+ds+dl == 0 {
		return nil
	}
	now := l.now()
	l.degradedUntil.Store(now.Add(degradedHold).UnixNano())
	log.Warn("events lost; coverage degraded", "kernel", dk, "rate_limited", dl, "sinks", ds, "sink_losses", strings.Join(parts, "; "))
	if dk+dl+raise == 0 {
		return nil // only loss alerts were lost: counted, not raised again
	}
	flood := ""
	if dl > 0 {
		flood = fmt.Sprintf(", %d rate limited in the kernel (event flood)", dl)
	}
	bySink := ""
	if len(parts) > 0 {
		bySink = " (" + strings.Join(parts, "; ") + ")"
	}
	return &event.Alert{
		Time: now, Rule: LossRule, Priority: event.PriorityError.String(), Level: event.PriorityError.Level(), Source: "internal",
		Output: fmt.Sprintf("vigil lost events in the last %s: %d in the kernel (ring buffer full)%s, %d alerts in sinks%s; rules may have missed matches",
			lossInterval, dk, flood, ds, bySink),
		Tags: []string{"vigil", "coverage"}, Hostname: l.host, Action: "alert", Degraded: true,
		Event: &event.Event{Time: now, Proc: &event.Process{}},
	}
}
