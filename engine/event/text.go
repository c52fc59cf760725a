package event

import (
	"strconv"
	"time"
)

// AppendValueText appends f's value on ev as alert text shows it: strings in
// the text escape (AppendEscaped), lists and maps space separated, times
// in RFC 3339.
func AppendValueText(b []byte, f *Field, ev *Event) []byte {
	switch f.Kind {
	case KindString:
		return AppendEscaped(b, f.Str(ev))
	case KindInt:
		return strconv.AppendInt(b, f.Int(ev), 10)
	case KindUint:
		return strconv.AppendUint(b, f.Uint(ev), 10)
	case KindBool:
		return strconv.AppendBool(b, f.Bool(ev))
	case KindTime:
		return f.Time(ev).UTC().AppendFormat(b, time.RFC3339Nano)
	case KindStrings:
		for i, s := range f.Strs(ev) {
			if i > 0 {
				b = append(b, ' ')
			}
			b = AppendEscaped(b, s)
		}
		return b
	case KindIP:
		if ip := f.IP(ev); ip.IsValid() {
			return ip.AppendTo(b)
		}
	case KindMap:
		m := f.Map(ev)
		for i, k := range SortedKeys(m) {
			if i > 0 {
				b = append(b, ' ')
			}
			b = AppendEscaped(b, k)
			b = append(b, '=')
			b = AppendEscaped(b, m[k])
		}
	}
	return b
}
