package event

import (
	"fmt"
	"strings"
)

// Priority is a rule's, and so an alert's, severity: Falco's syslog-like
// levels, lower is more severe. Its value is the level (Alert.Level, the
// syslog severity), so rule files, min_priority filters and sinks agree.
type Priority int

// Priorities, most severe first.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

// priorityNames are Falco's spellings, which alerts carry and its JSON
// consumers match on.
var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns the display name (Alert.Priority): Falco's spelling.
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// Level returns the numeric level (Alert.Level): 0 Emergency to 7 Debug.
func (p Priority) Level() int { return int(p) }

// ParsePriority parses a priority name in any case; "info" is accepted
// for Informational, as Falco does. Nothing else is: no trimming, no
// other abbreviations, no numbers.
func ParsePriority(s string) (Priority, bool) {
	if strings.EqualFold(s, "info") {
		return PriorityInformational, true
	}
	for p, name := range priorityNames {
		if strings.EqualFold(s, name) {
			return Priority(p), true
		}
	}
	return 0, false
}

// PriorityNames lists what ParsePriority takes, for error messages.
const PriorityNames = "emergency, alert, critical, error, warning, notice, informational or debug"
