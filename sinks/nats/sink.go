package nats

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// Sentinel errors.
var (
	ErrClosed       = errors.New("nats sink: closed")
	ErrUndelivered  = errors.New("nats sink: alerts not delivered")
	ErrDisconnected = errors.New("nats sink: not connected")
)

// Tuning that needs no configuration.
const (
	// drainBudget bounds the spooled alerts one Send (or one tick of the
	// background drain) publishes before the new batch, so that a long
	// spool does not hold the fan-out worker, whose queue would overflow.
	drainBudget = 1024
	// drainChunk is how many spooled alerts are published per round trip.
	drainChunk = 256
	// drainTick is how often the background drain looks at the spool, so
	// that alerts spooled during an outage arrive even if no new alert
	// comes after it.
	drainTick = time.Second
	// subjectCacheSize bounds the rendered subjects kept; rules × hosts ×
	// priorities is small in practice, and the cache is simply cleared if
	// it is not.
	subjectCacheSize = 4096
	backoffBase      = 100 * time.Millisecond
	backoffMax       = 2 * time.Second
)

// Option configures New and Tail.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger logs connection changes and spool trouble to l (never one
// line per alert). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Stats are the sink's own counters; safe from any goroutine.
type Stats struct {
	Published    uint64 // alerts handed to nats.go (core) or acknowledged (JetStream), spooled ones included
	Duplicates   uint64 // JetStream acknowledgements marked duplicate: retried copies the stream dropped
	Failed       uint64 // alerts given up on
	Retried      uint64 // publish attempts beyond the first within a Send, per alert (a spooled alert's later publish is not counted)
	Spooled      uint64 // alerts waiting in the spool now
	SpooledTotal uint64 // alerts ever written to the spool
}

// Sink publishes alerts to NATS. Send and Close are called from one
// goroutine (the fan-out's worker); Stats and Counters from any.
type Sink struct {
	cfg  Config
	log  *slog.Logger
	tmpl *template
	nc   *nats.Conn
	js   jetstream.JetStream // nil for core NATS
	sp   spooler             // nil without a spool

	closedCh    chan struct{} // closed when the connection is closed for good
	reconnected chan struct{} // signalled on (re)connect, for the spool drain
	stopDrain   context.CancelFunc
	drainDone   chan struct{}
	closed      atomic.Bool

	// mu serialises Send with the background drain: both publish from
	// the spool, whose order they must keep.
	mu          sync.Mutex
	buf         []byte // core: the body of the alert being published
	rec         []byte // a spool record being built
	subjects    map[subjectKey]string
	streamReady bool
	unsynced    bool // appended to the spool since its last Sync

	published, duplicates, failed, retried, spooledTotal atomic.Uint64
	spooled                                              atomic.Int64
	recovered, replayed, damaged                         atomic.Uint64 // spool traffic, for sinks.Counters
}

type subjectKey struct{ priority, rule, hostname string }

// New connects to NATS and returns the sink. The connection is made in
// the background if the servers cannot be reached now (alerts meanwhile
// go to the reconnect buffer, or the spool), so that vigil starts and
// detects whatever the state of NATS; only a bad configuration is an
// error here.
func New(c Config, opts ...Option) (*Sink, error) {
	c, tmpl, err := c.check()
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	s := &Sink{
		cfg:         c,
		log:         o.log.With("component", "nats"),
		tmpl:        tmpl,
		closedCh:    make(chan struct{}),
		reconnected: make(chan struct{}, 1),
		subjects:    make(map[subjectKey]string),
	}
	natsOpts, err := connOptions(c.Auth, c.TLS)
	if err != nil {
		return nil, fmt.Errorf("nats sink: %w", err)
	}
	var closeOnce sync.Once
	natsOpts = append(natsOpts,
		nats.Name("vigil"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectJitter(c.ReconnectWait, c.ReconnectWait),
		nats.ReconnectBufSize(c.ReconnectBufferBytes),
		nats.ConnectHandler(func(*nats.Conn) { s.signalReconnect() }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.log.Info("reconnected", "server", nc.ConnectedUrlRedacted())
			s.signalReconnect()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			s.log.Warn("disconnected", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			s.log.Warn("nats error", "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { closeOnce.Do(func() { close(s.closedCh) }) }),
	)
	if c.Spool.Dir != "" {
		if s.sp, err = openSpool(c.Spool.Dir, c.Spool.MaxBytes); err != nil {
			return nil, fmt.Errorf("nats sink: open spool: %w", err)
		}
		s.spooled.Store(int64(s.sp.Len()))
		s.recovered.Store(uint64(s.sp.Len()))
		if n := s.sp.Len(); n > 0 {
			s.log.Info("alerts spooled by an earlier run will be replayed first", "alerts", n, "dir", c.Spool.Dir)
		}
	}
	s.nc, err = nats.Connect(c.URL, natsOpts...)
	if err != nil {
		s.closeSpool()
		return nil, fmt.Errorf("nats sink: connect %s: %w", c.URL, err)
	}
	if c.JetStream {
		s.js, err = jetstream.New(s.nc,
			// Without a timeout an ack lost with a connection would
			// hold its slot (and its future) for ever.
			jetstream.WithPublishAsyncTimeout(c.AckTimeout),
			jetstream.WithPublishAsyncMaxPending(4*drainBudget),
		)
		if err != nil {
			s.nc.Close()
			s.closeSpool()
			return nil, fmt.Errorf("nats sink: jetstream: %w", err)
		}
		if s.connected() {
			ctx, cancel := context.WithTimeout(context.Background(), c.AckTimeout)
			s.ensureStream(ctx)
			cancel()
		}
	}
	if s.sp != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopDrain, s.drainDone = cancel, make(chan struct{})
		go s.drainLoop(ctx)
	}
	return s, nil
}

func (s *Sink) signalReconnect() {
	select {
	case s.reconnected <- struct{}{}:
	default:
	}
}

func (s *Sink) connected() bool { return s.nc.Status() == nats.CONNECTED }

// ensureStream creates the configured stream if it is missing. A failure
// is logged, not returned: the publishes that follow fail and are retried
// or spooled like any other, and the next Send tries again.
func (s *Sink) ensureStream(ctx context.Context) {
	if s.cfg.Stream == "" || s.streamReady {
		s.streamReady = true
		return
	}
	_, err := s.js.Stream(ctx, s.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     s.cfg.Stream,
			Subjects: []string{s.tmpl.wildcard},
			Storage:  jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another node made it first
		}
	}
	if err != nil {
		s.log.Warn("ensure stream", "stream", s.cfg.Stream, "err", err)
		return
	}
	s.streamReady = true
}

// Send publishes batch in order. Under JetStream it waits for every
// acknowledgement, publishing the unacknowledged alerts again up to
// MaxRetries times; with a spool, what is still undelivered is spooled
// (and Send returns nil), and spooled alerts go out before newer ones.
// The error, wrapping ErrUndelivered, is for alerts given up on.
func (s *Sink) Send(ctx context.Context, batch []*event.Alert) error {
	if s.closed.Load() {
		s.failed.Add(uint64(len(batch)))
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.js != nil && !s.streamReady && s.connected() {
		s.ensureStream(ctx)
	}
	if s.sp != nil && s.spooled.Load() > 0 {
		if err := s.drainSpool(ctx, drainBudget); err != nil || s.spooled.Load() > 0 {
			// Behind spooled alerts: keep the order.
			return s.spoolAlerts(batch)
		}
	}
	if s.js != nil {
		return s.sendJetStream(ctx, batch)
	}
	return s.sendCore(batch)
}

// sendCore publishes with core NATS: at most once, nats.go buffering and
// flushing.
func (s *Sink) sendCore(batch []*event.Alert) error {
	var failed int
	var lastErr error
	for i, a := range batch {
		subj := s.subject(a)
		s.buf = event.AppendAlertJSON(s.buf[:0], a)
		err := s.nc.Publish(subj, s.buf)
		if err == nil {
			s.published.Add(1)
			continue
		}
		if s.sp != nil {
			return s.spoolAlerts(batch[i:])
		}
		failed++
		lastErr = err
	}
	if failed > 0 {
		s.failed.Add(uint64(failed))
		return undelivered(sinks.ReasonUnavailable, failed, len(batch), lastErr)
	}
	return nil
}

// record is one alert ready to publish, kept until acknowledged.
type record struct {
	subject, id string
	data        []byte
}

func (s *Sink) sendJetStream(ctx context.Context, batch []*event.Alert) error {
	recs := s.records(batch)
	if s.sp != nil && !s.connected() {
		// Straight to disk: the publish would only wait for an ack that
		// cannot come before the next reconnect.
		return s.spoolRecords(recs)
	}
	left, err := s.publishRetrying(ctx, recs)
	if len(left) == 0 {
		return nil
	}
	if s.sp != nil {
		undelivered := make([]record, len(left))
		for i, k := range left {
			undelivered[i] = recs[k]
		}
		return s.spoolRecords(undelivered)
	}
	s.failed.Add(uint64(len(left)))
	return undelivered(sinks.ReasonUnavailable, len(left), len(batch), err)
}

// undelivered is Send's error for n of a batch of `of` given up on for r.
func undelivered(r sinks.Reason, n, of int, err error) error {
	d := &sinks.DropError{}
	d.Add(r, n, fmt.Errorf("%w (%d of %d): %w", ErrUndelivered, n, of, err))
	return d
}

// records renders batch. The bodies share one allocation, which is never
// reused: nats.go keeps a message until its ack or timeout, and may
// publish it again by itself meanwhile.
func (s *Sink) records(batch []*event.Alert) []record {
	recs := make([]record, len(batch))
	ends := make([]int, len(batch))
	var arena []byte
	for i, a := range batch {
		arena = event.AppendAlertJSON(arena, a)
		ends[i] = len(arena)
		recs[i].subject = s.subject(a)
		recs[i].id = msgID(a)
	}
	start := 0
	for i, end := range ends {
		recs[i].data = arena[start:end:end]
		start = end
	}
	return recs
}

// publishRetrying publishes recs and returns the indexes of those still
// unacknowledged when the retries are spent, with the last error.
func (s *Sink) publishRetrying(ctx context.Context, recs []record) ([]int, error) {
	todo := make([]int, len(recs))
	for i := range todo {
		todo[i] = i
	}
	var err error
	for attempt := 0; ; attempt++ {
		todo, err = s.publishAcked(ctx, recs, todo)
		if len(todo) == 0 || attempt >= s.cfg.MaxRetries || ctx.Err() != nil {
			return todo, err
		}
		if s.sp != nil && !s.connected() {
			return todo, err // the spool holds them better than the reconnect buffer
		}
		s.retried.Add(uint64(len(todo)))
		if !sleep(ctx, sinks.Backoff(backoffBase, backoffMax, attempt)) {
			return todo, err
		}
	}
}

// publishAcked publishes recs[todo...] asynchronously, then waits for
// every ack: one round trip per batch, not per alert. It returns, in
// order, the indexes that were not acknowledged.
func (s *Sink) publishAcked(ctx context.Context, recs []record, todo []int) ([]int, error) {
	futures := make([]jetstream.PubAckFuture, len(todo))
	var lastErr error
	for k, i := range todo {
		r := &recs[i]
		m := &nats.Msg{Subject: r.subject, Data: r.data, Header: nats.Header{jetstream.MsgIDHeader: []string{r.id}}}
		f, err := s.js.PublishMsgAsync(m)
		if err != nil {
			lastErr = err
			continue
		}
		futures[k] = f
	}
	var failed []int
	for k, f := range futures {
		if f == nil {
			failed = append(failed, todo[k])
			continue
		}
		select {
		case ack := <-f.Ok():
			s.published.Add(1)
			if ack.Duplicate {
				s.duplicates.Add(1)
			}
		case err := <-f.Err():
			lastErr = err
			failed = append(failed, todo[k])
		case <-ctx.Done():
			lastErr = ctx.Err()
			failed = append(failed, todo[k])
		}
	}
	return failed, lastErr
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// subject renders the subject of a, from a cache: the same few rules,
// priorities and hosts recur, and rendering would allocate per alert.
func (s *Sink) subject(a *event.Alert) string {
	k := subjectKey{a.Priority, a.Rule, a.Hostname}
	if subj, ok := s.subjects[k]; ok {
		return subj
	}
	if len(s.subjects) >= subjectCacheSize {
		clear(s.subjects)
	}
	subj := string(s.tmpl.appendSubject(nil, a))
	s.subjects[k] = subj
	return subj
}

// msgID is the stable id of an alert, sent as Nats-Msg-Id: the sanitised
// hostname, the event time in Unix nanoseconds, and an FNV-1a 64 hash of
// the hostname, rule, output and the event's type, pid and tid. It depends
// on the alert alone, so every retry and every spooled copy of an alert
// carries the same id, and the stream's duplicate window (2 minutes by
// default) keeps one. Two alerts share an id only if the same rule fired
// on the same host at the same nanosecond with the same output, for the
// same thread.
func msgID(a *event.Alert) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h *= prime // separator, so ("ab","c") and ("a","bc") differ
	}
	add(a.Hostname)
	add(a.Rule)
	add(a.Output)
	if e := a.Event; e != nil {
		var b [9]byte
		b[0] = byte(e.Type)
		binary.LittleEndian.PutUint32(b[1:], e.TID)
		if e.Proc != nil {
			binary.LittleEndian.PutUint32(b[5:], e.Proc.PID)
		}
		add(string(b[:]))
	}
	id := make([]byte, 0, 64)
	id = appendToken(id, a.Hostname)
	id = append(id, '-')
	id = strconv.AppendInt(id, a.Time.UnixNano(), 10)
	id = append(id, '-')
	id = appendHex64(id, h)
	return string(id)
}

func appendHex64(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	return Stats{
		Published:    s.published.Load(),
		Duplicates:   s.duplicates.Load(),
		Failed:       s.failed.Load(),
		Retried:      s.retried.Load(),
		Spooled:      uint64(max(s.spooled.Load(), 0)),
		SpooledTotal: s.spooledTotal.Load(),
	}
}

// Counters implements sinks.Reporter.
func (s *Sink) Counters() sinks.Counters {
	st := s.Stats()
	c := sinks.Counters{Retried: st.Retried, Spooled: st.Spooled, SpoolIn: st.SpooledTotal,
		Recovered: s.recovered.Load(), Replayed: s.replayed.Load()}
	if n := s.damaged.Load(); n > 0 {
		c.Drops = map[sinks.Reason]uint64{sinks.ReasonSpoolDamage: n}
	}
	return c
}

// Close delivers what the spool holds if NATS is reachable (what is left
// stays on disk for the next start), then drains the connection: buffered
// alerts are flushed and the connection closed, all within ctx.
func (s *Sink) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stopDrain != nil {
		s.stopDrain()
		<-s.drainDone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.sp != nil && s.spooled.Load() > 0 {
		if err := s.drainSpool(ctx, -1); err != nil {
			s.log.Warn("alerts left in the spool for the next start", "alerts", s.spooled.Load(), "err", err)
		}
	}
	if s.connected() {
		if err := s.nc.Drain(); err != nil {
			errs = append(errs, fmt.Errorf("nats sink: drain: %w", err))
		}
		select {
		case <-s.closedCh:
		case <-ctx.Done():
			s.nc.Close()
			errs = append(errs, fmt.Errorf("nats sink: drain: %w", ctx.Err()))
		}
	} else {
		// Nothing to drain to: what the reconnect buffer holds is lost,
		// and said so (a spooled alert is not: it waits on disk).
		buffered, _ := s.nc.Buffered()
		s.nc.Close()
		if buffered > 0 {
			errs = append(errs, fmt.Errorf("%w at close: %d bytes of alerts in the reconnect buffer lost", ErrDisconnected, buffered))
		}
	}
	if err := s.closeSpool(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Sink) closeSpool() error {
	if s.sp == nil {
		return nil
	}
	if err := s.sp.Close(); err != nil {
		return fmt.Errorf("nats sink: close spool: %w", err)
	}
	return nil
}
