package daemon

import (
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/containers"
	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
)

// metaHold lets an alert whose container's metadata is still being
// looked up wait for it, up to holdFor, before it goes to the sinks: the
// first shell in a new container then names its container and image. Only
// alerts wait, in their own goroutine; the event path never does. A full
// hold publishes at once (counted).
type metaHold struct {
	cache   *containers.Cache
	rules   func() *engine.Ruleset
	publish func(*event.Alert)
	in      chan *event.Alert
	stop    chan struct{}
	done    chan struct{}
	// Held: alerts that waited; Filled: of those, completed in time;
	// Timeout: published without metadata after holdFor; Overflow:
	// published without waiting because the hold was full.
	Held, Filled, Timeout, Overflow atomic.Uint64
}

const (
	holdFor   = 500 * time.Millisecond
	holdTick  = 5 * time.Millisecond
	holdSlots = 1024
)

func newMetaHold(c *containers.Cache, rules func() *engine.Ruleset, publish func(*event.Alert)) *metaHold {
	h := &metaHold{cache: c, rules: rules, publish: publish, in: make(chan *event.Alert, holdSlots),
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.run()
	return h
}

// Publish sends a to the sinks now, or after its metadata (or holdFor).
func (h *metaHold) Publish(a *event.Alert) {
	ct := a.Event.Proc.Container
	if ct.FullID == "" || ct.Known {
		h.publish(a)
		return
	}
	select {
	case h.in <- a:
		h.Held.Add(1)
	default:
		h.Overflow.Add(1)
		h.publish(a)
	}
}

type heldAlert struct {
	a     *event.Alert
	until time.Time
}

// Close publishes every held alert at once (vigil is stopping: nothing
// held is lost) and stops the hold. Publish must not be called after.
func (h *metaHold) Close() {
	close(h.stop)
	<-h.done
}

// run ticks only while an alert is held: an idle ticker woke the process
// 200 times a second, 18 ms of CPU per second with nothing to do (the
// exec regression of issue 16: +10 us per exec under the exec loop).
func (h *metaHold) run() {
	var pending []heldAlert
	tick := time.NewTicker(holdTick)
	tick.Stop()
	var tickC <-chan time.Time // nil while nothing is held
	defer tick.Stop()
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			for {
				select {
				case a := <-h.in:
					pending = append(pending, heldAlert{a: a})
					continue
				default:
				}
				break
			}
			for _, p := range pending {
				h.Timeout.Add(1)
				h.publish(p.a)
			}
			return
		case a := <-h.in:
			pending = append(pending, heldAlert{a, time.Now().Add(holdFor)})
			if tickC == nil {
				tick.Reset(holdTick)
				tickC = tick.C
			}
		case now := <-tickC:
			kept := pending[:0]
			for _, p := range pending {
				if ct, ok := h.cache.Peek(p.a.Event.Proc.Container); ok {
					h.fill(p.a, ct)
					h.Filled.Add(1)
					h.publish(p.a)
				} else if now.After(p.until) {
					h.Timeout.Add(1)
					h.publish(p.a)
				} else {
					kept = append(kept, p)
				}
			}
			pending = kept
			if len(pending) == 0 {
				tick.Stop()
				tickC = nil
			}
		}
	}
}

// fill gives a's event (a copy: snapshots are shared) the container's
// metadata and renders the output again.
func (h *metaHold) fill(a *event.Alert, ct event.Container) {
	p := *a.Event.Proc
	p.Container = ct
	ev := *a.Event
	ev.Proc = &p
	a.Event = &ev
	h.rules().Rerender(a)
}
