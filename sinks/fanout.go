package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// DefaultQueueSize is a sink's queue length when Output.QueueSize is 0.
const DefaultQueueSize = 4096

// maxBatch bounds how many queued alerts a worker hands to Send at once.
const maxBatch = 256

// IdleInterval is how long a worker waits without alerts before it lets an
// Idler sink work (replay its spool on a quiet host).
const IdleInterval = time.Second

// Filter selects the alerts a sink receives.
type Filter struct {
	MinLevel int      // deliver alerts of this level or more severe (0 Emergency .. 7 Debug)
	Rules    []string // if set, only these rules
	Tags     []string // if set, only alerts with one of these tags
}

// Accepts reports whether a passes the filter.
func (f Filter) Accepts(a *event.Alert) bool {
	if a.Level > f.MinLevel {
		return false
	}
	if len(f.Rules) > 0 && !slices.Contains(f.Rules, a.Rule) {
		return false
	}
	if len(f.Tags) > 0 && !slices.ContainsFunc(a.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }) {
		return false
	}
	return true
}

// Output is one configured sink.
type Output struct {
	Name      string // for logs and metrics, e.g. "syslog#2"
	Sink      Sink
	Filter    Filter
	QueueSize int
}

// Stats are one sink's counters. When the sink is idle (queue empty, no
// Send running) they add up:
//
//	Handed + Recovered == Sent + sum(Drops) + QueueDepth + Spooled
type Stats struct {
	Name   string
	Handed uint64 // alerts the filter let through to this sink
	Sent   uint64 // alerts delivered to the endpoint, directly or out of the spool
	// Drops counts every alert dropped, by reason (queue_full and deadline
	// in the fan-out, the rest in the sink).
	Drops     map[Reason]uint64
	Failed    uint64 // alerts the sink gave up on: the Drops other than queue_full and deadline
	Dropped   uint64 // Drops[queue_full]: refused because the queue was full
	Unsent    uint64 // Drops[deadline]: still queued when Close's deadline passed
	Retried   uint64 // from the sink, if it reports
	Spooled   uint64 // from the sink: alerts waiting in its on-disk spool now
	SpoolIn   uint64 // from the sink: alerts taken into the spool
	Recovered uint64 // from the sink: alerts an earlier run left in the spool
	Replayed  uint64 // from the sink: of Sent, those delivered out of the spool
	// Apart counts drops of the alerts named by CountApart (vigil's own
	// loss alert), also counted in Drops.
	Apart       uint64
	QueueDepth  int
	Sends       uint64        // calls of Send
	SendLatency time.Duration // total time in Send; divide by Sends
}

// Lost is the sum of Drops.
func (s Stats) Lost() uint64 {
	var n uint64
	for _, c := range s.Drops {
		n += c
	}
	return n
}

type output struct {
	Output
	q     chan *event.Alert
	done  chan struct{}
	log   *slog.Logger
	drops *LossLog

	handed, taken, dropped, unsent, sends, apart atomic.Uint64
	sendNanos                                    atomic.Int64

	mu     sync.Mutex
	failed map[Reason]uint64 // drops the sink's Send reported
}

func (o *output) drop(r Reason, n int, err error) {
	o.mu.Lock()
	o.failed[r] += uint64(n)
	o.mu.Unlock()
	o.drops.Drop(r, n, err)
}

// Fanout delivers every alert to every sink whose filter accepts it. Each
// sink has its own bounded queue and worker goroutine: Publish never
// blocks, a full queue drops the newest alert for that sink only, and a
// slow or dead sink delays nobody else.
type Fanout struct {
	outs   []*output
	apart  atomic.Pointer[string]
	closed atomic.Bool
	// stop is cancelled when Close's deadline passes, interrupting Sends.
	stop   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewFanout starts a worker per output.
func NewFanout(log *slog.Logger, outs ...Output) *Fanout {
	stop, cancel := context.WithCancel(context.Background())
	f := &Fanout{stop: stop, cancel: cancel}
	for _, o := range outs {
		if o.QueueSize <= 0 {
			o.QueueSize = DefaultQueueSize
		}
		w := &output{Output: o, q: make(chan *event.Alert, o.QueueSize), done: make(chan struct{}),
			log: log.With("component", "sink", "sink", o.Name), failed: make(map[Reason]uint64)}
		w.drops = NewLossLog(w.log)
		f.outs = append(f.outs, w)
		f.wg.Add(1)
		go f.work(w)
	}
	return f
}

// CountApart makes drops of the alerts of rule also counted in
// Stats.Apart, so that the loss watch can tell a lost loss alert from
// other losses and not raise another for it.
func (f *Fanout) CountApart(rule string) { f.apart.Store(&rule) }

// Publish queues a for every sink that wants it. It never blocks.
func (f *Fanout) Publish(a *event.Alert) { f.PublishTo(a, nil) }

// PublishTo is Publish restricted to the sinks for which to returns true
// (all if to is nil).
func (f *Fanout) PublishTo(a *event.Alert, to func(sink string) bool) {
	if f.closed.Load() {
		return
	}
	for _, o := range f.outs {
		if !o.Filter.Accepts(a) || (to != nil && !to(o.Name)) {
			continue
		}
		o.handed.Add(1)
		select {
		case o.q <- a:
		default:
			o.dropped.Add(1)
			f.countApart(o, a, 1)
			o.drops.Drop(ReasonQueueFull, 1, nil)
		}
	}
}

// countApart counts n drops of batch's alerts of the CountApart rule: of
// a batch partly dropped, the alerts the sink gave up on are not known,
// so any dropped batch holding one counts it.
func (f *Fanout) countApart(o *output, a *event.Alert, n int) {
	if r := f.apart.Load(); r != nil && a.Rule == *r && n > 0 {
		o.apart.Add(1)
	}
}

func (f *Fanout) work(o *output) {
	defer f.wg.Done()
	defer close(o.done)
	batch := make([]*event.Alert, 0, maxBatch)
	idler, _ := o.Sink.(Idler)
	idle := time.NewTimer(IdleInterval)
	defer idle.Stop()
	for {
		var a *event.Alert
		select {
		case next, ok := <-o.q:
			if !ok {
				return
			}
			a = next
		case <-idle.C:
			if idler != nil && f.stop.Err() == nil {
				if err := idler.Idle(f.stop); err != nil {
					o.log.Debug("idle work failed", "err", err)
				}
			}
			idle.Reset(IdleInterval)
			continue
		}
		idle.Reset(IdleInterval)
		batch = append(batch[:0], a)
	fill:
		for len(batch) < maxBatch {
			select {
			case b, ok := <-o.q:
				if !ok {
					break fill
				}
				batch = append(batch, b)
			default:
				break fill
			}
		}
		if f.stop.Err() != nil {
			o.unsent.Add(uint64(len(batch)))
			for _, a := range batch {
				f.countApart(o, a, 1)
			}
			o.drops.Drop(ReasonDeadline, len(batch), nil)
			continue // Close's deadline passed: count and drain without sending
		}
		start := time.Now()
		err := o.Sink.Send(f.stop, batch)
		o.sendNanos.Add(int64(time.Since(start)))
		o.sends.Add(1)
		lost := 0
		for r, n := range dropsOf(err, len(batch)) {
			o.drop(r, n, err)
			lost += n
		}
		if lost > 0 {
			for _, a := range batch {
				f.countApart(o, a, lost)
			}
		}
		o.taken.Add(uint64(len(batch) - lost))
		o.drops.Flush(false)
	}
}

// Close stops accepting alerts, lets every sink drain its queue and close,
// all within ctx's deadline. What is still queued when the deadline passes
// is counted as unsent and logged, never dropped silently.
func (f *Fanout) Close(ctx context.Context) error {
	if f.closed.Swap(true) {
		return nil
	}
	for _, o := range f.outs {
		close(o.q)
	}
	stopAt := context.AfterFunc(ctx, f.cancel)
	defer stopAt()
	f.wg.Wait()
	var errs []error
	for _, o := range f.outs {
		o.drops.Flush(true)
		if n := o.unsent.Load(); n > 0 {
			o.log.Error("alerts not sent before the close deadline", "alerts", n)
		}
		if err := o.Sink.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", o.Name, err))
		}
	}
	f.cancel()
	return errors.Join(errs...)
}

// Stats returns every sink's counters; safe from any goroutine.
func (f *Fanout) Stats() []Stats {
	out := make([]Stats, 0, len(f.outs))
	for _, o := range f.outs {
		s := Stats{
			Name: o.Name, Handed: o.handed.Load(), Dropped: o.dropped.Load(), Unsent: o.unsent.Load(), Apart: o.apart.Load(),
			QueueDepth: len(o.q), Sends: o.sends.Load(), SendLatency: time.Duration(o.sendNanos.Load()),
			Drops: make(map[Reason]uint64),
		}
		taken := o.taken.Load()
		o.mu.Lock()
		for r, n := range o.failed {
			s.Drops[r] += n
		}
		o.mu.Unlock()
		if r, ok := o.Sink.(Reporter); ok {
			c := r.Counters()
			s.Retried, s.Spooled, s.SpoolIn, s.Recovered, s.Replayed = c.Retried, c.Spooled, c.SpoolIn, c.Recovered, c.Replayed
			for r, n := range c.Drops {
				s.Drops[r] += n
			}
		}
		for _, n := range s.Drops {
			s.Failed += n
		}
		if s.Dropped > 0 {
			s.Drops[ReasonQueueFull] += s.Dropped
		}
		if s.Unsent > 0 {
			s.Drops[ReasonDeadline] += s.Unsent
		}
		// What Send took went to the endpoint or the spool. Read while a
		// Send runs, SpoolIn may be ahead of taken: never below zero.
		if direct := int64(taken) - int64(s.SpoolIn); direct > 0 {
			s.Sent = uint64(direct)
		}
		s.Sent += s.Replayed
		out = append(out, s)
	}
	return out
}
