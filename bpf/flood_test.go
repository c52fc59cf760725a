package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// The hand decoder reads struct vg_flood at the generated layout.
func TestFloodLayout(t *testing.T) {
	var f vigilVgFlood
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(f), floodSize},
		{"event_type", unsafe.Offsetof(f.EventType), hdrSize},
		{"bulk", unsafe.Offsetof(f.Bulk), hdrSize + 4},
		{"limited", unsafe.Offsetof(f.Limited), hdrSize + 8},
	} {
		if c.got != c.want {
			t.Errorf("vg_flood %s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if vgFlood != 0x7e || vgWake != 0x7f {
		t.Errorf("VG_FLOOD %#x, VG_WAKE %#x", vgFlood, vgWake)
	}
}

func floodRecordBytes(t testing.TB, flags vigilVgFloodFlags, typ event.Type, limited uint64) []byte {
	h := hdr(vigilVgType(vgFlood), "flooder")
	h.Flags = uint16(flags)
	h.Uid = 65534
	return pack(t, vigilVgFlood{Hdr: h, EventType: uint32(typ), Bulk: 1, Limited: limited})
}

func testReader(t testing.TB) *Reader {
	clk, err := newClock()
	if err != nil {
		t.Fatal(err)
	}
	return &Reader{dec: NewDecoder(), procs: process.New(process.Options{}), users: process.NewUsers("/etc/passwd"), clock: clk,
		env: new(atomic.Pointer[map[string]bool])}
}

// A flood record names the process, its user, the type and the count;
// a garbled one is an error, counted by the reader.
func TestDecodeFlood(t *testing.T) {
	r := testReader(t)
	r.procs.Exec(&event.Process{PID: 4242, Name: "flooder", Exe: "/usr/bin/flooder", Argv: []string{"flooder", "-n"}, UID: 65534})
	var d Record
	f, err := r.decodeFlood(floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.TypeOpen, 1), &d)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Start || f.Type != event.TypeOpen || !f.Bulk || f.Limited != 1 || f.TID != 4243 || f.User.UID != 65534 ||
		f.Proc.PID != 4242 || f.Proc.Exe != "/usr/bin/flooder" {
		t.Errorf("start: %+v (proc %+v)", f, f.Proc)
	}
	f, err = r.decodeFlood(floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_END, event.TypeUnlink, 5000), &d)
	if err != nil || f.Start || f.Type != event.TypeUnlink || f.Limited != 5000 {
		t.Errorf("end: %+v, %v", f, err)
	}
	short := floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.TypeOpen, 1)[:floodSize-8]
	both := floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START|vigilVgFloodFlagsVG_FLOOD_END, event.TypeOpen, 1)
	noType := floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.Type(99), 1)
	for name, c := range map[string]struct {
		raw  []byte
		want error
	}{
		"short": {short, ErrShort}, "start and end": {both, errFloodFlags}, "unknown type": {noType, ErrUnknownType},
	} {
		if _, err := r.decodeFlood(c.raw, &d); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	var heard []Flood
	r.flood = func(f Flood) { heard = append(heard, f) }
	r.record(both, &d, nil)
	r.record(floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.TypeOpen, 1), &d, nil)
	if s := r.Stats(); s.DecodeErrors != 1 || s.Floods != 1 || len(heard) != 1 {
		t.Errorf("decode errors %d, floods %d, heard %d; want 1, 1, 1", s.DecodeErrors, s.Floods, len(heard))
	}
}

func FuzzFloodRecord(f *testing.F) {
	r := testReader(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d Record
		fl, err := r.decodeFlood(raw, &d)
		if err != nil {
			return
		}
		if fl.Type.Info().Name == "" || fl.Proc == nil {
			t.Fatalf("accepted %+v", fl)
		}
	})
}

// The seed corpus of FuzzFloodRecord: `VIGIL_WRITE_SEEDS=1 go test -run TestFloodSeeds`.
func TestFloodSeeds(t *testing.T) {
	seeds := map[string][]byte{
		"start": floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.TypeOpen, 1),
		"end":   floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_END, event.TypeChmod, 77),
		"short": floodRecordBytes(t, vigilVgFloodFlagsVG_FLOOD_START, event.TypeOpen, 1)[:hdrSize],
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzFloodRecord")
	if _, err := os.Stat("testdata"); err != nil {
		// The test binary runs away from the source tree (the kernel
		// matrix, scripts/vm/run.sh): there are no seeds to compare.
		t.Logf("no testdata here (%v): seeds not compared", err)
		return
	}
	for name, raw := range seeds {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)
		path := filepath.Join(dir, name)
		if os.Getenv("VIGIL_WRITE_SEEDS") != "" {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s: seed out of date (VIGIL_WRITE_SEEDS=1 go test -run TestFloodSeeds ./bpf/): %v", path, err)
		}
	}
}
