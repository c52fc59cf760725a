package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/")

// The hand-written decoder must agree with the layout clang gave the C
// structs, which bpf2go mirrors in the generated Go types.
func TestLayoutMatchesGenerated(t *testing.T) {
	sizes := []struct {
		name string
		got  uintptr
		want int
	}{
		{"vg_hdr", unsafe.Sizeof(vigilVgHdr{}), hdrSize},
		{"vg_exec", unsafe.Sizeof(vigilVgExec{}), execSize},
		{"vg_fork", unsafe.Sizeof(vigilVgFork{}), forkSize},
		{"vg_nsids", unsafe.Sizeof(vigilVgNsids{}), 16},
		{"vg_exit", unsafe.Sizeof(vigilVgExit{}), exitSize},
		{"vg_open", unsafe.Sizeof(vigilVgOpen{}), openSize},
		{"vg_connect", unsafe.Sizeof(vigilVgConnect{}), connectSize},
		{"vg_sys", unsafe.Sizeof(vigilVgSys{}), sysSize},
	}
	for _, s := range sizes {
		if int(s.got) != s.want {
			t.Errorf("sizeof(%s) = %d, decoder assumes %d", s.name, s.got, s.want)
		}
	}
}

func pack(t testing.TB, fixed any, tail ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, fixed); err != nil {
		t.Fatal(err)
	}
	for _, x := range tail {
		b.Write(x)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)))
	// the ring buffer pads records to 8 bytes
	for len(out)%8 != 0 {
		out = append(out, 0xAA)
	}
	return out
}

func hdr(typ vigilVgType, comm string) vigilVgHdr {
	h := vigilVgHdr{Type: uint8(typ), Flags: 3, Ktime: 123456789, Pid: 4242, Tid: 4243, Uid: 1000, Gid: 1001, Euid: 0, CgroupId: 77, CapEff: 1 << 21, Loginuid: 1000, CapPrm: 1<<21 | 1<<7, CapInh: 1 << 13}
	for i := 0; i < len(comm) && i < 16; i++ {
		h.Comm[i] = int8(comm[i])
	}
	return h
}

func sampleRecords(t testing.TB) map[string][]byte {
	exe, cwd, args, env := []byte("/usr/bin/cat"), []byte("/tmp/x"), []byte("cat\x00-n\x00/etc/hosts\x00"), []byte("HOME=/root\x00LD_PRELOAD=/x.so\x00")
	open := vigilVgOpen{Hdr: hdr(vigilVgTypeVG_OPEN, "cat"), Ret: -2, Oflags: 0x241, Mode: 0o644, Dfd: -100, RawLen: 5, BaseLen: 4, Syscall: 2}
	conn := vigilVgConnect{Hdr: hdr(vigilVgTypeVG_CONNECT, "curl"), Ret: -111, Fd: 3, Family: 10, SockType: 1, Protocol: 6, SockFamily: 10, Dport: 8080, Sport: 40000}
	conn.Daddr[15] = 1
	conn.Saddr[15] = 1
	unix := vigilVgConnect{Hdr: hdr(vigilVgTypeVG_CONNECT, "nc"), Fd: 4, Family: 1, SockType: 1, SockFamily: 1, PathLen: 9}
	unlink := vigilVgOpen{Hdr: hdr(vigilVgTypeVG_UNLINK, "rm"), Oflags: 0x200, Dfd: -100, RawLen: 3, BaseLen: 4, Syscall: 7}
	mkdir := vigilVgOpen{Hdr: hdr(vigilVgTypeVG_MKDIR, "mkdir"), Mode: 0o750, Dfd: 3, RawLen: 2, Syscall: 9}
	rename := vigilVgSys{Hdr: hdr(vigilVgTypeVG_RENAME, "mv"), Syscall: uint16(vigilVgSyscallVG_SYS_RENAMEAT2), Arg: [6]uint64{1}, Len: [5]uint16{1, 4, 2}}
	setuid := vigilVgSys{Hdr: hdr(vigilVgTypeVG_SETUID, "su"), Ret: -1, Syscall: uint16(vigilVgSyscallVG_SYS_SETRESUID),
		Arg: [6]uint64{0, 0, 0xffffffff, 0xffffffff, 1000 | 1000<<32, 1000 | 1000<<32}}
	bpfRec := vigilVgSys{Hdr: hdr(vigilVgTypeVG_BPF, "loader"), Ret: 7, Syscall: uint16(vigilVgSyscallVG_SYS_BPF), Arg: [6]uint64{5, 2}, Len: [5]uint16{16}}
	mount := vigilVgSys{Hdr: hdr(vigilVgTypeVG_MOUNT, "mount"), Syscall: uint16(vigilVgSyscallVG_SYS_MOUNT), Arg: [6]uint64{0x1000}, Len: [5]uint16{5, 0, 3, 5, 5}}
	dup := vigilVgConnect{Hdr: hdr(vigilVgTypeVG_DUP, "bash"), Ret: 0, Fd: 3, Family: 2, SockType: 1, Protocol: 6, SockFamily: 2, Dport: 4444, Sport: 50000, Syscall: uint16(vigilVgSyscallVG_SYS_DUP2)}
	copy(dup.Daddr[:], []byte{127, 0, 0, 1})
	copy(dup.Saddr[:], []byte{127, 0, 0, 1})
	dupFcntl := dup
	dupFcntl.Syscall = uint16(vigilVgSyscallVG_SYS_FCNTL)
	dupFcntl.Hdr.Flags = 0 // a socket (hdr's flags say VG_CONNECT_NOT_SOCKET)
	socket := vigilVgSys{Hdr: hdr(vigilVgTypeVG_SOCKET, "tcpdump"), Ret: 3, Syscall: uint16(vigilVgSyscallVG_SYS_SOCKET), Arg: [6]uint64{17, 3 | 0x80000, 0x300}}
	// stdin a socket to 1.2.3.4:4444, stdout a pts, stderr a pipe.
	stdio := [3]vigilVgStdio{{Ino: 9001, Mode: 0o140000, Open: 1, Family: 2, Protocol: 6, Dport: 4444, Daddr: [16]uint8{1, 2, 3, 4}},
		{Ino: 3, Rdev: 136<<20 | 2, Mode: 0o020000, Open: 1}, {Ino: 9002, Mode: 0o010000, Open: 1}}
	prctl := vigilVgSys{Hdr: hdr(vigilVgTypeVG_PRCTL, "kworker/0:1"), Syscall: uint16(vigilVgSyscallVG_SYS_PRCTL), Arg: [6]uint64{15, 0x7ffd1000}, Len: [5]uint16{11}}
	// An exec the LSM hook refused (lsm.c): flagged, no environment.
	denied := vigilVgExec{Hdr: hdr(vigilVgTypeVG_EXEC, "sh"), Ppid: 1, StartNs: 99, ExeLen: uint16(len(exe)), CwdLen: uint16(len(cwd)), ArgsLen: uint16(len(args))}
	denied.Hdr.Flags = uint16(vigilVgExecFlagsVG_EXEC_DENIED)
	return map[string][]byte{
		"exec": pack(t, vigilVgExec{Hdr: hdr(vigilVgTypeVG_EXEC, "cat"), Ppid: 1, Tty: 34816, StartNs: 99, ExeLen: uint16(len(exe)), CwdLen: uint16(len(cwd)), ArgsLen: uint16(len(args)), EnvLen: uint16(len(env)),
			Ids: vigilVgNsids{Vpid: 7, Vpgid: 6, Sid: 5}, Stdio: stdio}, exe, cwd, args, env),
		"exec_denied": pack(t, denied, exe, cwd, args),
		"rename":      pack(t, rename, []byte("a"), []byte("/tmp"), []byte("/b")),
		"setuid":      pack(t, setuid),
		"bpf":         pack(t, bpfRec, []byte("vigil_prog\x00\x00\x00\x00\x00\x00")),
		"mount":       pack(t, mount, []byte("tmpfs"), []byte("mnt"), []byte("/root"), []byte("tmpfs")),
		"dup":         pack(t, dup),
		"dup_fcntl":   pack(t, dupFcntl),
		"socket":      pack(t, socket),
		"userfaultfd": pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_USERFAULTFD, "exploit"), Ret: 4, Syscall: uint16(vigilVgSyscallVG_SYS_USERFAULTFD), Arg: [6]uint64{0x80001}}),
		"truncate":    pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_TRUNCATE, "logrotate"), Syscall: uint16(vigilVgSyscallVG_SYS_TRUNCATE), Arg: [6]uint64{4096}, Len: [5]uint16{8, 4}}, []byte("log/../x"), []byte("/var")),
		"ftruncate":   pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_TRUNCATE, "shred"), Ret: -22, Syscall: uint16(vigilVgSyscallVG_SYS_FTRUNCATE), Arg: [6]uint64{1<<64 - 1}, Len: [5]uint16{10}}, []byte("/var/log/y")),
		"chown":       pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_CHOWN, "chown"), Syscall: uint16(vigilVgSyscallVG_SYS_FCHOWNAT), Arg: [6]uint64{0, 0xffffffff, 0x100}, Len: [5]uint16{6, 4}}, []byte("shadow"), []byte("/etc")),
		"fchown":      pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_CHOWN, "install"), Ret: -1, Syscall: uint16(vigilVgSyscallVG_SYS_FCHOWN), Arg: [6]uint64{0xffffffff, 65534}, Len: [5]uint16{8}}, []byte("/usr/bin")),
		"utimensat":   pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_UTIMES, "touch"), Syscall: uint16(vigilVgSyscallVG_SYS_UTIMENSAT), Arg: [6]uint64{1e9, 5, 7, utimeOmit, 0, 0x100}, Len: [5]uint16{1, 4}}, []byte("f"), []byte("/tmp")),
		"utime":       pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_UTIMES, "touch"), Syscall: uint16(vigilVgSyscallVG_SYS_UTIME), Arg: [6]uint64{4: uint64(vigilVgUtimesHowVG_UTIMES_NULL)}, Len: [5]uint16{11}}, []byte("/etc/passwd")),
		"setxattr":    pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_XATTR, "setcap"), Syscall: uint16(vigilVgSyscallVG_SYS_FSETXATTR), Arg: [6]uint64{20, 1}, Len: [5]uint16{13, 0, 19, 0, 20}}, []byte("/usr/bin/ping"), []byte("security.capability"), capData(2, true, 1<<13)),
		"removexattr": pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_XATTR, "attr"), Ret: -61, Syscall: uint16(vigilVgSyscallVG_SYS_LREMOVEXATTR), Len: [5]uint16{1, 4, 6}}, []byte("a"), []byte("/srv"), []byte("user.x")),
		"chattr":      pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_CHATTR, "chattr"), Syscall: uint16(vigilVgSyscallVG_SYS_IOCTL), Arg: [6]uint64{0x80010, 0x40086602}, Len: [5]uint16{10}}, []byte("/etc/hosts")),
		"fssetxattr":  pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_CHATTR, "xfs_io"), Syscall: uint16(vigilVgSyscallVG_SYS_IOCTL), Arg: [6]uint64{0x80, 0x401c5820, 0x8 | 0x4}, Len: [5]uint16{6}}, []byte("/srv/f")),
		"prctl":       pack(t, prctl, []byte("kworker/0:1")),
		"process_vm":  pack(t, vigilVgSys{Hdr: hdr(vigilVgTypeVG_PROCESS_VM, "injector"), Ret: 4096, Syscall: uint16(vigilVgSyscallVG_SYS_PROCESS_VM_WRITEV), Arg: [6]uint64{5000}}),
		"fork":        pack(t, vigilVgFork{Hdr: hdr(vigilVgTypeVG_FORK, "bash"), ChildPid: 5000, ChildStartNs: 1234, ChildIds: vigilVgNsids{Vpid: 2, Vpgid: 1, Sid: 1}}),
		"exit":        pack(t, vigilVgExit{Hdr: hdr(vigilVgTypeVG_EXIT, "bash"), Status: 256}),
		"open":        pack(t, open, []byte("a/../b"[:5]), []byte("/tmp")),
		"connect":     pack(t, conn),
		"unix":        pack(t, unix, []byte("/run/x.sk")),
		"unlink":      pack(t, unlink, []byte("./d"), []byte("/tmp")),
		"mkdir":       pack(t, mkdir, []byte("m2")),
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	recs := sampleRecords(t)
	d := NewDecoder()
	var r Record

	if err := d.Decode(recs["exec"], &r); err != nil {
		t.Fatal(err)
	}
	want := Record{Type: uint8(event.TypeExec), Flags: 3, Ktime: 123456789, PID: 4242, TID: 4243, UID: 1000, GID: 1001, CgroupID: 77, Comm: "cat",
		CapEff: 1 << 21, CapPrm: 1<<21 | 1<<7, CapInh: 1 << 13, LoginUID: 1000, VPID: 7, VPGID: 6, SID: 5, PPID: 1, TTY: 34816, StartNs: 99, Exe: "/usr/bin/cat", Cwd: "/tmp/x", Argv: []string{"cat", "-n", "/etc/hosts"},
		Env: []byte("HOME=/root\x00LD_PRELOAD=/x.so\x00"),
		Stdio: [3]Stdio{{Open: true, Mode: 0o140000, Ino: 9001, Family: 2, Protocol: 6, DPort: 4444, DAddr: [16]byte{1, 2, 3, 4}},
			{Open: true, Mode: 0o020000, Ino: 3, Rdev: 136<<20 | 2}, {Open: true, Mode: 0o010000, Ino: 9002}}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("exec:\n got %+v\nwant %+v", r, want)
	}

	r = Record{}
	if err := d.Decode(recs["open"], &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != uint8(event.TypeOpen) || r.Ret != -2 || r.OFlags != 0x241 || r.Mode != 0o644 || r.Dfd != -100 || r.RawPath != "a/../" || r.Base != "/tmp" || r.Syscall != 2 || r.Comm != "cat" {
		t.Errorf("open: %+v", r)
	}

	r = Record{}
	if err := d.Decode(recs["connect"], &r); err != nil {
		t.Fatal(err)
	}
	if r.Ret != -111 || r.Fd != 3 || r.Family != 10 || r.SockType != 1 || r.Protocol != 6 || r.DPort != 8080 || r.SPort != 40000 || r.DAddr[15] != 1 || r.SAddr[15] != 1 || r.UnixPath != "" {
		t.Errorf("connect: %+v", r)
	}
	r = Record{}
	if err := d.Decode(recs["unix"], &r); err != nil || r.UnixPath != "/run/x.sk" || r.Family != 1 {
		t.Errorf("unix: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["fork"], &r); err != nil || r.ChildPID != 5000 || r.ChildStartNs != 1234 || r.Comm != "bash" || r.VPID != 2 || r.VPGID != 1 || r.SID != 1 {
		t.Errorf("fork: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["exit"], &r); err != nil || r.Status != 256 {
		t.Errorf("exit: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["rename"], &r); err != nil || r.Strs != [5]string{"a", "/tmp", "/b", "", ""} || r.Args[0] != 1 || r.Syscall != 12 || r.Comm != "mv" {
		t.Errorf("rename: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["setuid"], &r); err != nil || r.Ret != -1 || r.Args != [6]uint64{0, 0, 0xffffffff, 0xffffffff, 1000 | 1000<<32, 1000 | 1000<<32} {
		t.Errorf("setuid: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["mount"], &r); err != nil || r.Strs != [5]string{"tmpfs", "", "mnt", "/root", "tmpfs"} || r.Args[0] != 0x1000 {
		t.Errorf("mount: %v %+v", err, r)
	}
	r = Record{}
	if err := d.Decode(recs["dup"], &r); err != nil || r.Type != uint8(event.TypeDup) || r.Fd != 3 || r.DPort != 4444 || r.SPort != 50000 || r.DAddr[0] != 127 || r.Syscall != 38 {
		t.Errorf("dup: %v %+v", err, r)
	}
}

func TestDecodeRejects(t *testing.T) {
	recs := sampleRecords(t)
	d := NewDecoder()
	var r Record
	unknown := bytes.Clone(recs["exit"])
	unknown[0] = 99
	badSize := bytes.Clone(recs["exit"])
	binary.LittleEndian.PutUint32(badSize[4:], 1<<20)
	badTail := bytes.Clone(recs["exec"])
	binary.LittleEndian.PutUint16(badTail[hdrSize+20:], 60000)
	badSys := bytes.Clone(recs["mount"])
	binary.LittleEndian.PutUint16(badSys[hdrSize+58+8:], 6) // the fstype's length, one past the end
	shortFixed := bytes.Clone(recs["open"][:hdrSize+8])
	binary.LittleEndian.PutUint32(shortFixed[4:], uint32(len(shortFixed)))
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"half header", recs["exec"][:30], ErrShort},
		{"unknown type", unknown, ErrUnknownType},
		{"size beyond record", badSize, ErrBadSize},
		{"tail beyond record", badTail, ErrBadTail},
		{"sys string beyond record", badSys, ErrBadTail},
		{"fixed part cut", shortFixed, ErrShort},
	}
	for _, c := range cases {
		if err := d.Decode(c.raw, &r); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\x00", []string{"a"}},
		{"a\x00b\x00", []string{"a", "b"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"a\x00trunc", []string{"a", "trunc"}},
	}
	for _, c := range cases {
		if got := splitArgs([]byte(c.in), nil); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The seed corpus lives in testdata/fuzz/FuzzDecode; -update rewrites it
// from sampleRecords.
func TestWriteSeedCorpus(t *testing.T) {
	if !*update {
		return
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, raw := range sampleRecords(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r Record
		if err := d.Decode(raw, &r); err != nil {
			return
		}
		tail := len(r.Exe) + len(r.Cwd) + len(r.RawPath) + len(r.Base) + len(r.UnixPath) + len(r.Env)
		for _, s := range r.Strs {
			tail += len(s)
		}
		if tail > len(raw) {
			t.Fatalf("decoded %d bytes of strings from a %d byte record", tail, len(raw))
		}
		if event.Type(r.Type).Info().Name == "" {
			t.Fatalf("accepted type %d", r.Type)
		}
	})
}

func BenchmarkDecodeOpen(b *testing.B) {
	raw := sampleRecords(b)["open"]
	d := NewDecoder()
	var r Record
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(raw, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeExec(b *testing.B) {
	raw := sampleRecords(b)["exec"]
	d := NewDecoder()
	var r Record
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(raw, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// The reason the decoder is hand-written.
func BenchmarkBinaryReadOpen(b *testing.B) {
	raw := sampleRecords(b)["open"]
	var v vigilVgOpen
	b.ReportAllocs()
	for b.Loop() {
		if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// A socket record becomes the call's domain, type (flags kept) and
// protocol, named as rules name them.
func TestSocketRecord(t *testing.T) {
	procs := process.New(process.Options{})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	var d Record
	if err := r.dec.Decode(sampleRecords(t)["socket"], &d); err != nil {
		t.Fatal(err)
	}
	ev := r.handle(&d)
	if want := (event.Socket{Domain: 17, Type: 3 | 0x80000, Protocol: 0x300}); ev.Type != event.TypeSocket || ev.Socket != want || ev.Res != 3 || ev.Syscall != "socket" {
		t.Errorf("socket: type %s %+v res %d syscall %q, want %+v res 3 socket", ev.Type, ev.Socket, ev.Res, ev.Syscall, want)
	}
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " domain=AF_PACKET type=SOCK_RAW proto=768") {
		t.Errorf("text: %s", got)
	}
}

func TestUserfaultfdRecord(t *testing.T) {
	procs := process.New(process.Options{})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	var d Record
	if err := r.dec.Decode(sampleRecords(t)["userfaultfd"], &d); err != nil {
		t.Fatal(err)
	}
	ev := r.handle(&d)
	if ev.Type != event.TypeUserfaultfd || ev.Uffd.Flags != 0x80001 || ev.Res != 4 || ev.Syscall != "userfaultfd" {
		t.Errorf("userfaultfd: type %s flags %#x res %d syscall %q", ev.Type, ev.Uffd.Flags, ev.Res, ev.Syscall)
	}
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " flags=0x80001") {
		t.Errorf("text: %s", got)
	}
}

// A prctl record becomes the option (by name in rules and text), its
// second argument and, for PR_SET_NAME, the new name instead of the
// argument's address.
func TestPrctlRecord(t *testing.T) {
	procs := process.New(process.Options{})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	var d Record
	if err := r.dec.Decode(sampleRecords(t)["prctl"], &d); err != nil {
		t.Fatal(err)
	}
	ev := r.handle(&d)
	if want := (event.Prctl{Option: 15, Arg2: 0x7ffd1000, Name: "kworker/0:1"}); ev.Type != event.TypePrctl || ev.Prctl != want || ev.Res != 0 || ev.Syscall != "prctl" {
		t.Errorf("prctl: type %s %+v res %d syscall %q, want %+v res 0 prctl", ev.Type, ev.Prctl, ev.Res, ev.Syscall, want)
	}
	if f, _ := event.FieldByName("prctl.option"); f.Str(ev) != "PR_SET_NAME" {
		t.Errorf("prctl.option %q, want PR_SET_NAME", f.Str(ev))
	}
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " option=PR_SET_NAME name=kworker/0:1 res=0") {
		t.Errorf("text: %s", got)
	}
	ev.Prctl = event.Prctl{Option: 4} // PR_SET_DUMPABLE, 0
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " option=PR_SET_DUMPABLE arg2=0 res=0") {
		t.Errorf("text: %s", got)
	}
}

// fcntl's F_DUPFD of a socket onto stdio is a dup event like dup2's, its
// syscall named.
func TestFcntlDupRecord(t *testing.T) {
	procs := process.New(process.Options{})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	var d Record
	if err := r.dec.Decode(sampleRecords(t)["dup_fcntl"], &d); err != nil {
		t.Fatal(err)
	}
	ev := r.handle(&d)
	if ev.Type != event.TypeDup || ev.Syscall != "fcntl" || ev.Res != 0 || ev.Net.DPort != 4444 || ev.Net.SPort != 50000 {
		t.Errorf("fcntl dup: type %s syscall %q res %d net %+v", ev.Type, ev.Syscall, ev.Res, ev.Net)
	}
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " peer=127.0.0.1:4444 local=127.0.0.1:50000 proto=tcp syscall=fcntl res=0") {
		t.Errorf("text: %s", got)
	}
}

// A process_vm record becomes the target's pid, its name and exe from the
// process table, and whether it writes (the syscall).
func TestProcessVMRecord(t *testing.T) {
	procs := process.New(process.Options{})
	procs.Exec(&event.Process{PID: 5000, Name: "sshd", Exe: "/usr/sbin/sshd"})
	clk, _ := newClock()
	r := &Reader{dec: NewDecoder(), procs: procs, users: process.NewUsers("/etc/passwd"), clock: clk, env: new(atomic.Pointer[map[string]bool])}
	var d Record
	if err := r.dec.Decode(sampleRecords(t)["process_vm"], &d); err != nil {
		t.Fatal(err)
	}
	ev := r.handle(&d)
	field := func(name string) any {
		f, _ := event.FieldByName(name)
		switch f.Kind {
		case event.KindUint:
			return f.Uint(ev)
		case event.KindBool:
			return f.Bool(ev)
		}
		return f.Str(ev)
	}
	got := []any{ev.Type, ev.Syscall, ev.Res, field("process_vm.pid"), field("process_vm.write"), field("process_vm.target_name"), field("process_vm.target_exe")}
	want := []any{event.TypeProcessVM, "process_vm_writev", int64(4096), uint64(5000), true, "sshd", "/usr/sbin/sshd"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("process_vm: type, syscall, res, pid, write, target name, exe = %v, want %v", got, want)
	}
	if got := string(event.AppendText(nil, ev)); !strings.Contains(got, " write=true target_pid=5000 target=sshd syscall=process_vm_writev res=4096") {
		t.Errorf("text: %s", got)
	}
}
