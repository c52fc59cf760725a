package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/spool"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("webhook: closed")

// DropError reports alerts of a batch Send gave up on, by reason:
// refused by the endpoint (a 4xx other than 429: sinks.ReasonRefused),
// undeliverable with no spool configured (ReasonUnavailable), refused by
// a full spool (ReasonSpoolFull, the newest dropped) or by a failing one
// (ReasonSpoolError). Err is the first cause.
type DropError = sinks.DropError

// StatusError is a response outside 2xx.
type StatusError struct {
	Code     int
	Status   string // "400 Bad Request"
	Body     string // the start of the response body, for the log
	Location string // of a redirect, which is not followed
}

func (e *StatusError) Error() string {
	msg := "status " + e.Status
	if e.Location != "" {
		msg += " (redirect to " + e.Location + " not followed: set url to the final address)"
	}
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}

// Option configures New.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
	log       *slog.Logger
}

// WithLogger logs the sink's changes of state (spooling begins, the spool
// is drained or recovered); nothing is logged per alert. Logs are
// discarded by default.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithLookupEnv sets where ${NAME} in header values is looked up
// (os.LookupEnv by default), for a program that keeps environment access
// in one place.
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = f }
}

// layout is the shape of a request body.
type layout uint8

const (
	layoutObject layout = iota // the one alert's object, as Falco posts it
	layoutArray
	layoutNDJSON
)

// Sink posts alerts to one URL. Send and Close must be called from one
// goroutine (the fan-out's worker); Counters is safe from any.
type Sink struct {
	url      string
	host     string      // Host header override, or ""
	header   http.Header // every request's headers, content type included
	client   *http.Client
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	size     int
	layout   layout
	gzip     bool
	log      *slog.Logger
	sp       *spool.Spool
	spoolDir string

	// Scratch reused across Sends.
	enc  []byte   // the encoded alerts, back to back
	ends []int    // end offset of each in enc
	recs [][]byte // enc cut at ends
	raw  []byte   // uncompressed body when gzipping
	zw   *gzip.Writer

	// While the spool holds alerts the endpoint is presumed down: it is
	// tried again at probeAt, after a backoff growing with down.
	spooling   bool
	probeAt    time.Time
	down       int
	corruptLog int // spool damage already logged

	// The outage in progress, logged once when it starts and once when it
	// ends: since when, and what was spooled and dropped meanwhile.
	downSince              time.Time
	downSpooled, downLost  int
	replaying, replayCount int // alerts replayed since the spool last filled

	closed bool

	// Time, replaced in tests so that backoffs cost nothing.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	retried   atomic.Uint64
	spooled   atomic.Uint64
	spoolIn   atomic.Uint64
	recovered atomic.Uint64
	replayed  atomic.Uint64
	mu        sync.Mutex
	lost      map[sinks.Reason]uint64 // spooled alerts dropped after Send took them
}

var (
	_ sinks.Sink     = (*Sink)(nil)
	_ sinks.Reporter = (*Sink)(nil)
)

// New checks c, reads the header values and TLS files it names, opens the
// spool if one is configured (recovering what an earlier run left there)
// and returns the sink. No connection is made before the first Send.
func New(c Config, opts ...Option) (*Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o := options{lookupEnv: os.LookupEnv, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	user, host, err := resolveHeaders(c.Headers, o.lookupEnv)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	var tlsConf *tls.Config
	if u.Scheme == "https" {
		if tlsConf, err = c.TLS.tlsConfig(); err != nil {
			return nil, err
		}
	}

	s := &Sink{
		url: c.URL, host: host, timeout: c.Timeout, retries: DefaultRetries, backoff: c.Backoff,
		size: max(c.Batch.Size, 1), gzip: c.Gzip, log: o.log,
		now: time.Now, sleep: sleep,
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if c.Retries != nil {
		s.retries = *c.Retries
	}
	if s.backoff == 0 {
		s.backoff = DefaultBackoff
	}
	contentType := "application/json"
	switch {
	case c.Batch.Format == FormatNDJSON:
		s.layout, contentType = layoutNDJSON, "application/x-ndjson"
	case c.Batch.Format == FormatArray || s.size > 1:
		s.layout = layoutArray
	}
	s.header = http.Header{"User-Agent": {userAgent}, "Content-Type": {contentType}}
	if s.gzip {
		s.header.Set("Content-Encoding", "gzip")
	}
	for k, v := range user { // the configuration may replace User-Agent and Content-Type
		s.header[k] = v
	}

	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsConf,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	if c.Spool.Dir != "" {
		limit := c.Spool.MaxBytes
		if limit == 0 {
			limit = DefaultSpoolSize
		}
		if s.sp, err = spool.Open(c.Spool.Dir, limit); err != nil {
			return nil, fmt.Errorf("spool.dir: %w", err)
		}
		s.spoolDir = c.Spool.Dir
		s.logCorrupt()
		if n := s.sp.Len(); n > 0 {
			s.spooling = true
			s.spooled.Store(uint64(n))
			s.recovered.Store(uint64(n))
			s.log.Info("alerts spooled by an earlier run will be replayed first", "alerts", n, "dir", s.spoolDir)
		}
	}
	return s, nil
}

// Counters reports retries, the spool's traffic and the spooled alerts
// dropped later.
func (s *Sink) Counters() sinks.Counters {
	c := sinks.Counters{
		Retried: s.retried.Load(), Spooled: s.spooled.Load(), SpoolIn: s.spoolIn.Load(),
		Recovered: s.recovered.Load(), Replayed: s.replayed.Load(),
	}
	s.mu.Lock()
	if len(s.lost) > 0 {
		c.Drops = maps.Clone(s.lost)
	}
	s.mu.Unlock()
	return c
}

// lose counts n spooled alerts dropped for r.
func (s *Sink) lose(r sinks.Reason, n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	if s.lost == nil {
		s.lost = make(map[sinks.Reason]uint64)
	}
	s.lost[r] += uint64(n)
	s.mu.Unlock()
	if !s.downSince.IsZero() {
		s.downLost += n
	}
}

// outage logs the start of an outage: once, however long it lasts.
func (s *Sink) outage(f *failure) {
	if !s.downSince.IsZero() {
		return
	}
	s.downSince = s.now()
	s.downSpooled, s.downLost = 0, 0
	what := "alerts are dropped"
	if s.sp != nil {
		what = "alerts are spooled"
	}
	s.log.Warn("webhook unreachable since "+s.downSince.UTC().Format(time.RFC3339)+"; "+what, "url", s.url, "err", f.err)
}

// reachable logs the end of an outage, with what it cost.
func (s *Sink) reachable() {
	if s.downSince.IsZero() {
		return
	}
	s.log.Info("webhook reachable again", "url", s.url, "down_for", s.now().Sub(s.downSince).Round(time.Millisecond).String(),
		"spooled", s.downSpooled, "dropped", s.downLost)
	s.downSince = time.Time{}
}

// Send delivers the batch, Batch.Size alerts per request, in order. With a
// spool, alerts spooled earlier go first, and the batch joins them in the
// spool when the endpoint is still down; Send then returns nil.
func (s *Sink) Send(ctx context.Context, batch []*event.Alert) error {
	if s.closed {
		return ErrClosed
	}
	recs := s.encode(batch)
	var d DropError
	if s.sp != nil && s.sp.Len() > 0 {
		s.drain(ctx)
		if s.sp.Len() > 0 {
			s.toSpool(recs, &d)
			return d.OrNil()
		}
	}
	for i := 0; i < len(recs); i += s.size {
		chunk := recs[i:min(i+s.size, len(recs))]
		f := s.deliver(ctx, chunk, s.retries)
		switch {
		case f == nil:
			s.reachable()
			continue
		case !f.temporary:
			s.reachable() // it answered
			d.Add(refusal(f), len(chunk), f.err)
			continue
		case s.sp == nil:
			// The endpoint is down: the rest would only wait through the
			// same retries.
			s.outage(f)
			s.downLost += len(recs) - i
			d.Add(sinks.ReasonUnavailable, len(recs)-i, f.err)
		default:
			s.markDown(f)
			s.outage(f)
			s.toSpool(recs[i:], &d)
		}
		break
	}
	return d.OrNil()
}

// refusal is the reason of a failure that is not retried: an answer
// outside 2xx, or a request that could not be made.
func refusal(f *failure) sinks.Reason {
	var se *StatusError
	if errors.As(f.err, &se) {
		return sinks.ReasonRefused
	}
	return sinks.ReasonError
}

// Close tries once more to empty the spool, within ctx, unless the
// endpoint was down moments ago; what is left stays on disk for the next
// start.
func (s *Sink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.client.CloseIdleConnections()
	if s.sp == nil {
		return nil
	}
	if s.sp.Len() > 0 && ctx.Err() == nil {
		s.drain(ctx)
	}
	if n := s.sp.Len(); n > 0 {
		s.log.Info("alerts stay spooled for the next start", "alerts", n, "dir", s.spoolDir)
	}
	return s.sp.Close()
}

// encode renders each alert once; requests and the spool use the same
// bytes.
func (s *Sink) encode(batch []*event.Alert) [][]byte {
	s.enc, s.ends, s.recs = s.enc[:0], s.ends[:0], s.recs[:0]
	for _, a := range batch {
		s.enc = event.AppendAlertJSON(s.enc, a)
		s.ends = append(s.ends, len(s.enc))
	}
	start := 0
	for _, end := range s.ends {
		s.recs = append(s.recs, s.enc[start:end])
		start = end
	}
	return s.recs
}

// drain delivers spooled alerts, oldest first, with one attempt per
// request and no retries: the endpoint failed a whole round of retries
// before they were spooled, and a Send must not spend another round on
// every call while it stays down. What it drops is counted in the sink's
// Counters, not in a Send's error: those alerts were taken earlier.
func (s *Sink) drain(ctx context.Context) {
	if s.now().Before(s.probeAt) {
		return
	}
	for s.sp.Len() > 0 && ctx.Err() == nil {
		before := s.sp.Len()
		recs, err := s.sp.PeekN(s.size)
		s.logCorrupt()
		s.lose(sinks.ReasonSpoolDamage, before-s.sp.Len()) // records cut off as damaged
		if err != nil {
			s.log.Warn("read spool", "dir", s.spoolDir, "err", err)
			break
		}
		if len(recs) == 0 {
			break // the rest was damaged on disk
		}
		f := s.deliver(ctx, recs, 0)
		if f != nil && f.temporary {
			s.markDown(f)
			s.outage(f)
			break
		}
		s.reachable()
		if f != nil {
			s.lose(refusal(f), len(recs))
		}
		if err := s.sp.PopN(len(recs)); err != nil {
			s.log.Warn("pop spool", "dir", s.spoolDir, "err", err)
			break
		}
		if f == nil {
			s.replayed.Add(uint64(len(recs)))
			s.replayCount += len(recs)
		}
		s.down = 0
	}
	s.spooled.Store(uint64(s.sp.Len()))
	if s.spooling && s.sp.Len() == 0 {
		s.spooling = false
		s.log.Info("spool replayed", "alerts", s.replayCount, "dir", s.spoolDir)
		s.replayCount = 0
	}
}

// toSpool queues recs behind the spooled alerts; when the spool is full
// the newest are dropped (the spooled ones are older, and the first of an
// outage are the ones that explain it) and counted.
func (s *Sink) toSpool(recs [][]byte, d *DropError) {
	if len(recs) == 0 {
		return
	}
	for i, r := range recs {
		if err := s.sp.Append(r); err != nil {
			reason := sinks.ReasonSpoolError
			if errors.Is(err, spool.ErrFull) {
				reason = sinks.ReasonSpoolFull
			}
			d.Add(reason, len(recs)-i, err)
			s.downLost += len(recs) - i
			break
		}
		s.spoolIn.Add(1)
		s.downSpooled++
	}
	// The alerts are already safe from a crash of this process; syncing
	// keeps them through a crash of the host. A failed sync loses nothing
	// yet, so it is reported, not counted as a drop.
	if err := s.sp.Sync(); err != nil {
		s.log.Warn("sync spool", "err", err)
	}
	s.spooling = s.spooling || s.sp.Len() > 0
	s.spooled.Store(uint64(s.sp.Len()))
}

// markDown schedules the next attempt at the endpoint after a failure.
func (s *Sink) markDown(f *failure) {
	wait := sinks.Backoff(s.backoff, MaxBackoff, s.down)
	if f.after >= 0 {
		wait = f.after
	}
	s.down++
	s.probeAt = s.now().Add(wait)
}

func (s *Sink) logCorrupt() {
	if st := s.sp.Stats(); st.Corrupt > s.corruptLog {
		s.log.Warn("damaged spool records discarded", "dir", s.spoolDir, "tails", st.Corrupt, "bytes", st.CorruptBytes)
		s.corruptLog = st.Corrupt
	}
}

// failure is why an attempt did not deliver.
type failure struct {
	err       error
	temporary bool          // network error, 5xx, 429: retry, then spool
	after     time.Duration // the response's Retry-After; negative if none
}

// deliver posts recs as one request, retrying temporary failures.
func (s *Sink) deliver(ctx context.Context, recs [][]byte, retries int) *failure {
	body := s.body(recs)
	for attempt := 0; ; attempt++ {
		f := s.post(ctx, body)
		if f == nil || !f.temporary || attempt >= retries {
			return f
		}
		wait := sinks.Backoff(s.backoff, MaxBackoff, attempt)
		if f.after >= 0 {
			wait = f.after
		}
		if s.sleep(ctx, wait) != nil {
			return f
		}
		s.retried.Add(1)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// body builds a request body. It is a new slice each time: the transport
// may still be reading a request's body after Do returns (the
// RoundTripper contract), so a reused buffer could be overwritten under it.
func (s *Sink) body(recs [][]byte) []byte {
	if !s.gzip {
		n := len(recs) + 2
		for _, r := range recs {
			n += len(r)
		}
		return s.appendBody(make([]byte, 0, n), recs)
	}
	s.raw = s.appendBody(s.raw[:0], recs)
	var buf bytes.Buffer
	buf.Grow(len(s.raw)/4 + 64)
	if s.zw == nil {
		// Alert JSON is small and repetitive: speed over ratio, on the
		// host being protected.
		s.zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		s.zw.Reset(&buf)
	}
	s.zw.Write(s.raw) // a bytes.Buffer does not fail
	s.zw.Close()
	return buf.Bytes()
}

func (s *Sink) appendBody(b []byte, recs [][]byte) []byte {
	switch s.layout {
	case layoutObject: // Size is 1, so recs is one alert
		for _, r := range recs {
			b = append(b, r...)
		}
	case layoutArray:
		b = append(b, '[')
		for i, r := range recs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, r...)
		}
		b = append(b, ']')
	case layoutNDJSON:
		for _, r := range recs {
			b = append(b, r...)
			b = append(b, '\n')
		}
	}
	return b
}

// post makes one attempt.
func (s *Sink) post(ctx context.Context, body []byte) *failure {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &failure{err: err, after: -1}
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	if s.host != "" {
		req.Host = s.host
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return &failure{err: err, temporary: true, after: -1}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Reading a short reply to the end lets the connection be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	f := &failure{after: -1, err: &StatusError{
		Code: resp.StatusCode, Status: resp.Status,
		Body: strings.TrimSpace(string(start)), Location: resp.Header.Get("Location"),
	}}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		f.temporary = true
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
			f.after = d
		}
	}
	return f
}

// retryAfter parses a Retry-After value, seconds or an HTTP date, capped
// at MaxRetryAfter so that a server cannot park the worker for long.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), MaxRetryAfter), true
}

// Idle replays the spool when the endpoint is back, so spooled alerts go
// out on a quiet host too, not only when the next alert comes (the
// fan-out calls it after a second without alerts).
func (s *Sink) Idle(ctx context.Context) error {
	if s.sp == nil || s.sp.Len() == 0 {
		return nil
	}
	return s.Send(ctx, nil)
}
