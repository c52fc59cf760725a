package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/bpf/cgroup"
	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/hist"
	"github.com/vigil-project/vigil/internal/overlay"
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
	// Flood, when set, hears of every flood record: a process that
	// started or stopped going over its rate limit (Options.RateLimit).
	// Called from the reader's goroutine; it must not block.
	Flood func(Flood)
}

// Reader reads records from the ring buffers, decodes them and turns
// them into events. One goroutine (Run) owns it.
type Reader struct {
	rings   []*ring               // the bulk ring first (see next), then the priority ring
	ep      int                   // one epoll over every ring and wake
	epf     *os.File              // ep in Go's poller (owns ep once set)
	epc     syscall.RawConn       // epf's, for wait
	epReady func(fd uintptr) bool // one non-blocking epoll_wait; sets epErr
	epErr   error
	wake    int // eventfd: Close ends Run's wait
	dec     *Decoder
	procs   *process.Table
	users   *process.Users
	clock   clock
	poll    time.Duration // the window while records flow (Options.PollInterval)
	deliver event.TypeSet
	meta    func(event.Container) (event.Container, bool)
	flood   func(Flood)
	polling func(bool)                       // tells the kernel whether the reader polls
	policy  *atomic.Pointer[policyView]      // names the rules behind policy words
	idle    time.Duration                    // the sleep between kernel wakeups (idlePoll)
	env     *atomic.Pointer[map[string]bool] // environment names whose values are kept
	asleep  atomic.Bool                      // not polling: only a wakeup or r.idle ends the wait
	closing atomic.Bool                      // Close was called: Run returns
	closeMu sync.Mutex                       // orders Close against Run and available
	running bool
	freed   bool
	stats   readerCounters
}

// ring is one ring buffer and the record read from it but not handled
// yet (Run merges the rings by the records' kernel time).
type ring struct {
	rd      *ringbuf.Reader
	rec     ringbuf.Record
	pending bool
	ktime   uint64
}

type readerCounters struct {
	records   atomic.Uint64
	events    [vigilVgTypeVG_TYPE_MAX]atomic.Uint64 // by event.Type
	decodeErr atomic.Uint64
	// wakeRecords counts the kernel's bare wakeup records (VG_WAKE).
	wakeRecords atomic.Uint64
	floods      atomic.Uint64 // flood records (VG_FLOOD), start and end
	latency     hist.Hist
}

// ReaderStats are the reader's counters.
type ReaderStats struct {
	Records      uint64                // records read from the ring buffers
	Events       map[event.Type]uint64 // records decoded, by type
	DecodeErrors uint64                // records counted and skipped: unknown, truncated, garbled
	Floods       uint64                // flood records: a process started or stopped going over its rate
	Latency      LatencySummary        // kernel to reader, sampled
}

// DefaultDeliver are the event types a reader delivers by default.
var DefaultDeliver = []event.Type{event.TypeExec, event.TypeOpen, event.TypeConnect}

// NewReader starts reading the probes' ring buffers. The process table is
// seeded from /proc before the first record is read.
func NewReader(p *Probes, o ReaderOptions) (*Reader, error) {
	r := &Reader{ep: -1, wake: -1, dec: NewDecoder(), env: &p.env, procs: o.Procs, users: o.Users, poll: p.poll, meta: o.Containers, flood: o.Flood, polling: p.setReaderPolling, idle: idlePoll, policy: &p.polView}
	if err := r.start(p, o); err != nil {
		r.free()
		return nil, err
	}
	return r, nil
}

// openRings opens a reader per ring and the epoll Run waits on.
func (r *Reader) openRings(p *Probes) error {
	var err error
	if r.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll for the ring buffers: %w", err)
	}
	if r.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd for the ring buffers: %w", err)
	}
	// The reader waits for the rings in Go's poller, not in a blocking
	// epoll_wait: a goroutine in a syscall keeps its P busy, so the
	// runtime's sysmon never sleeps deeply and woke every 20 us-10 ms
	// (most of vigil's context switches under the exec loop).
	if err := unix.SetNonblock(r.ep, true); err != nil {
		return fmt.Errorf("epoll for the ring buffers: %w", err)
	}
	r.epf = os.NewFile(uintptr(r.ep), "vigil-rings")
	if r.epc, err = r.epf.SyscallConn(); err != nil {
		return fmt.Errorf("epoll for the ring buffers: %w", err)
	}
	var evs [3]unix.EpollEvent
	r.epReady = func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), evs[:], 0)
			if err == unix.EINTR {
				continue
			}
			r.epErr = err
			return n > 0 || err != nil
		}
	}
	fds := []int{r.wake}
	for _, m := range []*ebpf.Map{p.objs.VgBulk, p.objs.VgEvents} {
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			return fmt.Errorf("open ring buffer reader: %w", err)
		}
		// Reads never wait: Run waits on its own epoll, for every ring.
		rd.SetDeadline(time.Unix(1, 0))
		r.rings = append(r.rings, &ring{rd: rd})
		fds = append(fds, m.FD())
	}
	for _, fd := range fds {
		if err := unix.EpollCtl(r.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return fmt.Errorf("epoll for the ring buffers: %w", err)
		}
	}
	return nil
}

// start opens the rings and fills in what the options leave out.
func (r *Reader) start(p *Probes, o ReaderOptions) error {
	if err := r.openRings(p); err != nil {
		return err
	}
	var err error
	if r.users == nil {
		r.users = process.NewUsers("/etc/passwd")
	}
	r.stats.latency.Init(latencyBounds())
	if r.clock, err = newClock(); err != nil {
		return err
	}
	if r.procs == nil {
		containers := cgroup.NewResolver(p.cgroup.Mount).Container
		layers := overlay.New(overlay.Options{})
		r.procs = process.New(process.Options{MaxEntries: o.MaxProcs, Containers: containers, BootTime: r.clock.boot, ExeLayer: layers.UpperLayerOr})
		if _, err := r.procs.Seed(); err != nil {
			return fmt.Errorf("seed process table: %w", err)
		}
	}
	types := o.Types
	if len(types) == 0 {
		types = DefaultDeliver
	}
	for _, t := range types {
		r.deliver |= 1 << t
	}
	return nil
}

// Procs returns the reader's process table.
func (r *Reader) Procs() *process.Table { return r.procs }

// Run reads until ctx is done or Close is called, calling emit for every
// delivered event from this goroutine. Events are new values each time and
// may be kept.
func (r *Reader) Run(ctx context.Context, emit func(*event.Event)) error {
	r.closeMu.Lock()
	if r.freed {
		r.closeMu.Unlock()
		return nil
	}
	r.running = true
	r.closeMu.Unlock()
	defer func() {
		r.closeMu.Lock()
		r.running = false
		if r.closing.Load() {
			r.freeLocked()
		}
		r.closeMu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	var dr Record
	// While records flow, the reader polls: it drains the rings, sleeps
	// until the end of a window of r.poll (or a wakeup: the kernel still
	// wakes it when wakeup_bytes wait), drains them again, and the kernel
	// (told so through setReaderPolling) sends no other wakeups. A window
	// without records ends the polling: the reader says so, looks at the
	// rings once more, and sleeps until the kernel wakes it for the next
	// record (or idlePoll passes).
	polling := true
	r.polling(true)
	defer r.polling(false)
	sawData := false
	deadline := time.Now().Add(r.poll)
	for !r.closing.Load() {
		rg, err := r.next()
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read ring buffer: %w", err)
		}
		if rg == nil {
			now := time.Now()
			if now.Before(deadline) {
				if err := r.wait(deadline.Sub(now)); err != nil {
					return err
				}
				continue
			}
			if polling && !sawData {
				r.polling(false)
				if r.unread() == 0 {
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
			deadline = now.Add(wait)
			continue
		}
		sawData = true
		if !polling {
			polling = true
			r.asleep.Store(false)
			r.polling(true)
			deadline = time.Now().Add(r.poll)
		}
		rg.pending = false
		r.record(rg.rec.RawSample, &dr, emit)
	}
	// Records already taken from a ring are handled, not lost: what the
	// rings held is then either handled or still there.
	for rg := r.first(); rg != nil; rg = r.first() {
		rg.pending = false
		r.record(rg.rec.RawSample, &dr, emit)
	}
	return nil
}

// first is the pending ring whose record comes first, without reading.
func (r *Reader) first() *ring {
	var best *ring
	for _, rg := range r.rings {
		if rg.pending && (best == nil || rg.ktime <= best.ktime) {
			best = rg
		}
	}
	return best
}

// record handles one record of a ring.
func (r *Reader) record(raw []byte, dr *Record, emit func(*event.Event)) {
	n := r.stats.records.Add(1)
	if len(raw) > 0 && raw[0] == vgFlood {
		r.floodRecord(raw, dr)
		return
	}
	if err := r.dec.Decode(raw, dr); err != nil {
		r.stats.decodeErr.Add(1)
		return
	}
	if n%latencySampleEvery == 0 {
		r.stats.latency.Observe(r.clock.sinceBoot(dr.Ktime))
	}
	if ev := r.handle(dr); ev != nil {
		r.stats.events[ev.Type].Add(1)
		if r.deliver.Has(ev.Type) {
			emit(ev)
		}
	}
}

// next is the ring whose pending record comes first, nil when every ring
// is empty. Each ring is in commit order; across rings, records are
// merged by their kernel time, so that a process's exec or fork (priority
// ring) comes before the opens it made afterwards (bulk ring), as with
// one ring. The bulk ring is looked at first: a record committed before
// one seen there (a process's exec before its opens) is then visible in
// the priority ring too. When the priority ring is more than half full,
// its records go first whatever their time: losing none of them matters
// more than the order of a few opens.
func (r *Reader) next() (*ring, error) {
	var best *ring
	for _, rg := range r.rings {
		if !rg.pending {
			if err := r.fill(rg); err != nil {
				return nil, err
			}
			if !rg.pending {
				continue
			}
		}
		if best == nil || rg.ktime <= best.ktime {
			best = rg
		}
	}
	if prio := r.rings[len(r.rings)-1]; prio.pending && best != prio &&
		prio.rd.AvailableBytes() > prio.rd.BufferSize()/2 {
		return prio, nil
	}
	return best, nil
}

// fill reads rg's next record, if it has one, skipping wakeup records.
func (r *Reader) fill(rg *ring) error {
	for rg.rd.AvailableBytes() > 0 {
		err := rg.rd.ReadInto(&rg.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil // only discarded records
		}
		if err != nil {
			return err
		}
		raw := rg.rec.RawSample
		if len(raw) > 0 && raw[0] == vgWake {
			r.stats.wakeRecords.Add(1)
			continue
		}
		rg.pending = true
		rg.ktime = 0 // a record too short for a header goes first, to be counted
		if len(raw) >= 16 {
			rg.ktime = le.Uint64(raw[8:])
		}
		return nil
	}
	return nil
}

// wait sleeps until a ring has data, Close is called, or d passes.
func (r *Reader) wait(d time.Duration) error {
	if err := r.epf.SetReadDeadline(time.Now().Add(d)); err != nil {
		return fmt.Errorf("wait for the ring buffers: %w", err)
	}
	err := r.epc.Read(r.epReady)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	if err == nil {
		err, r.epErr = r.epErr, nil
	}
	if err != nil {
		return fmt.Errorf("wait for the ring buffers: %w", err)
	}
	return nil
}

// unread is the rings' unread bytes; Run's goroutine only.
func (r *Reader) unread() int {
	n := 0
	for _, rg := range r.rings {
		n += rg.rd.AvailableBytes()
	}
	return n
}

// Close stops Run.
func (r *Reader) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	r.closing.Store(true)
	if r.running {
		var one [8]byte
		one[0] = 1
		unix.Write(r.wake, one[:])
		return nil // Run frees the rings on its way out
	}
	return r.freeLocked()
}

func (r *Reader) free() {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	r.freeLocked()
}

func (r *Reader) freeLocked() error {
	if r.freed {
		return nil
	}
	r.freed = true
	var errs []error
	for _, rg := range r.rings {
		errs = append(errs, rg.rd.Close())
	}
	if r.epf != nil {
		errs = append(errs, r.epf.Close())
		r.ep = -1
	}
	for _, fd := range []int{r.ep, r.wake} {
		if fd >= 0 {
			errs = append(errs, unix.Close(fd))
		}
	}
	return errors.Join(errs...)
}

// available is the rings' unread bytes, 0 once closed (a ring buffer
// reader's AvailableBytes does not survive its Close).
func (r *Reader) available() int {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.freed {
		return 0
	}
	return r.unread()
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (r *Reader) Stats() ReaderStats {
	s := ReaderStats{
		Records:      r.stats.records.Load(),
		DecodeErrors: r.stats.decodeErr.Load(),
		Floods:       r.stats.floods.Load(),
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
