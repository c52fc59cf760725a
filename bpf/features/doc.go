// Package features owns the answer to "can vigil run on this kernel, and with
// which hooks?".
//
// [Probe] asks the running kernel directly, by creating a map or by loading a
// tiny program and attaching it, then closing everything it made. Version
// numbers are never trusted on their own: distribution and platform kernels
// backport, disable and restrict BPF features independently of their release.
// The resulting [Report] is what `vigil check` prints and what the loader
// consults so that it fails with an error naming the missing feature instead
// of a bare errno from deep inside a program load.
//
// The package also owns mounting the pseudo filesystems those probes and the
// loader depend on (tracefs for tracepoint ids, securityfs for the active LSM
// list): see [EnsureFS].
package features
