package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Errors callers branch on.
var (
	ErrFull     = errors.New("spool: full")
	ErrTooLarge = errors.New("spool: record larger than MaxRecord")
	ErrEmpty    = errors.New("spool: empty")
	ErrClosed   = errors.New("spool: closed")
)

// DefaultSegmentSize is the size at which appends move to a new segment
// file. Popped data stays on disk until its whole segment is popped, so
// this bounds the waste; it is large enough that rotation is rare.
const DefaultSegmentSize = 4 << 20

const (
	segSuffix = ".seg"
	lockName  = "LOCK"
)

// Stats counts damage found in the spool.
type Stats struct {
	Corrupt      int   // torn or corrupt tails cut off, at Open or when read
	CorruptBytes int64 // bytes discarded with them
}

// Option configures Open.
type Option func(*Spool)

// WithSegmentSize sets the segment size (DefaultSegmentSize by default). A
// record larger than a segment gets a segment of its own.
func WithSegmentSize(n int64) Option {
	return func(s *Spool) {
		if n > 0 {
			s.segSize = n
		}
	}
}

type segment struct {
	seq       uint64
	size      int64 // end of the last intact record: where the next append goes
	first     int64 // offset of the oldest queued record
	queued    int
	queuedLen int64 // framed bytes of the queued records
}

// Spool is an on-disk FIFO of byte records, bounded in bytes. It is not
// safe for concurrent use.
type Spool struct {
	dir     string
	max     int64
	segSize int64
	lock    *os.File

	// segs is oldest first. Every segment but the last holds at least one
	// queued record; the last takes appends and is truncated to zero when
	// it is popped empty, so an empty spool is one empty segment.
	segs     []*segment
	head     *os.File // segs[0]'s file when there are two segments or more
	tail     *os.File // the last segment's file
	nextSeq  uint64
	dirDirty bool // a segment was created or removed since the last Sync

	n     int
	bytes int64
	stats Stats
	wbuf  []byte
	hdr   [headerSize]byte

	closed bool
}

// Open opens the spool in dir, creating the directory if needed, and
// recovers the records queued by an earlier process, in order. maxBytes
// bounds the framed size of the queued records (Bytes); the disk holds at
// most one segment more, of popped records not yet reclaimed.
func Open(dir string, maxBytes int64, opts ...Option) (*Spool, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("spool %s: max bytes must be positive, got %d", dir, maxBytes)
	}
	s := &Spool{dir: dir, max: maxBytes, segSize: DefaultSegmentSize}
	for _, o := range opts {
		o(s)
	}
	// 0700 and 0600: alerts name users, files and command lines.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool %s: in use by another process or sink", dir)
		}
		return nil, fmt.Errorf("spool %s: lock: %w", dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

func (s *Spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segSuffix))
}

// recover scans the segments on disk, cuts damaged tails, deletes the
// segments that were popped empty, and opens the last one for appends.
func (s *Spool) recover() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64 // ReadDir sorts by name, and names are zero-padded
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	for i, seq := range seqs {
		seg, err := s.recoverSegment(seq)
		if err != nil {
			return err
		}
		last := i == len(seqs)-1
		if seg.queued == 0 && !last {
			if err := os.Remove(s.path(seq)); err != nil {
				return fmt.Errorf("spool: %w", err)
			}
			s.dirDirty = true
			continue
		}
		s.segs = append(s.segs, seg)
		s.n += seg.queued
		s.bytes += seg.queuedLen
		s.nextSeq = seq + 1
	}
	if len(s.segs) == 0 {
		s.nextSeq = 1
		return s.addSegment()
	}
	tail, err := os.OpenFile(s.path(s.segs[len(s.segs)-1].seq), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.tail = tail
	if t := s.segs[len(s.segs)-1]; t.queued == 0 && t.size > 0 {
		return s.reset()
	}
	return nil
}

func (s *Spool) recoverSegment(seq uint64) (*segment, error) {
	f, err := os.OpenFile(s.path(seq), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg := &segment{seq: seq, first: -1}
	end, torn, err := scan(bufio.NewReaderSize(f, 64<<10), fi.Size(), func(off int64, popped bool, payload []byte) {
		// Pops only ever mark a prefix. A popped mark after a queued record
		// can only be damage; keeping the record queued errs on the side of
		// delivering twice rather than never.
		if popped && seg.first < 0 {
			return
		}
		if seg.first < 0 {
			seg.first = off
		}
		seg.queued++
		seg.queuedLen += headerSize + int64(len(payload))
	})
	if err != nil {
		return nil, fmt.Errorf("spool: read %s: %w", f.Name(), err)
	}
	if torn {
		if err := f.Truncate(end); err != nil {
			return nil, fmt.Errorf("spool: cut damaged tail of %s: %w", f.Name(), err)
		}
		s.stats.Corrupt++
		s.stats.CorruptBytes += fi.Size() - end
	}
	seg.size = end
	if seg.first < 0 {
		seg.first = end
	}
	return seg, nil
}

// addSegment starts a new last segment.
func (s *Spool) addSegment() error {
	seq := s.nextSeq
	f, err := os.OpenFile(s.path(seq), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	s.nextSeq++
	s.dirDirty = true
	if s.tail != nil {
		if len(s.segs) == 1 {
			s.head = s.tail
		} else {
			// Sync promises everything appended; the old tail is closed
			// now and Sync only sees the new one.
			if err := s.tail.Sync(); err != nil {
				f.Close()
				return fmt.Errorf("spool: sync segment: %w", err)
			}
			s.tail.Close()
		}
	}
	s.tail = f
	s.segs = append(s.segs, &segment{seq: seq})
	return nil
}

// Append queues rec behind every record already queued. It returns ErrFull
// when rec does not fit in the byte budget: the caller drops and counts it.
func (s *Spool) Append(rec []byte) error {
	if s.closed {
		return ErrClosed
	}
	if len(rec) > MaxRecord {
		return ErrTooLarge
	}
	need := int64(headerSize + len(rec))
	if s.bytes+need > s.max {
		return ErrFull
	}
	if t := s.segs[len(s.segs)-1]; t.size > 0 && t.size+need > s.segSize {
		if err := s.addSegment(); err != nil {
			return err
		}
	}
	t := s.segs[len(s.segs)-1]
	s.wbuf = appendRecord(s.wbuf[:0], rec)
	if _, err := s.tail.WriteAt(s.wbuf, t.size); err != nil {
		// Do not leave half a record for the next append to follow.
		s.tail.Truncate(t.size)
		return fmt.Errorf("spool: append: %w", err)
	}
	if t.queued == 0 {
		t.first = t.size
	}
	t.size += need
	t.queued++
	t.queuedLen += need
	s.n++
	s.bytes += need
	return nil
}

// Peek returns a copy of the oldest record; ok is false when the spool is
// empty.
func (s *Spool) Peek() (rec []byte, ok bool, err error) {
	recs, err := s.PeekN(1)
	if err != nil || len(recs) == 0 {
		return nil, false, err
	}
	return recs[0], true, nil
}

// PeekN returns copies of up to n of the oldest records, oldest first, for
// a sink that delivers them in one request and then pops them with PopN. It
// may return fewer than n while more are queued: it stops at the end of a
// segment. It returns none only when the spool is empty.
func (s *Spool) PeekN(n int) ([][]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	n = max(n, 1)
	for s.n > 0 {
		recs, damaged, err := s.readHead(n)
		if err != nil {
			return nil, err
		}
		if !damaged || len(recs) > 0 {
			return recs, nil
		}
		// The oldest record went bad after Open checked it; what follows it
		// in the segment cannot be framed any more. Count and move on.
		seg := s.segs[0]
		s.stats.Corrupt++
		s.stats.CorruptBytes += seg.size - seg.first
		if err := s.dropHead(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// headFile returns the open file of the oldest segment.
func (s *Spool) headFile() (*os.File, error) {
	if len(s.segs) == 1 {
		return s.tail, nil
	}
	if s.head == nil {
		f, err := os.OpenFile(s.path(s.segs[0].seq), os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.head = f
	}
	return s.head, nil
}

// readHead reads up to n records of the oldest segment, checking each
// again; damaged reports a record that is no longer intact, which ends the
// read.
func (s *Spool) readHead(n int) (recs [][]byte, damaged bool, err error) {
	f, err := s.headFile()
	if err != nil {
		return nil, false, err
	}
	seg := s.segs[0]
	off := seg.first
	for i := 0; i < n && i < seg.queued; i++ {
		if _, err := f.ReadAt(s.hdr[:], off); err != nil {
			if errors.Is(err, io.EOF) {
				return recs, true, nil
			}
			return nil, false, fmt.Errorf("spool: read: %w", err)
		}
		_, size, sum, ok := parseHeader(s.hdr[:])
		if !ok || off+headerSize+int64(size) > seg.size {
			return recs, true, nil
		}
		rec := make([]byte, size)
		if _, err := f.ReadAt(rec, off+headerSize); err != nil {
			if errors.Is(err, io.EOF) {
				return recs, true, nil
			}
			return nil, false, fmt.Errorf("spool: read: %w", err)
		}
		if checksum(size, rec) != sum {
			return recs, true, nil
		}
		recs = append(recs, rec)
		off += headerSize + int64(size)
	}
	return recs, false, nil
}

// Pop removes the oldest record, once its delivery succeeded.
func (s *Spool) Pop() error {
	if s.closed {
		return ErrClosed
	}
	if s.n == 0 {
		return ErrEmpty
	}
	f, err := s.headFile()
	if err != nil {
		return err
	}
	seg := s.segs[0]
	_, err = f.ReadAt(s.hdr[:], seg.first)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("spool: read: %w", err)
	}
	_, size, _, ok := parseHeader(s.hdr[:])
	if err != nil || !ok || seg.first+headerSize+int64(size) > seg.size {
		s.stats.Corrupt++
		s.stats.CorruptBytes += seg.size - seg.first
		return s.dropHead()
	}
	if _, err := f.WriteAt([]byte{statePopped}, seg.first); err != nil {
		return fmt.Errorf("spool: pop: %w", err)
	}
	framed := headerSize + int64(size)
	seg.first += framed
	seg.queued--
	seg.queuedLen -= framed
	s.n--
	s.bytes -= framed
	if seg.queued == 0 {
		return s.reclaimHead()
	}
	return nil
}

// PopN pops n records, or all of them if fewer are queued.
func (s *Spool) PopN(n int) error {
	for ; n > 0 && s.n > 0; n-- {
		if err := s.Pop(); err != nil {
			return err
		}
	}
	return nil
}

// dropHead discards every queued record of the oldest segment.
func (s *Spool) dropHead() error {
	seg := s.segs[0]
	s.n -= seg.queued
	s.bytes -= seg.queuedLen
	seg.queued, seg.queuedLen = 0, 0
	return s.reclaimHead()
}

// reclaimHead frees the oldest segment once nothing in it is queued.
func (s *Spool) reclaimHead() error {
	if len(s.segs) == 1 {
		return s.reset()
	}
	if s.head != nil {
		s.head.Close()
		s.head = nil
	}
	if err := os.Remove(s.path(s.segs[0].seq)); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.dirDirty = true
	s.segs = s.segs[1:]
	return nil
}

// reset empties the only segment.
func (s *Spool) reset() error {
	if err := s.tail.Truncate(0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	*s.segs[0] = segment{seq: s.segs[0].seq}
	return nil
}

// Len is the number of queued records.
func (s *Spool) Len() int { return s.n }

// Bytes is the framed size of the queued records, what maxBytes bounds.
func (s *Spool) Bytes() int64 { return s.bytes }

// Stats reports the damage found so far.
func (s *Spool) Stats() Stats { return s.stats }

// Sync flushes the appended records (and new or removed segment names) to
// stable storage, so that they survive a crash of the host.
func (s *Spool) Sync() error {
	if s.closed {
		return ErrClosed
	}
	if err := s.tail.Sync(); err != nil {
		return fmt.Errorf("spool: sync: %w", err)
	}
	if s.dirDirty {
		d, err := os.Open(s.dir)
		if err != nil {
			return fmt.Errorf("spool: sync: %w", err)
		}
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("spool: sync: %w", err)
		}
		s.dirDirty = false
	}
	return nil
}

// Close syncs and closes the spool and releases the directory; the queued
// records wait there for the next Open.
func (s *Spool) Close() error {
	if s.closed {
		return nil
	}
	err := s.Sync()
	s.closed = true
	s.closeFiles()
	return err
}

func (s *Spool) closeFiles() {
	if s.head != nil {
		s.head.Close()
	}
	if s.tail != nil {
		s.tail.Close()
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
	}
}
