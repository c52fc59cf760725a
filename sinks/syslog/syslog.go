package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

var (
	_ sinks.Sink     = (*Sink)(nil)
	_ sinks.Reporter = (*Sink)(nil)
)

// Errors callers may test for.
var (
	// ErrTooLarge: a message longer than a datagram may be. It is not sent:
	// cut short, its JSON body would no longer parse.
	ErrTooLarge = errors.New("syslog: message too large for one datagram")
	// ErrClosed: Send after Close.
	ErrClosed = errors.New("syslog: sink closed")
)

// errPeerClosed is found before writing, when the receiver has closed a
// stream connection: writing would go into the void, as TCP accepts the
// bytes before the receiver's reset arrives.
var errPeerClosed = errors.New("connection closed by the receiver")

// framePrefix is room before each message for RFC 6587's octet count (up
// to 10 digits) and its space, so a frame is built without copying the
// message.
const framePrefix = 11

// Sink sends each alert as one syslog message.
type Sink struct {
	name    string // network and address, for errors
	network string // for the dialer: unixgram, udp or tcp
	address string
	timeout time.Duration
	tls     *tls.Config // nil unless tcp+tls
	stream  bool        // tcp and tcp+tls: octet-counted frames
	enc     *encoder
	buf     []byte
	closed  bool

	// mu guards conn against interrupt, which runs on another goroutine
	// when Send's context ends. Only Send and Close change conn.
	mu     sync.Mutex
	conn   net.Conn
	reader *streamReader // of a stream connection

	retried atomic.Uint64
}

// New checks c (see Config.Validate), loads the TLS files and returns a
// sink. It does not connect: the first Send does, so vigil starts even
// while the syslog daemon is down.
func New(c Config) (*Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{
		name:    c.Network + " " + c.Address,
		network: c.Network,
		address: c.Address,
		timeout: c.Timeout,
		stream:  c.Network == NetTCP || c.Network == NetTCPTLS,
		enc:     newEncoder(&c, os.Getpid(), c.Network == NetUnixgram),
		buf:     make([]byte, framePrefix, 4096),
	}
	if c.Network == NetTCPTLS {
		s.network = NetTCP
		cfg, err := tlsConfig(&c)
		if err != nil {
			return nil, err
		}
		s.tls = cfg
	}
	return s, nil
}

func tlsConfig(c *Config) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify,
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(c.Address)
	}
	if c.CA != "" {
		pool, err := sinks.CertPool(c.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("cert and key: %w", err)
		}
		// Reload at each handshake, so a renewed short-lived certificate is
		// used at the next reconnection without restarting vigil; keep the
		// last good one while the files are being replaced.
		last := &cert
		certFile, keyFile := c.Cert, c.Key
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if fresh, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
				last = &fresh
			}
			return last, nil
		}
	}
	return cfg, nil
}

// Counters reports the messages sent again on a new connection after
// the first one failed. Safe from any goroutine.
func (s *Sink) Counters() sinks.Counters {
	return sinks.Counters{Retried: s.retried.Load()}
}

// Send sends the alerts in order, one message each. A message whose
// connection fails is sent once more on a new connection; if that fails
// too, Send gives up on the rest of the batch, since the receiver is
// evidently unreachable, and returns the error.
func (s *Sink) Send(ctx context.Context, batch []*event.Alert) error {
	if s.closed {
		return ErrClosed
	}
	stop := context.AfterFunc(ctx, s.interrupt)
	defer stop()
	for i, a := range batch {
		err := ctx.Err()
		if err == nil {
			err = s.deliver(ctx, s.frame(a))
		}
		if err != nil {
			d := &sinks.DropError{} // the first i went out: only the rest is lost
			r := sinks.ReasonUnavailable
			if errors.Is(err, ErrTooLarge) {
				r = sinks.ReasonEncode
			}
			d.Add(r, len(batch)-i, fmt.Errorf("syslog %s: %d of %d alerts sent: %w", s.name, i, len(batch), err))
			return d
		}
	}
	return nil
}

// frame renders a into s.buf and returns the bytes to write: the message
// alone for datagrams, "LEN SP MSG" for streams (RFC 6587 octet counting,
// which unlike newline framing survives anything inside the message).
func (s *Sink) frame(a *event.Alert) []byte {
	b := s.enc.append(s.buf[:framePrefix], a)
	s.buf = b
	if !s.stream {
		return b[framePrefix:]
	}
	var n [framePrefix]byte
	l := strconv.AppendInt(n[:0], int64(len(b)-framePrefix), 10)
	start := framePrefix - len(l) - 1
	copy(b[start:], l)
	b[framePrefix-1] = ' '
	return b[start:]
}

// deliver writes one frame, reconnecting once if the connection it had
// turns out to be broken (the daemon restarted, its socket was replaced).
// A failed fresh connection is not tried again at once: the next batch
// will.
func (s *Sink) deliver(ctx context.Context, frame []byte) error {
	retry, err := s.attempt(ctx, frame)
	if err == nil || !retry || ctx.Err() != nil {
		return err
	}
	s.retried.Add(1)
	s.closeConn(time.Now())
	if _, err2 := s.attempt(ctx, frame); err2 != nil {
		return fmt.Errorf("%w; again on a new connection: %w", err, err2)
	}
	return nil
}

// attempt connects if needed and writes frame. retry reports whether the
// failure was on an established connection, which a new one may cure.
func (s *Sink) attempt(ctx context.Context, frame []byte) (retry bool, err error) {
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return false, err
		}
	} else if s.stream {
		if err := s.peerClosed(); err != nil {
			return s.failed(err)
		}
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return true, err
	}
	// interrupt may have run before the deadline above replaced its own.
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if _, err := s.conn.Write(frame); err != nil {
		if !s.stream && errors.Is(err, syscall.EMSGSIZE) {
			return false, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(frame))
		}
		return s.failed(err)
	}
	return false, nil
}

// failed judges a failure on an established connection: worth a new
// connection, unless the receiver refused us with a TLS alert (with TLS
// 1.3 a client certificate is judged after the handshake), which it would
// do again, after taking a message.
func (s *Sink) failed(err error) (retry bool, _ error) {
	if s.reader == nil {
		return true, err
	}
	select {
	case <-s.reader.done:
	case <-time.After(10 * time.Millisecond):
		return true, err
	}
	var op *net.OpError
	if errors.As(s.reader.err, &op) && op.Op == "remote error" {
		if !errors.Is(err, s.reader.err) {
			err = fmt.Errorf("%w: %w", err, s.reader.err)
		}
		s.closeConn(time.Now())
		return false, err
	}
	return true, err
}

func (s *Sink) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.timeout}
	var (
		c   net.Conn
		err error
	)
	if s.tls != nil {
		// The dialer's timeout covers the handshake too.
		c, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, s.network, s.address)
	} else {
		c, err = d.DialContext(ctx, s.network, s.address)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	if s.stream {
		// A syslog receiver never writes to us, so reading tells only when
		// it closes the connection, and why. It also lets crypto/tls
		// process what the server sends after the handshake (session
		// tickets, alerts, close_notify).
		r := &streamReader{done: make(chan struct{})}
		s.reader = r
		go func() {
			defer close(r.done)
			_, r.err = io.Copy(io.Discard, c)
		}()
	}
	return nil
}

// streamReader is the goroutine reading a stream connection.
type streamReader struct {
	done chan struct{} // closed when the connection ends
	err  error         // why, once done is closed (nil: the receiver closed it)
}

// peerClosed returns an error if the receiver closed the stream
// connection: errPeerClosed, or the error the reader got (a TLS alert).
// The reader may not have run yet since the receiver's FIN arrived, so the
// socket is also asked directly, with a peek that neither waits nor
// consumes.
func (s *Sink) peerClosed() error {
	gone := func() error {
		if s.reader.err != nil {
			return fmt.Errorf("%w: %w", errPeerClosed, s.reader.err)
		}
		return errPeerClosed
	}
	c := s.conn
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	for range peekTries {
		select {
		case <-s.reader.done:
			return gone()
		default:
		}
		state := peerOpen
		// Control, not Read: the reader goroutine holds the read lock.
		if err := rc.Control(func(fd uintptr) { state = peek(fd) }); err != nil {
			return err
		}
		switch state {
		case peerOpen:
			return nil
		case peerGone:
			// The reader is about to end too; wait a moment for its reason.
			select {
			case <-s.reader.done:
				return gone()
			case <-time.After(10 * time.Millisecond):
				return errPeerClosed
			}
		}
		// Bytes the reader has not consumed yet: under TLS they may be the
		// receiver's close_notify or alert, followed by its FIN. Let the
		// reader catch up before deciding.
		select {
		case <-s.reader.done:
			return gone()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// peekTries bounds the wait in peerClosed for a reader that lags.
const peekTries = 20

const (
	peerOpen = iota
	peerPending
	peerGone
)

func peek(fd uintptr) int {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return peerOpen
	case err != nil || n == 0:
		return peerGone
	}
	return peerPending
}

// interrupt makes a blocked write return when Send's context ends (the
// fan-out cancels it when its close deadline passes).
func (s *Sink) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.SetWriteDeadline(time.Now())
	}
}

// closeConn closes the connection, giving TLS until deadline to send its
// close_notify, and waits for the stream's reader to end.
func (s *Sink) closeConn(deadline time.Time) error {
	var err error
	switch c := s.conn.(type) {
	case nil:
		return nil
	case *tls.Conn:
		// crypto/tls gives its close_notify 5 seconds whatever the
		// deadline; closing the socket under it ends the wait at ours.
		raw := c.NetConn()
		t := time.AfterFunc(time.Until(deadline), func() { raw.Close() })
		err = c.Close()
		t.Stop()
	default:
		err = c.Close()
	}
	if s.reader != nil {
		<-s.reader.done
		s.reader = nil
	}
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	return err
}

// Close closes the connection. Nothing is buffered: Send has written
// every message it returned nil for.
func (s *Sink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if ctx.Err() != nil {
		deadline = time.Now()
	}
	if err := s.closeConn(deadline); err != nil {
		return fmt.Errorf("syslog %s: close: %w", s.name, err)
	}
	return nil
}
