// Package daemon is what `vigil run` does over time: start-up as a
// sequence of named steps (Run), the running rule set and its reload
// (Rules: compile, widen the kernel plan to old and new, swap, narrow;
// keep the last good set on any error), the loss watcher, the alert
// hold for container metadata, the metrics endpoint, the host lock and
// shutdown. It reaches the kernel side through the small Kernel
// interface, so that reload's invariants are tested without root.
package daemon
