package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-project/vigil/engine/event"
)

// TailConfig is what `vigil alerts tail` reads alerts with.
type TailConfig struct {
	URL     string // default nats://127.0.0.1:4222
	Subject string // default vigil.alerts.> (wildcards allowed)
	Auth
	TLS TLS
	// JetStream reads from a stream, through an ephemeral ordered
	// consumer that starts with the next new message, instead of core
	// NATS. The alerts are the same; a stream also delivers those
	// published while this consumer reconnects.
	JetStream bool
	Stream    string // the stream to read; default: the one that holds Subject
	// MinPriority keeps the alerts of this priority or more severe (a
	// Falco name, any case); empty keeps every message, even those that
	// are not alerts.
	MinPriority string
}

// Received is one alert read by Tail.
type Received struct {
	Subject  string
	Data     []byte // the alert's JSON, as published
	Rule     string
	Priority string
	Level    int // 0 (Emergency) to 7 (Debug); -1 if the priority is not one vigil knows
	Hostname string
	Time     time.Time
	Seq      uint64 // the stream sequence under JetStream; 0 for core NATS
	// Err is set when Data is not an alert (the decoded fields are then
	// empty): the subject is shared, and tail shows what is there.
	Err error
}

// Tail calls out with each alert published on c.Subject, one at a time
// and from the calling goroutine, until ctx is done (then it returns nil)
// or the connection fails for good.
func Tail(ctx context.Context, c TailConfig, out func(*Received), opts ...Option) error {
	o := buildOptions(opts)
	log := o.log.With("component", "nats")
	if c.URL == "" {
		c.URL = nats.DefaultURL
	}
	if c.Subject == "" {
		c.Subject = DefaultTailSubject
	}
	if err := checkURL(c.URL); err != nil {
		return err
	}
	if err := checkSubscribeSubject(c.Subject); err != nil {
		return err
	}
	if err := c.Auth.check(); err != nil {
		return err
	}
	if err := c.TLS.check(); err != nil {
		return err
	}
	if err := checkStreamName(c.Stream); err != nil {
		return err
	}
	minLevel := -1
	if c.MinPriority != "" {
		p, ok := event.ParsePriority(c.MinPriority)
		if !ok {
			return fmt.Errorf("%w: min priority %q: want emergency, alert, critical, error, warning, notice, informational or debug", ErrConfig, c.MinPriority)
		}
		minLevel = p.Level()
	}
	natsOpts, err := connOptions(c.Auth, c.TLS)
	if err != nil {
		return fmt.Errorf("nats tail: %w", err)
	}
	natsOpts = append(natsOpts,
		nats.Name("vigil-tail"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("disconnected", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected", "server", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("nats error", "err", err) }),
	)
	nc, err := nats.Connect(c.URL, natsOpts...)
	if err != nil {
		return fmt.Errorf("nats tail: connect %s: %w", c.URL, err)
	}
	defer nc.Close()

	deliver := func(subject string, data []byte, seq uint64) {
		r := decodeReceived(subject, data, seq)
		if minLevel >= 0 && (r.Level < 0 || r.Level > minLevel) {
			return
		}
		out(r)
	}
	if c.JetStream {
		return tailStream(ctx, nc, c, deliver)
	}
	return tailCore(ctx, nc, c.Subject, deliver, log)
}

func tailCore(ctx context.Context, nc *nats.Conn, subject string, deliver func(string, []byte, uint64), log *slog.Logger) error {
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return fmt.Errorf("nats tail: subscribe %s: %w", subject, err)
	}
	// The subscription is live once the server has it; before, alerts
	// would be missed without a word.
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = nc.FlushWithContext(flushCtx)
	cancel()
	if err != nil {
		return ignoreDone(ctx, fmt.Errorf("nats tail: subscribe %s: %w", subject, err))
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		switch {
		case errors.Is(err, nats.ErrSlowConsumer):
			// nats.go dropped messages that arrived faster than out took
			// them; say so and go on, as a tail should.
			dropped, _ := sub.Dropped()
			log.Warn("tail is too slow: alerts dropped", "dropped", dropped)
			continue
		case err != nil:
			return ignoreDone(ctx, fmt.Errorf("nats tail: %w", err))
		}
		deliver(m.Subject, m.Data, 0)
	}
}

func tailStream(ctx context.Context, nc *nats.Conn, c TailConfig, deliver func(string, []byte, uint64)) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats tail: jetstream: %w", err)
	}
	stream := c.Stream
	if stream == "" {
		if stream, err = js.StreamNameBySubject(ctx, c.Subject); err != nil {
			return ignoreDone(ctx, fmt.Errorf("nats tail: find the stream of %s: %w", c.Subject, err))
		}
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{c.Subject},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return ignoreDone(ctx, fmt.Errorf("nats tail: consumer on %s: %w", stream, err))
	}
	it, err := cons.Messages()
	if err != nil {
		return ignoreDone(ctx, fmt.Errorf("nats tail: consume %s: %w", stream, err))
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return ignoreDone(ctx, fmt.Errorf("nats tail: %w", err))
		}
		var seq uint64
		if md, err := m.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		deliver(m.Subject(), m.Data(), seq)
	}
}

// ignoreDone turns an error caused by ctx ending into the nil that ends a
// tail normally.
func ignoreDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// decodeReceived reads the keys tail shows from an alert's JSON.
func decodeReceived(subject string, data []byte, seq uint64) *Received {
	r := &Received{Subject: subject, Data: data, Seq: seq, Level: -1}
	var a struct {
		Time     time.Time `json:"time"`
		Rule     string    `json:"rule"`
		Priority string    `json:"priority"`
		Hostname string    `json:"hostname"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		r.Err = fmt.Errorf("not an alert: %w", err)
		return r
	}
	r.Time, r.Rule, r.Priority, r.Hostname = a.Time, a.Rule, a.Priority, a.Hostname
	if p, ok := event.ParsePriority(a.Priority); ok {
		r.Level = p.Level()
	}
	return r
}
