package bpf

import (
	"errors"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

// vgFlood is VG_FLOOD (vigil.h): a process went over its rate limit, or
// came back under it.
const vgFlood = 0x7e

// floodSize is the size of struct vg_flood.
const floodSize = hdrSize + 16

// Flood is a flood record: a process started (Start) or stopped going over
// its rate limit on one ring. While it floods, the kernel counts its
// records of the limited types (Probes.Limited) instead of sending them.
type Flood struct {
	Start   bool // false: the flood ended (the process's budget refilled, or it exited)
	Time    time.Time
	Proc    *event.Process // the process, from the process table when it is there
	TID     uint32
	User    event.User
	Type    event.Type // the type of the record that went over the rate
	Bulk    bool       // the bulk ring's budget (else the priority ring's)
	Limited uint64     // records not sent in this flood so far (at the end: in all)
}

// errFloodFlags: a flood record is either a start or an end.
var errFloodFlags = errors.New("bpf: flood record neither starts nor ends a flood")

// decodeFlood reads a VG_FLOOD record; d receives its header.
func (r *Reader) decodeFlood(raw []byte, d *Record) (Flood, error) {
	if len(raw) < floodSize {
		return Flood{}, ErrShort
	}
	// The header is every record's: Decode reads it, then stops at a tag
	// that is no event type.
	if err := r.dec.Decode(raw, d); !errors.Is(err, ErrUnknownType) {
		if err == nil {
			err = ErrUnknownType
		}
		return Flood{}, err
	}
	if int(le.Uint32(raw[4:])) < floodSize {
		return Flood{}, ErrBadSize
	}
	start := d.Flags&uint16(vigilVgFloodFlagsVG_FLOOD_START) != 0
	end := d.Flags&uint16(vigilVgFloodFlagsVG_FLOOD_END) != 0
	if start == end {
		return Flood{}, errFloodFlags
	}
	typ := event.Type(le.Uint32(raw[hdrSize:]))
	if typ.Info().Name == "" {
		return Flood{}, ErrUnknownType
	}
	return Flood{
		Start:   start,
		Time:    r.clock.wall(d.Ktime),
		Proc:    r.proc(d),
		TID:     d.TID,
		User:    r.users.User(d.UID),
		Type:    typ,
		Bulk:    le.Uint32(raw[hdrSize+4:]) != 0,
		Limited: le.Uint64(raw[hdrSize+8:]),
	}, nil
}

// floodRecord hands a flood record to the Flood callback.
func (r *Reader) floodRecord(raw []byte, d *Record) {
	f, err := r.decodeFlood(raw, d)
	if err != nil {
		r.stats.decodeErr.Add(1)
		return
	}
	r.stats.floods.Add(1)
	if r.flood != nil {
		r.flood(f)
	}
}
