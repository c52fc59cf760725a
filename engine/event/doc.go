// Package event holds the plain types that flow from the kernel side (bpf)
// through the rule engine to the sinks: Event, Process, Alert, and the two
// tables everything else reads: the field table (fields.go: one row per
// field rule authors can use, with its getter and its setter or what it
// derives from) and the event-type table (types.go: one row per type, with
// its C tag, record layout, syscalls, kernel argument filters and text
// format keys). It imports only the standard library so that every other
// package can depend on it.
package event
