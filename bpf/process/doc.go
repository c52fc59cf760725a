// Package process owns the process table: the newest immutable
// event.Process snapshot of every known process, seeded from /proc at start
// and kept current from the kernel's exec, fork and exit records, and the
// user-name lookup (Users) that enriches events.
package process
