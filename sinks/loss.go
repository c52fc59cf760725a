package sinks

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Reason says why an alert handed to a sink was dropped. Every alert
// handed to a sink ends sent (directly or out of its spool), dropped for
// exactly one Reason, or still waiting (in the queue or the spool); the
// counters add up (docs/sinks.md, "Counters and known limits").
type Reason string

// Reasons.
const (
	ReasonQueueFull   Reason = "queue_full"   // the sink's queue in the fan-out was full
	ReasonDeadline    Reason = "deadline"     // still queued when Close's deadline passed
	ReasonSpoolFull   Reason = "spool_full"   // the endpoint was down and the spool full: the newest are dropped
	ReasonRefused     Reason = "refused"      // the endpoint refused them (webhook 4xx other than 429, NATS permanent error)
	ReasonUnavailable Reason = "unavailable"  // the endpoint stayed down through the retries and there is no spool
	ReasonSpoolError  Reason = "spool_error"  // the spool could not be written or read
	ReasonSpoolDamage Reason = "spool_damage" // spooled alerts found damaged on disk
	ReasonEncode      Reason = "encode"       // the alert could not be encoded
	ReasonError       Reason = "error"        // a Send error that names no reason
)

// Reasons lists every Reason, in the order logs and alerts name them.
var Reasons = []Reason{
	ReasonQueueFull, ReasonDeadline, ReasonSpoolFull, ReasonRefused, ReasonUnavailable,
	ReasonSpoolError, ReasonSpoolDamage, ReasonEncode, ReasonError,
}

// DropError is what Send returns when it gave up on part of the batch:
// how many of the batch's alerts were dropped for each reason (the rest
// were sent or spooled) and the first cause. A Send error that is not a
// DropError drops the whole batch, as ReasonError.
type DropError struct {
	Counts map[Reason]int
	Err    error
}

// Add counts n alerts dropped for r; err is kept if it is the first.
func (e *DropError) Add(r Reason, n int, err error) {
	if n > 0 {
		if e.Counts == nil {
			e.Counts = make(map[Reason]int)
		}
		e.Counts[r] += n
	}
	if e.Err == nil {
		e.Err = err
	}
}

// Total is the number of alerts dropped.
func (e *DropError) Total() int {
	n := 0
	for _, c := range e.Counts {
		n += c
	}
	return n
}

// OrNil returns e as an error when it counts a drop or holds an error.
func (e *DropError) OrNil() error {
	if e.Total() == 0 && e.Err == nil {
		return nil
	}
	return e
}

func (e *DropError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d alerts dropped", e.Total())
	if len(e.Counts) > 0 {
		b.WriteString(" (")
		b.WriteString(FormatCounts(e.Counts))
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DropError) Unwrap() error { return e.Err }

// dropsOf reads the drops of a Send of n alerts from its error.
func dropsOf(err error, n int) map[Reason]int {
	if err == nil {
		return nil
	}
	var d *DropError
	if errors.As(err, &d) {
		out := make(map[Reason]int, len(d.Counts))
		total := 0
		for r, c := range d.Counts {
			c = min(c, n-total) // a sink cannot drop more than it was given
			out[r] += c
			total += c
		}
		return out
	}
	return map[Reason]int{ReasonError: n}
}

// FormatCounts renders counts as "3 queue_full, 7 spool_full", in the
// order of Reasons, leaving zeros out.
func FormatCounts[N int | uint64](counts map[Reason]N) string {
	var parts []string
	for _, r := range orderedReasons(counts) {
		if counts[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
		}
	}
	return strings.Join(parts, ", ")
}

func orderedReasons[N int | uint64](counts map[Reason]N) []Reason {
	out := slices.Clone(Reasons)
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// LogInterval is how often at most a sink logs a summary of its drops for
// one reason.
const LogInterval = 10 * time.Second

// LossLog rate-limits the warnings about dropped alerts: the first drop
// for a reason is logged at once, later ones are summed and logged at most
// once per LogInterval, with the counts and the last cause. Safe from any
// goroutine.
type LossLog struct {
	Log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	reasons map[Reason]*lossLine
}

type lossLine struct {
	last    time.Time // of the last line logged
	pending uint64
	err     string // the last cause, if any
}

// NewLossLog logs to log.
func NewLossLog(log *slog.Logger) *LossLog {
	return &LossLog{Log: log, now: time.Now, reasons: make(map[Reason]*lossLine)}
}

// Drop counts n alerts dropped for r and logs when the interval allows.
func (l *LossLog) Drop(r Reason, n int, err error) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := l.reasons[r]
	if line == nil {
		line = &lossLine{}
		l.reasons[r] = line
	}
	line.pending += uint64(n)
	if err != nil {
		line.err = err.Error()
	}
	l.flushLocked(r, line, false)
}

// Flush logs what is pending for every reason whose interval has passed,
// or all of it when force is set (at Close).
func (l *LossLog) Flush(force bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for r, line := range l.reasons {
		l.flushLocked(r, line, force)
	}
}

func (l *LossLog) flushLocked(r Reason, line *lossLine, force bool) {
	now := l.now()
	if line.pending == 0 || (!force && !line.last.IsZero() && now.Sub(line.last) < LogInterval) {
		return
	}
	args := []any{"reason", string(r), "alerts", line.pending}
	if !line.last.IsZero() {
		args = append(args, "since", line.last.UTC().Format(time.RFC3339))
	}
	if line.err != "" {
		args = append(args, "err", line.err)
	}
	l.Log.Warn("alerts dropped", args...)
	line.last, line.pending, line.err = now, 0, ""
}
