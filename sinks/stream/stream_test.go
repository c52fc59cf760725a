package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

func hostile() *event.Alert {
	e, _ := event.FromFields(map[string]any{"evt.type": "open", "file.path": "/tmp/a\nb\x00c\x1b[31md\xff", "proc.name": "x"})
	return &event.Alert{Time: time.Unix(0, 0), Rule: "R\nforged", Priority: "Warning", Level: 4, Output: "o", Event: e}
}

func TestWriterFormats(t *testing.T) {
	for _, f := range []sinks.Format{sinks.FormatJSON, sinks.FormatText} {
		var b bytes.Buffer
		s, err := NewWriter(&b, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), []*event.Alert{hostile(), hostile()}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 2 || strings.ContainsAny(b.String(), "\x00\x1b") {
			t.Errorf("%s: %d lines, raw control bytes: %q", f, len(lines), b.String())
		}
		if f == sinks.FormatJSON && !json.Valid([]byte(lines[0])) {
			t.Errorf("invalid JSON: %s", lines[0])
		}
	}
	if _, err := NewWriter(&bytes.Buffer{}, "xml"); err == nil || err.Error() != `format "xml": want json or text` {
		t.Errorf("bad format: %v", err)
	}
}

// After logrotate renames the file, Reopen makes alerts go to a new file
// under the old name.
func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "alerts.jsonl")
	s, err := Open(p, sinks.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Send(ctx, []*event.Alert{hostile()})
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	s.Send(ctx, []*event.Alert{hostile()}) // still the renamed file
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	s.Send(ctx, []*event.Alert{hostile()})
	s.Close(ctx)
	count := func(name string) int {
		b, _ := os.ReadFile(name)
		return strings.Count(string(b), "\n")
	}
	if count(p+".1") != 2 || count(p) != 1 {
		t.Errorf("rotated %d lines (want 2), new %d (want 1)", count(p+".1"), count(p))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

// Text is coloured on a terminal (a real pseudo-terminal here), never on
// a pipe or file, and JSON never.
func TestColourOnlyOnTerminal(t *testing.T) {
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	defer ptm.Close()
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pts.Close()
	term, _ := NewWriter(pts, sinks.FormatText)
	termJSON, _ := NewWriter(pts, sinks.FormatJSON)
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	pipe, _ := NewWriter(pw, sinks.FormatText)
	if !term.color || termJSON.color || pipe.color {
		t.Fatalf("colour: terminal text %v, terminal json %v, pipe %v", term.color, termJSON.color, pipe.color)
	}
	a := hostile()
	a.Level = 2
	term.Send(context.Background(), []*event.Alert{a})
	buf := make([]byte, 4096)
	ptm.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, err := ptm.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:k]), "\x1b[31m") || !strings.Contains(string(buf[:k]), "\x1b[0m") {
		t.Errorf("terminal got %q, %v", buf[:k], err)
	}
}
