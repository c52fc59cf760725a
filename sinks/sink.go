package sinks

import (
	"context"
	"fmt"

	"github.com/vigil-project/vigil/engine/event"
)

// Sink is one destination of alerts.
//
// Send and Close are called from a single goroutine: the sink's worker in
// the fan-out. Send delivers a batch in order, retrying as the sink sees
// fit (within ctx), and returns an error only for alerts of the batch it
// gave up on: a *DropError counts them by Reason (the rest of the batch
// was taken); any other error drops the whole batch (ReasonError). A sink
// with an on-disk spool takes alerts once they are safely spooled, and
// reports what it spools and replays in its Counters.
type Sink interface {
	Send(ctx context.Context, batch []*event.Alert) error
	// Close flushes what the sink holds and releases its resources; ctx
	// bounds how long it may take.
	Close(ctx context.Context) error
}

// Counters a sink may report beyond what the fan-out counts itself.
type Counters struct {
	Retried uint64 // attempts beyond the first
	Spooled uint64 // alerts currently waiting in an on-disk spool
	// Of the alerts Send took, those that went to the spool rather than
	// the endpoint (since the sink was opened).
	SpoolIn uint64
	// Alerts found in the spool when the sink was opened (an earlier
	// run's).
	Recovered uint64
	// Alerts delivered out of the spool (this run's and recovered ones).
	Replayed uint64
	// Spooled alerts dropped after Send took them (refused on replay,
	// damaged on disk), by reason. Nil if none.
	Drops map[Reason]uint64
}

// Reporter is implemented by sinks that have Counters. Counters may be
// called from any goroutine while Send runs.
type Reporter interface {
	Counters() Counters
}

// Idler is implemented by sinks that have work to do between alerts, such
// as replaying a spool once the endpoint is back: the fan-out calls Idle
// on the sink's worker after IdleInterval without alerts.
type Idler interface {
	Idle(ctx context.Context) error
}

// Format is how a sink renders an alert. Both formats are valid UTF-8 with
// nothing that can split, colour or reorder a line on a terminal, and keep
// every byte from the kernel recoverable (event.Unescape; docs/rules.md,
// "Encoding of untrusted bytes").
type Format string

// Formats.
const (
	FormatJSON Format = "json" // Falco-compatible JSON (event.AppendAlertJSON)
	FormatText Format = "text" // one line (event.AppendAlertText)
)

// Encoder returns the appender for a format.
func (f Format) Encoder() (func([]byte, *event.Alert) []byte, error) {
	switch f {
	case FormatJSON, "":
		return event.AppendAlertJSON, nil
	case FormatText:
		return event.AppendAlertText, nil
	}
	return nil, fmt.Errorf("format %q: want json or text", f)
}
