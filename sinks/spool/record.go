package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

const (
	headerSize = 9 // state, length, checksum

	stateQueued = 'R'
	statePopped = 'P'

	// MaxRecord is the largest record Append takes. It also bounds what a
	// damaged length field can make the reader allocate.
	MaxRecord = 16 << 20
)

// checksum covers the length as well as the payload, so that a damaged
// length is caught even when the bytes it points at happen to check out.
func checksum(n uint32, payload []byte) uint32 {
	table := crc32.MakeTable(crc32.Castagnoli) // cached by the crc32 package
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], n)
	return crc32.Update(crc32.Update(0, table, l[:]), table, payload)
}

// appendRecord appends payload framed as a queued record.
func appendRecord(b, payload []byte) []byte {
	n := uint32(len(payload))
	b = append(b, stateQueued)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = binary.LittleEndian.AppendUint32(b, checksum(n, payload))
	return append(b, payload...)
}

// parseHeader decodes a record header. ok is false for anything a writer
// cannot have produced: an unknown state (zeros left by a crash that
// extended the file, for one) or a length over MaxRecord.
func parseHeader(h []byte) (popped bool, n uint32, sum uint32, ok bool) {
	state := h[0]
	n = binary.LittleEndian.Uint32(h[1:5])
	sum = binary.LittleEndian.Uint32(h[5:9])
	if (state != stateQueued && state != statePopped) || n > MaxRecord {
		return false, 0, 0, false
	}
	return state == statePopped, n, sum, true
}

// scan reads the records of one segment of size bytes from r, calling fn
// for each intact one (payload is only valid during the call). It stops at
// the first record that is not intact: end is where the intact data ends,
// and torn reports that something follows it. err is a read error only;
// damage is not an error.
func scan(r io.Reader, size int64, fn func(off int64, popped bool, payload []byte)) (end int64, torn bool, err error) {
	var hdr [headerSize]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return end, false, nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return end, true, nil
			}
			return end, false, err
		}
		popped, n, sum, ok := parseHeader(hdr[:])
		if !ok || int64(n) > size-end-headerSize {
			return end, true, nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return end, true, nil
			}
			return end, false, err
		}
		if checksum(n, buf) != sum {
			return end, true, nil
		}
		fn(end, popped, buf)
		end += headerSize + int64(n)
	}
}
