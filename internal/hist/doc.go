// Package hist owns the lock-free histogram of durations behind vigil's
// sampled timings (rule evaluation in engine, kernel-to-reader latency in
// bpf): one goroutine observes with a few atomic adds and no lock, and any
// other reads the counters while it does.
package hist
