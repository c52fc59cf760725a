// Package cgroup owns container identity derived from cgroups: it parses the
// cgroup paths that container runtimes create into an event.Container,
// picks the cgroup hierarchy whose ids the kernel side should report
// (Detect), and maps those ids back to paths (Resolver). It uses only the
// standard library and the files the kernel exposes; runtime metadata
// (names, images, pods) is looked up elsewhere.
package cgroup
