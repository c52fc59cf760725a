package syslog

import (
	"slices"
	"strconv"

	"github.com/vigil-project/vigil/engine/event"
)

// sdID names vigil's structured data element. 32473 is the private
// enterprise number RFC 5612 reserves for documentation; an SD-ID with an
// '@' needs some number, and vigil has not registered its own.
const sdID = "vigil@32473"

// msgID is the MSGID of every message: receivers filter vigil's alerts on
// it without parsing the body.
const msgID = "alert"

// encoder renders alerts as syslog messages, without transport framing.
// Everything that does not depend on the alert is rendered once, in
// newEncoder.
type encoder struct {
	rfc3164 bool
	// pri holds "<PRI>" for each severity (and "<PRI>1 " with RFC 5424's
	// version).
	pri [8]string
	// middle is what follows the hostname up to the structured data (RFC
	// 5424: " APP-NAME PROCID MSGID ") or up to the body (RFC 3164:
	// " TAG[PID]: ").
	middle string
	// hostname is false for RFC 3164 on a local socket: syslog(3) sends no
	// hostname there, and rsyslog's imuxsock parses the first word after the
	// timestamp as the tag unless told otherwise.
	hostname bool
}

func newEncoder(c *Config, pid int, localSocket bool) *encoder {
	e := &encoder{rfc3164: c.Format == FormatRFC3164, hostname: true}
	fac := facilities[c.Facility]
	for sev := range e.pri {
		p := "<" + strconv.Itoa(fac*8+sev) + ">"
		if !e.rfc3164 {
			p += "1 "
		}
		e.pri[sev] = p
	}
	if e.rfc3164 {
		e.middle = " " + c.Tag + "[" + strconv.Itoa(pid) + "]: "
		e.hostname = !localSocket
	} else {
		e.middle = " " + c.Tag + " " + strconv.Itoa(pid) + " " + msgID + " "
	}
	return e
}

// severity maps an alert level to a syslog severity: Falco's priorities
// are syslog's severities, 0 Emergency to 7 Debug. A level out of range
// is clamped rather than allowed to change the facility bits of PRI.
func severity(level int) int {
	return min(max(level, 0), 7)
}

// append appends the message for a to b. Whatever the alert holds, the
// result is one message: the header fields are reduced to printable
// ASCII, the structured data values are escaped and free of control
// characters, and the body is JSON (event.AppendAlertJSON), which escapes
// every control, format and bidi character and every invalid byte.
func (e *encoder) append(b []byte, a *event.Alert) []byte {
	b = append(b, e.pri[severity(a.Level)]...)
	if e.rfc3164 {
		// RFC 3164 has no zone: the receiver reads the local time, as
		// syslog(3) writes it.
		b = a.Time.Local().AppendFormat(b, "Jan _2 15:04:05")
		if e.hostname {
			b = append(b, ' ')
			b = appendHostname3164(b, a.Hostname)
		}
		b = append(b, e.middle...)
		return event.AppendAlertJSON(b, a)
	}
	b = appendTimestamp(b, a)
	b = append(b, ' ')
	b = appendHostname(b, a.Hostname)
	b = append(b, e.middle...)
	b = append(b, "["+sdID+` rule="`...)
	b = appendParamValue(b, a.Rule)
	b = append(b, `" priority="`...)
	b = appendParamValue(b, a.Priority)
	b = append(b, `"] `...)
	return event.AppendAlertJSON(b, a)
}

// appendTimestamp writes RFC 5424's TIMESTAMP: UTC with microseconds, or
// NILVALUE for a zero time or a year RFC 3339 cannot write in 4 digits.
func appendTimestamp(b []byte, a *event.Alert) []byte {
	t := a.Time.UTC()
	if a.Time.IsZero() || t.Year() < 0 || t.Year() > 9999 {
		return append(b, '-')
	}
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
}

// printUSASCII is RFC 5424's PRINTUSASCII (%d33-126): no space, no
// control character, nothing beyond ASCII.
func printUSASCII(c byte) bool { return c >= 33 && c <= 126 }

// maxHostname is the longest HOSTNAME RFC 5424 allows.
const maxHostname = 255

// appendHostname writes h as RFC 5424's HOSTNAME: bytes outside
// PRINTUSASCII become '_', at most 255 of them, NILVALUE if empty.
func appendHostname(b []byte, h string) []byte {
	if h == "" {
		return append(b, '-')
	}
	h = h[:min(len(h), maxHostname)]
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !printUSASCII(c) {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendHostname3164 keeps only what RFC 3164 parsers accept as a
// hostname (letters, digits, '.', '-', '_'), so that a hostname holding
// ':' or '[' is not taken for the tag.
func appendHostname3164(b []byte, h string) []byte {
	if h == "" {
		return append(b, '-')
	}
	h = h[:min(len(h), maxHostname)]
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '_':
		default:
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendParamValue writes s as an SD PARAM-VALUE: s as alert text
// (event.AppendSafeText: control, format and bidi characters and invalid
// UTF-8 as \xNN or \uNNNN), then '"', '\' and ']' escaped as RFC 5424
// requires, so that no receiver or terminal ever sees a raw newline, NUL,
// escape sequence or bidi control in the header, and a receiver that
// undoes RFC 5424's escapes reads what the alert's JSON says.
//
// It and the hostname writers above are the escaping of syslog's header,
// kept apart from that of the message: RFC 5424 defines what the header
// may hold, while the body carries the alert as its JSON format already
// escapes it.
func appendParamValue(b []byte, s string) []byte {
	start := len(b)
	b = event.AppendSafeText(b, s)
	n := 0
	for _, c := range b[start:] {
		if c == '"' || c == '\\' || c == ']' {
			n++
		}
	}
	if n == 0 {
		return b
	}
	// Widen in place, from the end, each special byte taking a backslash.
	end := len(b)
	b = slices.Grow(b, n)[:end+n]
	j := len(b)
	for i := end - 1; i >= start; i-- {
		c := b[i]
		j--
		b[j] = c
		if c == '"' || c == '\\' || c == ']' {
			j--
			b[j] = '\\'
		}
	}
	return b
}
