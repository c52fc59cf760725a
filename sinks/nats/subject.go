package nats

import (
	"fmt"
	"strings"

	"github.com/vigil-project/vigil/engine/event"
)

// token is a placeholder of a subject template.
type token uint8

const (
	tokLiteral token = iota
	tokPriority
	tokRule
	tokHostname
)

var tokenNames = map[string]token{"{priority}": tokPriority, "{rule}": tokRule, "{hostname}": tokHostname}

// segment is a run of literal text or one placeholder.
type segment struct {
	tok token
	lit string
}

// template is a parsed Config.Subject.
type template struct {
	segs []segment
	// wildcard is the template with every subject token that holds a
	// placeholder replaced by "*": the subjects a stream must cover.
	wildcard string
}

// parseTemplate parses and checks a subject template: only known
// placeholders, and literal text that is valid in a subject without
// wildcards, so that every rendering is a valid publish subject (the
// placeholders' values are sanitised and never empty).
func parseTemplate(s string) (*template, error) {
	t := &template{}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.segs = append(t.segs, segment{lit: rest})
			break
		}
		if i > 0 {
			t.segs = append(t.segs, segment{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%w: subject %q: unclosed {", ErrConfig, s)
		}
		name := rest[i : i+j+1]
		tok, ok := tokenNames[name]
		if !ok {
			return nil, fmt.Errorf("%w: subject %q: unknown placeholder %s (known: {priority} {rule} {hostname})", ErrConfig, s, name)
		}
		t.segs = append(t.segs, segment{tok: tok})
		rest = rest[i+j+1:]
	}
	for _, sg := range t.segs {
		if sg.tok == tokLiteral && strings.ContainsAny(sg.lit, "}*> \t\r\n") {
			return nil, fmt.Errorf("%w: subject %q: wildcards, white space and } are not allowed outside placeholders", ErrConfig, s)
		}
	}
	// Render with a stand-in value to check the token structure (no
	// empty token from "..", a leading or a trailing dot).
	var sample strings.Builder
	for _, sg := range t.segs {
		if sg.tok == tokLiteral {
			sample.WriteString(sg.lit)
		} else {
			sample.WriteString("{x}")
		}
	}
	parts := strings.Split(sample.String(), ".")
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: subject %q: empty token", ErrConfig, s)
		}
		if strings.Contains(p, "{x}") {
			parts[i] = "*"
		}
	}
	t.wildcard = strings.Join(parts, ".")
	return t, nil
}

// appendSubject appends the subject of a.
func (t *template) appendSubject(b []byte, a *event.Alert) []byte {
	for _, sg := range t.segs {
		switch sg.tok {
		case tokLiteral:
			b = append(b, sg.lit...)
		case tokPriority:
			b = appendToken(b, a.Priority)
		case tokRule:
			b = appendToken(b, a.Rule)
		case tokHostname:
			b = appendToken(b, a.Hostname)
		}
	}
	return b
}

// SubjectToken returns s as it appears in a subject: lower case, every
// character outside [a-z0-9_-] replaced by "_" (one per character; one per
// byte of invalid UTF-8), at most 128 bytes, "_" if empty. No value can
// therefore add a token (".") or a wildcard ("*", ">") to a subject.
// Consumers use it to subscribe to one rule or host.
func SubjectToken(s string) string {
	return string(appendToken(nil, s))
}

func appendToken(b []byte, s string) []byte {
	if s == "" {
		return append(b, '_')
	}
	start := len(b)
	for _, r := range s {
		if len(b)-start >= maxTokenBytes {
			break
		}
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '_', r == '-':
			b = append(b, byte(r))
		case 'A' <= r && r <= 'Z':
			b = append(b, byte(r)+'a'-'A')
		default:
			b = append(b, '_')
		}
	}
	return b
}

// checkSubscribeSubject checks a subject to subscribe to: wildcards only
// as whole tokens, ">" only last.
func checkSubscribeSubject(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%w: subject %q: want a subject without white space", ErrConfig, s)
	}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("%w: subject %q: empty token", ErrConfig, s)
		case p == ">" && i != len(parts)-1:
			return fmt.Errorf("%w: subject %q: > must be the last token", ErrConfig, s)
		case p != "*" && p != ">" && strings.ContainsAny(p, "*>"):
			return fmt.Errorf("%w: subject %q: a wildcard must be a whole token", ErrConfig, s)
		}
	}
	return nil
}
