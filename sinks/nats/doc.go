// Package nats is the NATS sink: it publishes each alert as its
// Falco-compatible JSON (event.AppendAlertJSON) on a subject built from a
// template (default vigil.alerts.{priority}.{rule}), so that any number of
// consumers across a fleet subscribe by priority, rule or host with NATS
// wildcards. It is the only package that imports nats.go.
//
// Delivery:
//
//   - Core NATS (the default) is at most once. While the connection is
//     away nats.go buffers up to reconnect_buffer_bytes in memory and sends
//     it on reconnect; past that, publishing fails and the alerts are
//     counted as failed (or spooled), so memory stays bounded.
//   - JetStream (jetstream: true) is at least once: a batch is published
//     asynchronously and every acknowledgement awaited, unacknowledged
//     alerts are published again (max_retries, with backoff and jitter),
//     and every copy carries the alert's stable Nats-Msg-Id (see msgID)
//     so the stream's duplicate window stores it once.
//   - With a spool (spool.dir), what could not be delivered goes to disk
//     instead of being dropped, and later sends (and a background drain
//     after a reconnect) publish the spool first, oldest first; an alert
//     leaves the spool only once delivered. A spool also keeps alerts
//     across a restart of vigil.
//
// Order: alerts arrive in the order they were sent, except that an alert
// retried or spooled after a failure may land after alerts sent later;
// consumers that care sort by the alert's time.
//
// Tail is the reading side, for `vigil alerts tail`. SubjectToken tells
// consumers how rule and host names appear in subjects.
package nats
