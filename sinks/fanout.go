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

// Stats are one sink's counters.
type Stats struct {
	Name        string
	Sent        uint64 // alerts the sink took (delivered, or spooled)
	Failed      uint64 // alerts Send gave up on
	Dropped     uint64 // alerts refused because the queue was full
	Unsent      uint64 // alerts still queued when Close's deadline passed
	Retried     uint64 // from the sink, if it reports
	Spooled     uint64 // from the sink, if it reports
	QueueDepth  int
	Sends       uint64        // calls of Send
	SendLatency time.Duration // total time in Send; divide by Sends
}

type output struct {
	Output
	q    chan *event.Alert
	done chan struct{}
	log  *slog.Logger

	sent, failed, dropped, unsent, sends atomic.Uint64
	sendNanos                            atomic.Int64
}

// Fanout delivers every alert to every sink whose filter accepts it. Each
// sink has its own bounded queue and worker goroutine: Publish never
// blocks, a full queue drops the newest alert for that sink only, and a
// slow or dead sink delays nobody else.
type Fanout struct {
	outs   []*output
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
		w := &output{Output: o, q: make(chan *event.Alert, o.QueueSize), done: make(chan struct{}), log: log.With("component", "sink", "sink", o.Name)}
		f.outs = append(f.outs, w)
		f.wg.Add(1)
		go f.work(w)
	}
	return f
}

// Publish queues a for every sink that wants it. It never blocks.
func (f *Fanout) Publish(a *event.Alert) {
	if f.closed.Load() {
		return
	}
	for _, o := range f.outs {
		if !o.Filter.Accepts(a) {
			continue
		}
		select {
		case o.q <- a:
		default:
			o.dropped.Add(1)
		}
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
			continue // Close's deadline passed: count and drain without sending
		}
		start := time.Now()
		err := o.Sink.Send(f.stop, batch)
		o.sendNanos.Add(int64(time.Since(start)))
		o.sends.Add(1)
		if err != nil {
			o.failed.Add(uint64(len(batch)))
			o.log.Warn("send failed", "alerts", len(batch), "err", err)
			continue
		}
		o.sent.Add(uint64(len(batch)))
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
			Name: o.Name, Sent: o.sent.Load(), Failed: o.failed.Load(), Dropped: o.dropped.Load(), Unsent: o.unsent.Load(),
			QueueDepth: len(o.q), Sends: o.sends.Load(), SendLatency: time.Duration(o.sendNanos.Load()),
		}
		if r, ok := o.Sink.(Reporter); ok {
			c := r.Counters()
			s.Retried, s.Spooled = c.Retried, c.Spooled
		}
		out = append(out, s)
	}
	return out
}
