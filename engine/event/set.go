package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// FromFields builds an event from field values, as rule tests give them:
// strings, numbers, booleans, timestamps (RFC 3339 strings) and lists of
// strings, keyed by field name. Derived fields (file.name, file.read, ...)
// cannot be given; set the field they derive from. Fields not given take
// their row's Default: proc.cmdline, file.rawpath and user.uid what the
// other fields imply, ids -1 (unset) rather than root.
func FromFields(values map[string]any) (*Event, error) {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors
	for _, name := range names {
		f, ok := FieldByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown field %q", name)
		}
		if f.Derived != "" {
			return nil, fmt.Errorf("%s is derived from %s; set %s instead", name, f.Derived, f.Derived)
		}
	}
	e := &Event{Proc: &Process{}}
	for i := range Fields {
		f := &Fields[i]
		if v, ok := values[f.Name]; ok {
			if err := set(e, f, v); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	}
	for i := range Fields {
		f := &Fields[i]
		if _, ok := values[f.Name]; !ok && f.Default != nil {
			f.Default(e)
		}
	}
	return e, nil
}

// DecodeJSON reads one event as `vigil events --format json` prints it.
// Derived fields are recomputed rather than read.
func DecodeJSON(line []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if err := unescapeValues(m); err != nil {
		return nil, err
	}
	for _, f := range Fields {
		if f.Derived != "" {
			delete(m, f.Name)
		}
	}
	// Zero values of the other event types' fields are not printed, and
	// null times come from zero times.
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return FromFields(m)
}

// set converts v to f's kind and stores it with f's setter.
func set(e *Event, f *Field, v any) error {
	if !f.settable() {
		return fmt.Errorf("cannot be set")
	}
	switch f.Kind {
	case KindString:
		s, err := toString(v)
		if err != nil {
			return err
		}
		return f.SetStr(e, s)
	case KindInt, KindUint:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		return f.SetInt(e, n)
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want a boolean, got %T", v)
		}
		f.SetBool(e, b)
	case KindTime:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		f.SetTime(e, t)
	case KindStrings:
		l, err := toStrings(v)
		if err != nil {
			return err
		}
		return f.SetStrs(e, l)
	case KindMap:
		m, err := toMap(v)
		if err != nil {
			return err
		}
		f.SetMap(e, m)
	case KindIP:
		ip, err := toIP(v)
		if err != nil {
			return err
		}
		f.SetIP(e, ip)
	}
	return nil
}

// settable reports whether f has the setter of its kind.
func (f *Field) settable() bool {
	switch f.Kind {
	case KindString:
		return f.SetStr != nil
	case KindInt, KindUint:
		return f.SetInt != nil
	case KindBool:
		return f.SetBool != nil
	case KindTime:
		return f.SetTime != nil
	case KindStrings:
		return f.SetStrs != nil
	case KindIP:
		return f.SetIP != nil
	case KindMap:
		return f.SetMap != nil
	}
	return false
}

// setU32 stores n in dst and the copies, when it fits.
func setU32(dst *uint32, n int64, copies ...*uint32) error {
	if n < 0 || n > math.MaxUint32 {
		return fmt.Errorf("%d out of range", n)
	}
	*dst = uint32(n)
	for _, c := range copies {
		*c = uint32(n)
	}
	return nil
}

func setPort(dst *uint16, n int64) error {
	if n < 0 || n > math.MaxUint16 {
		return fmt.Errorf("port %d out of range", n)
	}
	*dst = uint16(n)
	return nil
}

func setU64(dst *uint64, n int64) error {
	if n < 0 {
		return fmt.Errorf("%d out of range", n)
	}
	*dst = uint64(n)
	return nil
}

func toString(v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case json.Number:
		return s.String(), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func toInt(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d out of range", n)
		}
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("want an integer, got %v", n)
		}
		return int64(n), nil
	case json.Number:
		return strconv.ParseInt(n.String(), 10, 64)
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

func toTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time, got %T", v)
}

func toStrings(v any) ([]string, error) {
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			s, err := toString(x)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

func toMap(v any) (map[string]string, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object of strings, got %T", v)
	}
	m := make(map[string]string, len(obj))
	for k, x := range obj {
		s, err := toString(x)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		m[k] = s
	}
	return m, nil
}

// toIP reads an address; "" is no address (an unbound socket's).
func toIP(v any) (netip.Addr, error) {
	s, err := toString(v)
	if err != nil || s == "" {
		return netip.Addr{}, err
	}
	return netip.ParseAddr(s)
}
