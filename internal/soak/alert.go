package soak

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// The marker rules' names, by kind; MarkerRules writes them.
var markerRule = map[Kind]string{
	Exec:    "Soak marker exec",
	Open:    "Soak marker open",
	Connect: "Soak marker connect",
}

// markerName is the marker executable's name (its comm, at most 15 bytes).
const markerName = "soakmark"

// openPrefix starts the name of every marker file.
const openPrefix = "o"

// ConnectAddr is the loopback address whose last three bytes carry seq
// (127.0.0.0 and 127.255.255.255 are never used).
func ConnectAddr(seq uint64) netip.Addr {
	s := seq % (254 << 16)
	return netip.AddrFrom4([4]byte{127, byte(1 + s>>16), byte(s >> 8), byte(s)})
}

func connectSeq(a netip.Addr) (uint64, bool) {
	if !a.Is4() {
		return 0, false
	}
	b := a.As4()
	if b[0] != 127 || b[1] == 0 || b[1] == 255 {
		return 0, false
	}
	return uint64(b[1]-1)<<16 | uint64(b[2])<<8 | uint64(b[3]), true
}

// alertJSON is the part of a Falco JSON alert the soak reads.
type alertJSON struct {
	Rule   string         `json:"rule"`
	Fields map[string]any `json:"output_fields"`
}

// ParseAlert reads one alert (Falco JSON). A marker alert gives its key
// and ok; any other well-formed alert gives its rule and !ok; malformed
// input, or a marker alert whose field does not name a marker action, is
// an error.
func ParseAlert(b []byte) (rule string, k Key, ok bool, err error) {
	var a alertJSON
	if err := json.Unmarshal(b, &a); err != nil {
		return "", Key{}, false, fmt.Errorf("alert: %w", err)
	}
	if a.Rule == "" {
		return "", Key{}, false, fmt.Errorf("alert: no rule")
	}
	for kind, name := range markerRule {
		if a.Rule != name {
			continue
		}
		k, err := markerKey(kind, a.Fields)
		if err != nil {
			return a.Rule, Key{}, false, fmt.Errorf("alert %q: %w", a.Rule, err)
		}
		return a.Rule, k, true, nil
	}
	return a.Rule, Key{}, false, nil
}

func markerKey(kind Kind, fields map[string]any) (Key, error) {
	field := map[Kind]string{Exec: "proc.cmdline", Open: "file.path", Connect: "net.dip"}[kind]
	v, _ := fields[field].(string)
	bad := fmt.Errorf("output_fields[%q] = %q: not a marker %s", field, v, kind)
	var seq uint64
	var err error
	switch kind {
	case Exec:
		arg, found := strings.CutPrefix(v, markerName+" ")
		if !found {
			return Key{}, bad
		}
		seq, err = strconv.ParseUint(arg, 10, 64)
	case Open:
		num, found := strings.CutPrefix(path.Base(v), openPrefix)
		if !found {
			return Key{}, bad
		}
		seq, err = strconv.ParseUint(num, 10, 64)
	case Connect:
		var a netip.Addr
		if a, err = netip.ParseAddr(v); err == nil {
			var found bool
			if seq, found = connectSeq(a); !found {
				return Key{}, bad
			}
		}
	}
	if err != nil {
		return Key{}, bad
	}
	return Key{Kind: kind, Seq: seq}, nil
}
