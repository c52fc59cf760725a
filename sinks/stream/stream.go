// Package stream is the sink for line-oriented streams: standard output
// (JSON lines or text, coloured by priority on a terminal) and files (JSON
// lines, reopened on request for log rotation).
package stream

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// Sink writes one line per alert.
type Sink struct {
	mu     sync.Mutex // Reopen runs on the signal goroutine, Send on the worker
	w      *bufio.Writer
	f      *os.File // nil for a writer not opened by path
	path   string
	encode func([]byte, *event.Alert) []byte
	color  bool
	line   []byte
}

// NewWriter writes to w (standard output). Colour is used for the text
// format only, and only when w is a terminal.
func NewWriter(w io.Writer, format sinks.Format) (*Sink, error) {
	enc, err := format.Encoder()
	if err != nil {
		return nil, err
	}
	s := &Sink{w: bufio.NewWriterSize(w, 64<<10), encode: enc}
	if f, ok := w.(*os.File); ok && format == sinks.FormatText {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		s.color = err == nil
	}
	return s, nil
}

// Open appends to the file at path, creating it (mode 0600: alerts name
// files and users).
func Open(path string, format sinks.Format) (*Sink, error) {
	enc, err := format.Encoder()
	if err != nil {
		return nil, err
	}
	s := &Sink{path: path, encode: enc}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Reopen closes and reopens the file, so that after logrotate renamed it
// alerts go to a new file with the old name (call it on SIGHUP).
func (s *Sink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	s.w.Flush()
	s.f.Close()
	return s.open()
}

// ANSI colours by level: red for Emergency..Error, yellow for Warning,
// cyan for Notice, none below.
func colorOf(level int) string {
	switch {
	case level <= 3:
		return "\x1b[31m"
	case level == 4:
		return "\x1b[33m"
	case level == 5:
		return "\x1b[36m"
	}
	return ""
}

// Send writes the batch and flushes it.
func (s *Sink) Send(_ context.Context, batch []*event.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range batch {
		s.line = s.line[:0]
		c := ""
		if s.color {
			c = colorOf(a.Level)
		}
		s.line = append(s.line, c...)
		s.line = s.encode(s.line, a)
		if c != "" {
			s.line = append(s.line, "\x1b[0m"...)
		}
		s.line = append(s.line, '\n')
		if _, err := s.w.Write(s.line); err != nil {
			return fmt.Errorf("write alert: %w", err)
		}
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	return nil
}

// Close flushes, and closes the file if the sink opened one.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.w.Flush()
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
