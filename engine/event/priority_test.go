package event

import (
	"strings"
	"testing"
)

func TestParsePriority(t *testing.T) {
	for p := PriorityEmergency; p <= PriorityDebug; p++ {
		for _, s := range []string{p.String(), strings.ToLower(p.String()), strings.ToUpper(p.String())} {
			if got, ok := ParsePriority(s); !ok || got != p {
				t.Errorf("ParsePriority(%q) = %v, %v", s, got, ok)
			}
		}
	}
	// The set rules and sinks accepted before they shared this parser:
	// the eight names and "info", in any case, and nothing else.
	for _, tc := range []struct {
		s    string
		want Priority
		ok   bool
	}{
		{"info", PriorityInformational, true},
		{"INFO", PriorityInformational, true},
		{"wArNiNg", PriorityWarning, true},
		{"warn", 0, false},
		{"err", 0, false},
		{"crit", 0, false},
		{"emerg", 0, false},
		{"", 0, false},
		{" error", 0, false},
		{"error ", 0, false},
		{"3", 0, false},
		{"ınfo", 0, false}, // dotless i
		{"İnfo", 0, false}, // dotted capital I
	} {
		if got, ok := ParsePriority(tc.s); ok != tc.ok || got != tc.want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v, %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPriorityNamesAndLevels(t *testing.T) {
	if PriorityEmergency.Level() != 0 || PriorityError.Level() != 3 || PriorityDebug.Level() != 7 {
		t.Error("levels changed: alerts and min_priority filters depend on 0 Emergency .. 7 Debug")
	}
	if PriorityWarning.String() != "Warning" || PriorityInformational.String() != "Informational" || Priority(9).String() != "Priority(9)" {
		t.Error("display names changed: Falco's JSON consumers match on them")
	}
}
