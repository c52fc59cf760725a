// Package event holds the plain types that flow from the kernel side (bpf)
// through the rule engine to the sinks: Event, Process and the field table
// that names every field rule authors can use. It imports only the standard
// library so that every other package can depend on it.
package event
