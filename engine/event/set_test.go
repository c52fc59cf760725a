package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every field of every type survives events -> replay: an event of each
// type with a distinctive value in every settable field it carries (from
// the field table, so a new field without a setter fails here) prints the
// same JSON once decoded, decodes to the same event, and each field reads
// back the value it was given.
func TestEveryFieldRoundTrip(t *testing.T) {
	for _, typ := range Types() {
		t.Run(typ.String(), func(t *testing.T) {
			values := sampleValues(t, typ)
			e, err := FromFields(values)
			if err != nil {
				t.Fatalf("FromFields(%v): %v", values, err)
			}
			first := AppendJSON(nil, e)
			back, err := DecodeJSON(first)
			if err != nil {
				t.Fatalf("decode %s: %v", first, err)
			}
			if second := AppendJSON(nil, back); !bytes.Equal(first, second) {
				t.Errorf("round trip:\n got %s\nwant %s", second, first)
			}
			if want := replayed(e); !reflect.DeepEqual(back, want) {
				t.Errorf("replayed event:\n got %+v\nwant %+v", back, want)
			}
			for name, v := range values {
				f, _ := FieldByName(name)
				if got := fieldJSON(f, back); !bytes.Equal(got, valueJSON(t, v)) && !hiddenByType(typ, name) {
					t.Errorf("%s = %s, want %s", name, got, valueJSON(t, v))
				}
			}
		})
	}
}

// replayed is e as replay gives it back: a bpf event keeps only the object
// type its command names (the other prints, and reads back, as "").
func replayed(e *Event) *Event {
	want := *e
	if want.BPF.Cmd != bpfProgLoad {
		want.BPF.ProgType = 0
	}
	if want.BPF.Cmd != bpfMapCreate {
		want.BPF.MapType = 0
	}
	return &want
}

// hiddenByType: a field the event's type carries, whose value applies
// only to another value of a sibling field, and so reads as empty.
func hiddenByType(typ Type, name string) bool {
	return typ == TypeBPF && (name == "bpf.prog_type" || name == "bpf.map_type") ||
		typ == TypePtrace && name == "ptrace.request" || // ptrace.request_num, later in the table, wins
		typ == TypePrctl && name == "prctl.option" // likewise prctl.option_num
}

// sampleValues are a non-zero value, distinct from the others of its kind,
// for every settable field of typ.
func sampleValues(t *testing.T, typ Type) map[string]any {
	values := map[string]any{}
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, f := range Fields {
		if !f.Types.Has(typ) || f.Derived != "" {
			continue
		}
		n := 1000 + i
		var v any
		switch f.Kind {
		case KindString:
			v = fmt.Sprintf("s%d", i)
			if f.Values != nil {
				v = f.Values[1+i%(len(f.Values)-1)] // not the first: often the zero value
			}
		case KindInt, KindUint:
			v = n
		case KindBool:
			v = true
		case KindTime:
			v = base.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano)
		case KindStrings:
			l := []any{fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)}
			if f.Values != nil {
				l = []any{f.Values[1], f.Values[len(f.Values)-1]}
			}
			switch f.Name { // items have a syntax
			case "container.mounts":
				l = []any{fmt.Sprintf("/a%d:/x:rw", i), fmt.Sprintf("b%d:/y:ro", i)}
			case "proc.ancestor_pids":
				l = []any{fmt.Sprint(n), fmt.Sprint(n + 1)}
			}
			v = l
		case KindIP:
			v = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		case KindMap:
			v = map[string]any{fmt.Sprintf("k%d", i): fmt.Sprintf("v%d", i)}
		default:
			t.Fatalf("%s: no sample for kind %s", f.Name, f.Kind)
		}
		values[f.Name] = v
	}
	values["evt.type"] = typ.String()
	return values
}

func fieldJSON(f *Field, e *Event) []byte {
	return appendJSONValue(nil, f, e)
}

// valueJSON is v as AppendJSON prints a field holding it.
func valueJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromFieldsEmptyDerivedNames(t *testing.T) {
	// A BPF_LINK_CREATE event prints no program or map type.
	line := []byte(`{"evt.type":"bpf","bpf.cmd":"BPF_LINK_CREATE","bpf.prog_type":"","bpf.map_type":"","bpf.name":""}`)
	e, err := DecodeJSON(line)
	if err != nil {
		t.Fatal(err)
	}
	if e.BPF.Cmd != 28 || e.BPF.ProgType != 0 || e.BPF.MapType != 0 {
		t.Errorf("bpf = %+v", e.BPF)
	}
}

// Numbers without a name (a kernel newer than the tables) read back.
func TestUnnamedConstantsRoundTrip(t *testing.T) {
	e, err := FromFields(map[string]any{"evt.type": "bpf", "bpf.cmd": "BPF_CMD_99", "proc.cap_effective": []any{"CAP_SYS_ADMIN", "CAP_63"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.BPF.Cmd != 99 || e.CapEff != 1<<21|1<<63 {
		t.Errorf("cmd %d caps %#x", e.BPF.Cmd, e.CapEff)
	}
	for _, c := range []*constNames{&capNames, &ptraceNames, &bpfCmdNames, &progTypeNames, &mapTypeNames} {
		for _, v := range []uint32{0, 16, 0x4200, 1000} {
			if back, ok := c.parse(c.name(v)); !ok || back != v {
				t.Errorf("%s: %d -> %q -> %d, %v", c.prefix, v, c.name(v), back, ok)
			}
		}
		if _, ok := c.parse(c.prefix + "012"); ok {
			t.Errorf("%s: non-canonical number accepted", c.prefix)
		}
	}
}

func TestFromFieldsErrors(t *testing.T) {
	cases := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"file.name": "x"}, "file.name is derived from file.path; set file.path instead"},
		{map[string]any{"proc.nme": "x"}, `unknown field "proc.nme"`},
		{map[string]any{"evt.type": "opne"}, `evt.type: unknown event type "opne"`},
		{map[string]any{"proc.uid": "root"}, "proc.uid: want an integer, got string"},
		{map[string]any{"net.dip": "1.2.3"}, `net.dip: ParseAddr("1.2.3"): IPv4 address too short`},
		{map[string]any{"proc.args": "a b"}, "proc.args: want a list of strings, got string"},
	}
	for _, c := range cases {
		_, err := FromFields(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("FromFields(%v) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestFromFieldsDefaults(t *testing.T) {
	e, err := FromFields(map[string]any{
		"evt.type": "exec", "proc.name": "curl", "proc.args": []any{"-s", "http://x"}, "proc.uid": 1000,
		"proc.pname": "bash", "file.path": "/tmp/a",
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Proc.Cmdline != "curl -s http://x" || strings.Join(e.Proc.Args(), " ") != "-s http://x" || e.User.UID != 1000 ||
		e.File.RawPath != "/tmp/a" || e.Parent == nil || e.Parent.Name != "bash" || e.Parent.Cmdline != "bash" {
		t.Errorf("defaults: proc=%+v user=%+v file=%+v parent=%+v", e.Proc, e.User, e.File, e.Parent)
	}
}

// The argument filters' rows say what engine/argfilter.go derives.
func TestTypesWith(t *testing.T) {
	var paths []string
	for _, typ := range TypesWith(FilterPath) {
		paths = append(paths, typ.String()+":"+typ.Info().SecondPath)
	}
	if got := strings.Join(paths, " "); got != "unlink: mkdir: rename:file.newpath link:file.target symlink:file.target chmod: truncate: chown: utimes: xattr: chattr:" {
		t.Errorf("path filter types: %s", got)
	}
	if got := len(TypesWith(FilterName)); got != len(Types())-5 {
		t.Errorf("%d types with a name filter, want all but exec, fork, exit, open, connect", got)
	}
	for _, typ := range TypesWith(FilterPath) {
		if f, ok := FieldByName(typ.Info().SecondPath); typ.Info().SecondPath != "" && (!ok || !f.Types.Has(typ)) {
			t.Errorf("%s: second path %q is not a field of the type", typ, typ.Info().SecondPath)
		}
	}
}
