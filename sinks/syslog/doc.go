// Package syslog is the sink that sends alerts to a syslog daemon: one
// message per alert, RFC 5424 (or RFC 3164) headers around the alert's
// Falco-compatible JSON, over the local socket (unixgram, /dev/log by
// default), UDP, TCP or TCP with TLS.
//
// Message (RFC 5424, the default over the network), facility authpriv
// by default:
//
//	<PRI>1 TIMESTAMP HOSTNAME vigil PID alert [vigil@32473 rule="..." priority="..."] {JSON}
//
// PRI is facility*8 + severity, the severity being the alert's priority
// (Falco's priorities are syslog's severities). RFC 3164, the default on
// the local socket, gives "<PRI>Mmm dd hh:mm:ss HOSTNAME vigil[PID]: {JSON}",
// without the hostname on the local socket, as syslog(3) does: journald
// and rsyslog's imuxsock parse that and not RFC 5424 (rsyslog does with
// UseSpecialParser="off" on the imuxsock input).
//
// Whatever an alert holds, it makes exactly one message: header fields
// are reduced to printable ASCII, structured data values are escaped and
// stripped of control characters, and the JSON body escapes every control
// byte. Streams are framed by octet counting (RFC 6587: "LEN SP MSG"), so
// nothing inside a message can end it early; datagrams carry one message
// each.
//
// Messages are sent whole, never cut (a cut JSON body would not parse):
// receivers should accept messages of 64 KiB (rsyslog's maxMessageSize
// is 8 KiB by default), and a message larger than a datagram may be
// (about 64 KiB for UDP) fails with ErrTooLarge.
//
// The connection is opened at the first Send. When a write fails on it,
// or the receiver has closed it, the sink reconnects and sends that
// message once more, and counts it (Counters().Retried). Plain syslog over
// TCP has no acknowledgements: a message written while the receiver goes
// away can still be lost, and so can the first message on a TLS 1.3
// connection whose client certificate the server refuses (it says so only
// after the handshake; the next message fails with its alert).
package syslog
