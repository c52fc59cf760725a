package bpf

import (
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigil-project/vigil/bpf/process"
	"github.com/vigil-project/vigil/engine/event"
)

// decodeSample decodes and enriches the sample record name.
func decodeSample(t *testing.T, name string) *event.Event {
	t.Helper()
	r := &Reader{dec: NewDecoder(), procs: process.New(process.Options{}), users: process.NewUsers("/etc/passwd"), env: new(atomic.Pointer[map[string]bool])}
	r.clock, _ = newClock()
	var d Record
	if err := r.dec.Decode(sampleRecords(t)[name], &d); err != nil {
		t.Fatal(err)
	}
	return r.handle(&d)
}

// The records of the types that change a file without opening it for
// writing: their file, arguments and text keys.
func TestFileChangeRecords(t *testing.T) {
	for _, c := range []struct {
		name    string
		typ     event.Type
		syscall string
		res     int64
		file    event.File
		got     func(*event.Event) any
		want    any
		text    string
	}{
		{"truncate", event.TypeTruncate, "truncate", 0, event.File{Path: "/var/x", RawPath: "log/../x"},
			func(e *event.Event) any { return e.Trunc }, event.Truncate{Length: 4096}, "file=/var/x length=4096 res=0"},
		{"ftruncate", event.TypeTruncate, "ftruncate", -22, event.File{Path: "/var/log/y", RawPath: "/var/log/y"},
			func(e *event.Event) any { return e.Trunc }, event.Truncate{Length: -1}, "file=/var/log/y length=-1 syscall=ftruncate res=-22"},
		{"chown", event.TypeChown, "fchownat", 0, event.File{Path: "/etc/shadow", RawPath: "shadow", Flags: 0x100},
			func(e *event.Event) any { return e.Chown }, event.Chown{UID: 0, GID: -1}, "file=/etc/shadow owner=0:-1 syscall=fchownat res=0"},
		{"fchown", event.TypeChown, "fchown", -1, event.File{Path: "/usr/bin", RawPath: "/usr/bin"},
			func(e *event.Event) any { return e.Chown }, event.Chown{UID: -1, GID: 65534}, "file=/usr/bin owner=-1:65534 syscall=fchown res=-1"},
	} {
		ev := decodeSample(t, c.name)
		if ev.Type != c.typ || ev.Syscall != c.syscall || ev.Res != c.res || ev.File != c.file {
			t.Errorf("%s: type %s syscall %q res %d file %+v; want %s %q %d %+v", c.name, ev.Type, ev.Syscall, ev.Res, ev.File, c.typ, c.syscall, c.res, c.file)
		}
		if got := c.got(ev); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		// The keys after the process's.
		if _, got, _ := strings.Cut(string(event.AppendText(nil, ev)), ` exe="" `); got != c.text {
			t.Errorf("%s: text ends %q, want %q", c.name, got, c.text)
		}
	}
}
