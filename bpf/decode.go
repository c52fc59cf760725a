package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vigil-project/vigil/engine/event"
)

// Record layout (see include/vigil.h). These offsets are checked against
// the bpf2go-generated structs in decode_test.go; the decoder is written by
// hand because binary.Read costs ~35x more per record.
const (
	hdrSize     = 96
	execSize    = hdrSize + 40 + 3*stdioSize
	stdioSize   = 40
	forkSize    = hdrSize + 32
	exitSize    = hdrSize + 8
	openSize    = hdrSize + 32
	connectSize = hdrSize + 64
	sysSize     = hdrSize + 72

	argsMax = 4095 // VG_ARGS_MAX: bytes of argv the kernel keeps
)

// Decode errors. Callers count them by kind and skip the record.
var (
	ErrShort       = errors.New("bpf: record shorter than its fixed part")
	ErrUnknownType = errors.New("bpf: unknown record type")
	ErrBadSize     = errors.New("bpf: record size field disagrees with its length")
	ErrBadTail     = errors.New("bpf: record tail lengths exceed the record")
)

// Record is one kernel record, decoded but not yet enriched. The reader
// reuses one Record; Decode overwrites every field the type uses.
type Record struct {
	Type     uint8 // the record tag: an event.Type
	Flags    uint16
	Ktime    uint64
	PID, TID uint32
	UID, GID uint32
	EUID     uint32
	Policy   uint32 // the enforcement word (vigil.h, enum vg_pol_outcome)
	CgroupID uint64
	Comm     string
	CapEff   uint64 // effective capabilities
	CapPrm   uint64 // permitted
	CapInh   uint64 // inheritable
	LoginUID uint32

	// vg_exec: the process's ids in its pid namespace; vg_fork: the
	// child's (struct vg_nsids)
	VPID, VPGID, SID uint32

	// vg_exec
	PPID, TTY uint32
	StartNs   uint64
	Exe, Cwd  string
	Argv      []string
	Env       []byte // NUL-separated NAME=VALUE, when the kernel sends it
	Stdio     [3]Stdio

	// vg_fork
	ChildPID     uint32
	ChildStartNs uint64

	// vg_exit
	Status uint32

	// vg_open (Ret and Syscall: every syscall record)
	Ret     int64
	OFlags  uint32
	Mode    uint32
	Dfd     int32
	RawPath string
	Base    string
	Syscall uint16

	// vg_connect
	Fd           int32
	Family       uint16
	SockType     uint16
	Protocol     uint16
	SockFamily   uint16
	DPort, SPort uint16
	DAddr, SAddr [16]byte
	UnixPath     string

	// vg_sys: per syscall, see vigil.h
	Args [6]uint64
	Strs [5]string
}

// Stdio is a struct vg_stdio: what one of fds 0, 1 and 2 was at exec.
type Stdio struct {
	Open     bool
	Mode     uint16 // S_IFMT bits
	Ino      uint64
	Rdev     uint32 // the kernel's dev_t: major << 20 | minor
	Family   uint16 // sockets
	Protocol uint16
	DPort    uint16 // inet sockets: the peer
	DAddr    [16]byte
}

// Decoder turns raw records into Records. It keeps a small intern table
// for command names, which repeat in almost every record.
type Decoder struct {
	comms map[[16]byte]string
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{comms: make(map[[16]byte]string)}
}

const maxInternedComms = 4096

var le = binary.LittleEndian

// Decode decodes raw into r. On error r holds no meaningful data.
func (d *Decoder) Decode(raw []byte, r *Record) error {
	if len(raw) < hdrSize {
		return ErrShort
	}
	r.Type = raw[0]
	r.Flags = le.Uint16(raw[2:])
	size := le.Uint32(raw[4:])
	r.Ktime = le.Uint64(raw[8:])
	r.PID = le.Uint32(raw[16:])
	r.TID = le.Uint32(raw[20:])
	r.UID = le.Uint32(raw[24:])
	r.GID = le.Uint32(raw[28:])
	r.EUID = le.Uint32(raw[32:])
	r.Policy = le.Uint32(raw[36:])
	r.CgroupID = le.Uint64(raw[40:])
	r.Comm = d.comm(raw[48:64])
	r.CapEff = le.Uint64(raw[64:])
	r.LoginUID = le.Uint32(raw[72:])
	r.CapPrm = le.Uint64(raw[80:])
	r.CapInh = le.Uint64(raw[88:])

	// The ring buffer rounds records up to 8 bytes; the size field is exact.
	if int(size) > len(raw) || int(size) < hdrSize {
		return ErrBadSize
	}
	raw = raw[:size]

	switch recordKinds[r.Type] {
	case event.RecordExec:
		return d.exec(raw, r)
	case event.RecordFork:
		if len(raw) < forkSize {
			return ErrShort
		}
		r.ChildPID = le.Uint32(raw[hdrSize:])
		r.ChildStartNs = le.Uint64(raw[hdrSize+8:])
		r.nsIDs(raw[hdrSize+16:])
	case event.RecordExit:
		if len(raw) < exitSize {
			return ErrShort
		}
		r.Status = le.Uint32(raw[hdrSize:])
	case event.RecordOpen:
		return d.open(raw, r)
	case event.RecordConnect:
		return d.connect(raw, r)
	case event.RecordSys:
		return d.sys(raw, r)
	default:
		return fmt.Errorf("%w %d", ErrUnknownType, r.Type)
	}
	return nil
}

// recordKinds is the layout of each record tag, from the event-type
// table (a tag is an event.Type); RecordNone for tags that are no type.
var recordKinds = func() (k [256]event.RecordKind) {
	for _, t := range event.Types() {
		k[t] = t.Info().Record
	}
	return k
}()

// vgWake is VG_WAKE (vigil.h): a record that only wakes the reader.
const vgWake = 0x7f

func (d *Decoder) exec(raw []byte, r *Record) error {
	if len(raw) < execSize {
		return ErrShort
	}
	f := raw[hdrSize:]
	r.PPID = le.Uint32(f[0:])
	r.TTY = le.Uint32(f[4:])
	r.StartNs = le.Uint64(f[8:])
	exeLen := int(le.Uint16(f[16:]))
	cwdLen := int(le.Uint16(f[18:]))
	argsLen := int(le.Uint16(f[20:]))
	envLen := int(le.Uint16(f[22:]))
	r.nsIDs(f[24:])
	for i := range r.Stdio {
		r.Stdio[i].decode(f[40+i*stdioSize:])
	}
	tail := raw[execSize:]
	if exeLen+cwdLen+argsLen+envLen > len(tail) {
		return ErrBadTail
	}
	r.Exe = string(tail[:exeLen])
	r.Cwd = string(tail[exeLen : exeLen+cwdLen])
	r.Argv = splitArgs(tail[exeLen+cwdLen:exeLen+cwdLen+argsLen], r.Argv[:0])
	// Env aliases the record: the reader parses it before the next one.
	r.Env = tail[exeLen+cwdLen+argsLen : exeLen+cwdLen+argsLen+envLen]
	return nil
}

func (s *Stdio) decode(b []byte) {
	s.Ino = le.Uint64(b[0:])
	s.Rdev = le.Uint32(b[8:])
	s.Mode = le.Uint16(b[12:])
	s.Open = b[14] != 0
	s.Family = le.Uint16(b[16:])
	s.Protocol = le.Uint16(b[18:])
	s.DPort = le.Uint16(b[20:])
	s.DAddr = [16]byte(b[24:40])
}

// nsIDs decodes a struct vg_nsids.
func (r *Record) nsIDs(b []byte) {
	r.VPID = le.Uint32(b[0:])
	r.VPGID = le.Uint32(b[4:])
	r.SID = le.Uint32(b[8:])
}

// splitArgs splits NUL-separated arguments; the last may lack its NUL when
// the kernel truncated the list. It makes one string for all arguments and
// slices it, so an exec costs two allocations, not one per argument.
func splitArgs(b []byte, argv []string) []string {
	if len(b) == 0 {
		return argv
	}
	if b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	all := string(b)
	start := 0
	for i := 0; i < len(all); i++ {
		if all[i] == 0 {
			argv = append(argv, all[start:i])
			start = i + 1
		}
	}
	return append(argv, all[start:])
}

func (d *Decoder) open(raw []byte, r *Record) error {
	if len(raw) < openSize {
		return ErrShort
	}
	f := raw[hdrSize:]
	r.Ret = int64(le.Uint64(f[0:]))
	r.OFlags = le.Uint32(f[8:])
	r.Mode = le.Uint32(f[12:])
	r.Dfd = int32(le.Uint32(f[16:]))
	rawLen := int(le.Uint16(f[20:]))
	baseLen := int(le.Uint16(f[22:]))
	r.Syscall = le.Uint16(f[24:])
	tail := raw[openSize:]
	if rawLen+baseLen > len(tail) {
		return ErrBadTail
	}
	r.RawPath = string(tail[:rawLen])
	r.Base = string(tail[rawLen : rawLen+baseLen])
	return nil
}

func (d *Decoder) connect(raw []byte, r *Record) error {
	if len(raw) < connectSize {
		return ErrShort
	}
	f := raw[hdrSize:]
	r.Ret = int64(le.Uint64(f[0:]))
	r.Fd = int32(le.Uint32(f[8:]))
	r.Family = le.Uint16(f[12:])
	r.SockType = le.Uint16(f[14:])
	r.Protocol = le.Uint16(f[16:])
	r.SockFamily = le.Uint16(f[18:])
	r.DPort = le.Uint16(f[20:])
	r.SPort = le.Uint16(f[22:])
	copy(r.DAddr[:], f[24:40])
	copy(r.SAddr[:], f[40:56])
	pathLen := int(le.Uint16(f[56:]))
	r.Syscall = le.Uint16(f[58:])
	tail := raw[connectSize:]
	if pathLen > len(tail) {
		return ErrBadTail
	}
	r.UnixPath = string(tail[:pathLen])
	return nil
}

func (d *Decoder) sys(raw []byte, r *Record) error {
	if len(raw) < sysSize {
		return ErrShort
	}
	f := raw[hdrSize:]
	r.Ret = int64(le.Uint64(f[0:]))
	for i := range r.Args {
		r.Args[i] = le.Uint64(f[8+8*i:])
	}
	r.Syscall = le.Uint16(f[56:])
	tail := raw[sysSize:]
	off := 0
	for i := range r.Strs {
		n := int(le.Uint16(f[58+2*i:]))
		if n > len(tail)-off {
			return ErrBadTail
		}
		r.Strs[i] = string(tail[off : off+n])
		off += n
	}
	return nil
}

func (d *Decoder) comm(b []byte) string {
	var key [16]byte
	copy(key[:], b)
	if s, ok := d.comms[key]; ok {
		return s
	}
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	s := string(b[:n])
	if len(d.comms) >= maxInternedComms {
		clear(d.comms)
	}
	d.comms[key] = s
	return s
}
