package nats

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/spool"
)

// spooler is what the sink needs of sinks/spool: a FIFO of records on
// disk. It is not safe for concurrent use; Sink.mu guards it.
type spooler interface {
	Append(rec []byte) error
	PeekN(n int) ([][]byte, error)
	PopN(n int) error
	Len() int
	Sync() error
	Close() error
}

// A spool record is one alert ready to publish again: version 1, then the
// subject and the message id (empty for core NATS) each as a uvarint
// length and bytes, then the JSON body. Keeping the id means a spooled
// alert is published with the id of its first attempt, so the stream can
// drop the copy if that attempt did arrive.
const recordVersion = 1

var errBadRecord = errors.New("nats sink: malformed spool record")

func appendRecord(b []byte, subject, id string, data []byte) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(subject)))
	b = append(b, subject...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return append(b, data...)
}

func decodeRecord(b []byte) (record, error) {
	if len(b) == 0 || b[0] != recordVersion {
		return record{}, errBadRecord
	}
	b = b[1:]
	var fields [2]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return record{}, errBadRecord
		}
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	if fields[0] == "" {
		return record{}, errBadRecord
	}
	return record{subject: fields[0], id: fields[1], data: b}, nil
}

// spoolAlerts spools batch as it is.
func (s *Sink) spoolAlerts(batch []*event.Alert) error {
	recs := make([]record, len(batch))
	for i, a := range batch {
		recs[i].subject = s.subject(a)
		if s.js != nil {
			recs[i].id = msgID(a)
		}
		s.buf = event.AppendAlertJSON(s.buf[:0], a)
		s.rec = appendRecord(s.rec[:0], recs[i].subject, recs[i].id, s.buf)
		if err := s.appendSpool(s.rec); err != nil {
			return s.spoolFailed(len(batch)-i, len(batch), err)
		}
	}
	return nil
}

// spoolRecords spools recs, in order.
func (s *Sink) spoolRecords(recs []record) error {
	for i, r := range recs {
		s.rec = appendRecord(s.rec[:0], r.subject, r.id, r.data)
		if err := s.appendSpool(s.rec); err != nil {
			return s.spoolFailed(len(recs)-i, len(recs), err)
		}
	}
	return nil
}

func (s *Sink) appendSpool(rec []byte) error {
	if err := s.sp.Append(rec); err != nil {
		return err
	}
	s.unsynced = true
	s.spooledTotal.Add(1)
	s.spooled.Add(1)
	return nil
}

// spoolFailed counts the alerts the spool refused (full, or a disk error)
// as given up: once the spool is full the newest alerts are the ones
// dropped, and the oldest keep their place.
func (s *Sink) spoolFailed(n, of int, err error) error {
	s.failed.Add(uint64(n))
	r := sinks.ReasonSpoolError
	if errors.Is(err, spool.ErrFull) {
		r = sinks.ReasonSpoolFull
	}
	return undelivered(r, n, of, fmt.Errorf("spool: %w", err))
}

// drainSpool publishes spooled alerts, oldest first, in chunks of
// drainChunk (one round trip each under JetStream); a record leaves the
// spool only once it and every older one were delivered (acknowledged,
// under JetStream), so a crash or a failure in between repeats an alert
// rather than losing it, and the repeat carries the same id. It stops at
// the first failure, after about budget alerts (budget < 0: no bound), or
// when ctx is done.
func (s *Sink) drainSpool(ctx context.Context, budget int) error {
	for n := 0; budget < 0 || n < budget; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.connected() {
			return ErrDisconnected
		}
		raws, err := s.sp.PeekN(drainChunk)
		if err != nil {
			return fmt.Errorf("nats sink: spool: %w", err)
		}
		if len(raws) == 0 {
			s.spooled.Store(0)
			return nil
		}
		recs := make([]record, len(raws))
		for i, raw := range raws {
			if recs[i], err = decodeRecord(raw); err != nil {
				// Nothing can make it publishable: it is dropped,
				// counted, rather than block the alerts behind it.
				s.failed.Add(1)
				s.damaged.Add(1)
				s.log.Error("dropping a spooled alert", "err", err)
			}
		}
		delivered, pubErr := s.publishSpooled(ctx, recs)
		if err := s.sp.PopN(delivered); err != nil {
			return fmt.Errorf("nats sink: spool: %w", err)
		}
		s.spooled.Store(int64(s.sp.Len()))
		for _, r := range recs[:delivered] {
			if r.subject != "" {
				s.replayed.Add(1)
			}
		}
		if s.sp.Len() == 0 && delivered > 0 {
			s.log.Info("spool replayed", "replayed", s.replayed.Load())
		}
		n += delivered
		if pubErr != nil {
			return pubErr
		}
	}
	return nil
}

// publishSpooled publishes recs (those without a subject were malformed
// and are skipped) and returns how many leading records are done with.
func (s *Sink) publishSpooled(ctx context.Context, recs []record) (int, error) {
	if s.js == nil {
		for i, r := range recs {
			if r.subject == "" {
				continue
			}
			if err := s.nc.Publish(r.subject, r.data); err != nil {
				return i, err
			}
			s.published.Add(1)
		}
		return len(recs), nil
	}
	todo := make([]int, 0, len(recs))
	for i, r := range recs {
		if r.subject != "" {
			todo = append(todo, i)
		}
	}
	failed, err := s.publishAcked(ctx, recs, todo)
	if len(failed) > 0 {
		// Those after the first failure that did arrive are published
		// again with the rest; the stream drops them by id.
		return failed[0], err
	}
	return len(recs), nil
}

// syncSpool makes what was spooled in the last tick survive a crash of
// the host, not only of the process: at most a second of spooled alerts
// is at risk, without a sync per batch during an outage.
func (s *Sink) syncSpool() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unsynced || s.closed.Load() {
		return
	}
	if err := s.sp.Sync(); err != nil {
		s.log.Warn("spool sync", "err", err)
		return
	}
	s.unsynced = false
}

// drainLoop empties the spool whenever NATS is reachable: after a
// reconnect, and on a tick, so spooled alerts do not wait for the next
// alert to come.
func (s *Sink) drainLoop(ctx context.Context) {
	defer close(s.drainDone)
	t := time.NewTicker(drainTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.syncSpool()
		case <-s.reconnected:
		}
		for s.spooled.Load() > 0 && s.connected() && ctx.Err() == nil {
			s.mu.Lock()
			// Under JetStream, the stream may be what the outage took.
			if s.js != nil && !s.streamReady {
				s.ensureStream(ctx)
			}
			err := s.drainSpool(ctx, drainBudget)
			s.mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Debug("spool drain paused", "alerts", s.spooled.Load(), "err", err)
				}
				break
			}
		}
	}
}
