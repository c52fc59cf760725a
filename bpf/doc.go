// Package bpf is vigil's kernel side: the BPF C sources (c/, include/), the
// committed bpf2go output, and the Go code that loads and attaches the
// programs, reads the ring buffer, decodes records and turns them into
// enriched event.Event values (with the process table of bpf/process and
// the container identity of bpf/cgroup). It is the only package tree that
// imports cilium/ebpf.
package bpf
