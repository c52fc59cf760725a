// Package soak owns the soak test of `vigil run` (make soak): an hour of
// mixed load against the real daemon with rule reloads, sink outages and
// SIGKILLs, and the ledger that accounts at the end for every marker
// action the driver performed: each alert received exactly once by each
// sink, or counted as lost by vigil's own counters. scripts/soak is its
// command; docs/daemon.md ("Soak test") has the last results.
package soak
