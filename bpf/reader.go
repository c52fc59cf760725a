package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/vigil-project/vigil/bpf/cgroup"
	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/hist"
)

// idlePoll is how long the reader sleeps when the ring has been empty for
// a whole short poll: the kernel wakes it for the next record anyway, so
// this is only a safety net.
const idlePoll = 250 * time.Millisecond

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// Types are the event types delivered to the callback; empty means
	// exec, open and connect. fork and exit always feed the process table.
	Types []event.Type
	// Procs is the process table; nil means a new one with default options.
	Procs *process.Table
	// Users maps uids to names; nil means /etc/passwd.
	Users *process.Users
	// MaxProcs caps the process table NewReader makes (0: the default).
	MaxProcs int
	// Containers, when set, returns a container with the runtime's
	// metadata applied (and Known set) and true, or false when the answer
	// is not there yet. It must not block: it is called from the reader's
	// goroutine for events of processes whose container is not Known.
	Containers func(event.Container) (event.Container, bool)
}

// Reader reads records from the ring buffer, decodes them and turns them
// into events. One goroutine (Run) owns it.
type Reader struct {
	rd      *ringbuf.Reader
	dec     *Decoder
	procs   *process.Table
	users   *process.Users
	clock   clock
	poll    time.Duration // the short poll: the kernel's wakeup interval
	deliver event.TypeSet
	meta    func(event.Container) (event.Container, bool)
	polling func(bool)                       // tells the kernel whether the reader polls
	policy  *atomic.Pointer[policyView]      // names the rules behind policy words
	idle    time.Duration                    // the sleep between kernel wakeups (idlePoll)
	env     *atomic.Pointer[map[string]bool] // environment names whose values are kept
	asleep  atomic.Bool                      // not polling: only a wakeup or r.idle ends the wait
	closeMu sync.Mutex                       // orders Close against available
	closed  bool
	stats   readerCounters
}

type readerCounters struct {
	records   atomic.Uint64
	events    [vigilVgTypeVG_TYPE_MAX]atomic.Uint64 // by event.Type
	decodeErr atomic.Uint64
	// wakeRecords counts the kernel's bare wakeup records (VG_WAKE).
	wakeRecords atomic.Uint64
	latency     hist.Hist
}

// ReaderStats are the reader's counters.
type ReaderStats struct {
	Records      uint64                // records read from the ring buffer
	Events       map[event.Type]uint64 // records decoded, by type
	DecodeErrors uint64                // records counted and skipped: unknown, truncated, garbled
	Latency      LatencySummary        // kernel to reader, sampled
}

// DefaultDeliver are the event types a reader delivers by default.
var DefaultDeliver = []event.Type{event.TypeExec, event.TypeOpen, event.TypeConnect}

// NewReader starts reading the probes' ring buffer. The process table is
// seeded from /proc before the first record is read.
func NewReader(p *Probes, o ReaderOptions) (*Reader, error) {
	rd, err := ringbuf.NewReader(p.objs.VgEvents)
	if err != nil {
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	r := &Reader{rd: rd, dec: NewDecoder(), env: &p.env, procs: o.Procs, users: o.Users, poll: p.wakeupInterval(), meta: o.Containers, polling: p.setReaderPolling, idle: idlePoll, policy: &p.polView}
	if r.users == nil {
		r.users = process.NewUsers("/etc/passwd")
	}
	r.stats.latency.Init(latencyBounds())
	if r.clock, err = newClock(); err != nil {
		rd.Close()
		return nil, err
	}
	if r.procs == nil {
		containers := cgroup.NewResolver(p.cgroup.Mount).Container
		r.procs = process.New(process.Options{MaxEntries: o.MaxProcs, Containers: containers, BootTime: r.clock.boot})
		if _, err := r.procs.Seed(); err != nil {
			rd.Close()
			return nil, fmt.Errorf("seed process table: %w", err)
		}
	}
	types := o.Types
	if len(types) == 0 {
		types = DefaultDeliver
	}
	for _, t := range types {
		r.deliver |= 1 << t
	}
	return r, nil
}

// Procs returns the reader's process table.
func (r *Reader) Procs() *process.Table { return r.procs }

// Run reads until ctx is done or Close is called, calling emit for every
// delivered event from this goroutine. Events are new values each time and
// may be kept.
func (r *Reader) Run(ctx context.Context, emit func(*event.Event)) error {
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	var rec ringbuf.Record
	var dr Record
	// While records flow, the reader polls: it drains the ring, sleeps
	// until the end of a window of r.poll, drains it again, and the kernel
	// (told so through setReaderPolling) sends no wakeups at all. A window
	// without records ends the polling: the reader says so, looks at the
	// ring once more, and sleeps until the kernel wakes it for the next
	// record (or idlePoll passes).
	polling := true
	r.polling(true)
	defer r.polling(false)
	sawData := false
	r.rd.SetDeadline(time.Now().Add(r.poll))
	for {
		err := r.rd.ReadInto(&rec)
		switch {
		case err == nil:
			sawData = true
			if !polling {
				polling = true
				r.asleep.Store(false)
				r.polling(true)
				r.rd.SetDeadline(time.Now().Add(r.poll))
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			if polling && !sawData {
				r.polling(false)
				if r.available() == 0 {
					polling = false
					r.asleep.Store(true)
				} else {
					r.polling(true) // a record slipped in: keep polling
				}
			}
			sawData = false
			wait := r.poll
			if !polling {
				wait = r.idle
			}
			r.rd.SetDeadline(time.Now().Add(wait))
			continue
		case errors.Is(err, os.ErrClosed):
			return nil
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}
		if len(rec.RawSample) > 0 && rec.RawSample[0] == vgWake {
			r.stats.wakeRecords.Add(1)
			continue
		}
		n := r.stats.records.Add(1)
		if err := r.dec.Decode(rec.RawSample, &dr); err != nil {
			r.stats.decodeErr.Add(1)
			continue
		}
		if n%latencySampleEvery == 0 {
			r.stats.latency.Observe(r.clock.sinceBoot(dr.Ktime))
		}
		if ev := r.handle(&dr); ev != nil {
			r.stats.events[ev.Type].Add(1)
			if r.deliver.Has(ev.Type) {
				emit(ev)
			}
		}
	}
}

// Close stops Run.
func (r *Reader) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	r.closed = true
	return r.rd.Close()
}

// available is the ring's unread bytes, 0 once closed (the ring buffer
// reader's AvailableBytes does not survive its Close).
func (r *Reader) available() int {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed {
		return 0
	}
	return r.rd.AvailableBytes()
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (r *Reader) Stats() ReaderStats {
	s := ReaderStats{
		Records:      r.stats.records.Load(),
		DecodeErrors: r.stats.decodeErr.Load(),
		Events:       make(map[event.Type]uint64),
		Latency:      latencySummary(&r.stats.latency),
	}
	for _, t := range event.Types() {
		s.Events[t] = r.stats.events[t].Load()
	}
	return s
}

// clock converts the kernel's CLOCK_BOOTTIME nanoseconds to wall time.
type clock struct {
	boot time.Time // wall-clock time at boot
}

func newClock() (clock, error) {
	boot, err := process.BootTime()
	return clock{boot: boot}, err
}

func (c clock) wall(bootNs uint64) time.Time { return c.boot.Add(time.Duration(bootNs)) }

func (c clock) sinceBoot(bootNs uint64) time.Duration {
	up, err := process.Uptime()
	if err != nil {
		return 0
	}
	return up - time.Duration(bootNs)
}

// envValues are the environment names whose values are kept.
func (r *Reader) envValues() map[string]bool {
	if m := r.env.Load(); m != nil {
		return *m
	}
	return nil
}
