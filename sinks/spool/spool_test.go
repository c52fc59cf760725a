package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rec(i int) []byte {
	// Sizes vary so that offsets are not all multiples of one length.
	return fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("x", i%17))
}

func open(t *testing.T, dir string, max int64, opts ...Option) *Spool {
	t.Helper()
	s, err := Open(dir, max, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendN(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append(rec(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// popExpect pops records and checks they are rec(from) .. rec(to-1).
func popExpect(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		got, ok, err := s.Peek()
		if err != nil || !ok {
			t.Fatalf("peek %d: ok=%v err=%v", i, ok, err)
		}
		if !bytes.Equal(got, rec(i)) {
			t.Fatalf("record %d = %s, want %s", i, got, rec(i))
		}
		if err := s.Pop(); err != nil {
			t.Fatalf("pop %d: %v", i, err)
		}
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOrder(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20, WithSegmentSize(512))
	if _, ok, err := s.Peek(); ok || err != nil {
		t.Fatalf("peek of an empty spool: ok=%v err=%v", ok, err)
	}
	if err := s.Pop(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("pop of an empty spool: %v, want ErrEmpty", err)
	}
	var want int64
	for i := range 100 {
		want += int64(headerSize + len(rec(i)))
	}
	appendN(t, s, 0, 100)
	if s.Len() != 100 || s.Bytes() != want {
		t.Fatalf("Len, Bytes = %d, %d, want 100, %d", s.Len(), s.Bytes(), want)
	}
	popExpect(t, s, 0, 40)
	appendN(t, s, 100, 120) // appends while popping keep their place
	popExpect(t, s, 40, 120)
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("Len, Bytes = %d, %d after popping everything", s.Len(), s.Bytes())
	}
}

func TestPeekN(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20, WithSegmentSize(200))
	appendN(t, s, 0, 20)
	got := 0
	for s.Len() > 0 {
		recs, err := s.PeekN(8)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 || len(recs) > 8 {
			t.Fatalf("PeekN(8) returned %d records with %d queued", len(recs), s.Len())
		}
		for _, r := range recs {
			if !bytes.Equal(r, rec(got)) {
				t.Fatalf("record %d = %s", got, r)
			}
			got++
		}
		if err := s.PopN(len(recs)); err != nil {
			t.Fatal(err)
		}
	}
	if got != 20 {
		t.Fatalf("read %d records, want 20", got)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20, WithSegmentSize(300))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 0, 30)
	popExpect(t, s, 0, 12)
	bytesBefore := s.Bytes()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rec(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}

	s = open(t, dir, 1<<20, WithSegmentSize(300))
	if s.Len() != 18 || s.Bytes() != bytesBefore {
		t.Fatalf("after reopen Len, Bytes = %d, %d, want 18, %d", s.Len(), s.Bytes(), bytesBefore)
	}
	appendN(t, s, 30, 35)
	popExpect(t, s, 12, 35)
	if s.Stats() != (Stats{}) {
		t.Fatalf("stats %+v after a clean restart", s.Stats())
	}
}

// A process that dies without Close leaves its records in the page cache
// and the pops it made on disk; copying the files while the spool is open
// shows what the next process finds.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20, WithSegmentSize(256))
	appendN(t, s, 0, 25)
	popExpect(t, s, 0, 7)

	crashed := t.TempDir()
	for _, p := range segFiles(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := open(t, crashed, 1<<20, WithSegmentSize(256))
	if r.Len() != 18 {
		t.Fatalf("recovered %d records, want 18", r.Len())
	}
	popExpect(t, r, 7, 25)
}

func TestFull(t *testing.T) {
	framed := int64(headerSize + len(rec(1)))
	s := open(t, t.TempDir(), 3*framed)
	appendN(t, s, 1, 2)
	appendN(t, s, 1, 2)
	appendN(t, s, 1, 2)
	if err := s.Append(rec(1)); !errors.Is(err, ErrFull) {
		t.Fatalf("append over the budget: %v, want ErrFull", err)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d after a refused append", s.Len())
	}
	if err := s.Pop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rec(1)); err != nil {
		t.Fatalf("append after a pop made room: %v", err)
	}
	if err := s.Append(make([]byte, MaxRecord+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v, want ErrTooLarge", err)
	}
	if _, err := Open(t.TempDir(), 0); err == nil {
		t.Fatal("Open with max bytes 0 succeeded")
	}
}

func TestCorruptTail(t *testing.T) {
	lastLen := int64(headerSize + len(rec(9)))
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
		keep   int // intact records expected
	}{
		{"torn payload", func(t *testing.T, p string, size int64) { truncate(t, p, size-3) }, 9},
		{"torn header", func(t *testing.T, p string, size int64) { truncate(t, p, size-lastLen+4) }, 9},
		{"flipped payload bit", func(t *testing.T, p string, size int64) { flip(t, p, size-2) }, 9},
		{"flipped length bit", func(t *testing.T, p string, size int64) { flip(t, p, size-lastLen+1) }, 9},
		{"bad state byte", func(t *testing.T, p string, size int64) { flip(t, p, size-lastLen) }, 9},
		{"zeros after the tail", func(t *testing.T, p string, size int64) { appendBytes(t, p, make([]byte, 4096)) }, 10},
		{"garbage after the tail", func(t *testing.T, p string, size int64) { appendBytes(t, p, []byte("R\xff\xff\x00\x00junk")) }, 10},
		{"damage in the middle", func(t *testing.T, p string, size int64) { flip(t, p, size-2*lastLen) }, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			// Same-length records so that "the last record" is easy to aim at.
			for range 10 {
				if err := s.Append(rec(9)); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			files := segFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("%d segments, want 1", len(files))
			}
			fi, err := os.Stat(files[0])
			if err != nil {
				t.Fatal(err)
			}
			c.damage(t, files[0], fi.Size())

			s = open(t, dir, 1<<20)
			if s.Len() != c.keep {
				t.Fatalf("recovered %d records, want %d", s.Len(), c.keep)
			}
			if st := s.Stats(); st.Corrupt != 1 || st.CorruptBytes <= 0 {
				t.Fatalf("stats %+v, want one corrupt tail counted", st)
			}
			fi, err = os.Stat(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != int64(c.keep)*lastLen {
				t.Fatalf("segment is %d bytes after recovery, want %d", fi.Size(), int64(c.keep)*lastLen)
			}
			// The spool goes on working past the cut.
			if err := s.Append(rec(3)); err != nil {
				t.Fatal(err)
			}
			for i := range c.keep {
				got, _, err := s.Peek()
				if err != nil || !bytes.Equal(got, rec(9)) {
					t.Fatalf("record %d = %q, %v", i, got, err)
				}
				s.Pop()
			}
			popExpect(t, s, 3, 4)
		})
	}
}

// Damage in one segment loses the rest of that segment only.
func TestCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20, WithSegmentSize(100))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 0, 12)
	perSeg := map[string]int{}
	s.Close()
	files := segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d segments, want 3 or more", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n := 0
		scan(bytes.NewReader(b), int64(len(b)), func(int64, bool, []byte) { n++ })
		perSeg[f] = n
	}
	flip(t, files[1], headerSize+1) // first record of the second segment
	s = open(t, dir, 1<<20, WithSegmentSize(100))
	if want := 12 - perSeg[files[1]]; s.Len() != want {
		t.Fatalf("recovered %d records, want %d", s.Len(), want)
	}
	popExpect(t, s, 0, perSeg[files[0]])
	popExpect(t, s, perSeg[files[0]]+perSeg[files[1]], 12)
}

// A record damaged after Open checked it is skipped when read, never
// returned.
func TestCorruptAfterOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20, WithSegmentSize(100))
	appendN(t, s, 0, 12)
	files := segFiles(t, dir)
	b, _ := os.ReadFile(files[0])
	first := 0
	scan(bytes.NewReader(b), int64(len(b)), func(int64, bool, []byte) { first++ })
	flip(t, files[0], int64(len(b))-1) // last record of the first segment
	popExpect(t, s, 0, first-1)
	popExpect(t, s, first, 12)
	if st := s.Stats(); st.Corrupt != 1 {
		t.Fatalf("stats %+v, want one corrupt record counted", st)
	}
}

func TestSegmentReclamation(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20, WithSegmentSize(128))
	appendN(t, s, 0, 40)
	n := len(segFiles(t, dir))
	if n < 5 {
		t.Fatalf("%d segments for 40 records of 128-byte segments", n)
	}
	popExpect(t, s, 0, 20)
	if m := len(segFiles(t, dir)); m >= n {
		t.Fatalf("%d segments after popping half, had %d", m, n)
	}
	popExpect(t, s, 20, 40)
	files := segFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d segments when empty, want 1", len(files))
	}
	if fi, _ := os.Stat(files[0]); fi.Size() != 0 {
		t.Fatalf("empty spool's segment is %d bytes", fi.Size())
	}
	// A spool popped empty before a restart comes back empty.
	s.Close()
	s = open(t, dir, 1<<20, WithSegmentSize(128))
	if s.Len() != 0 {
		t.Fatalf("Len = %d after reopening an empty spool", s.Len())
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, 1<<20); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v, want in use", err)
	}
	s.Close()
	open(t, dir, 1<<20)
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
