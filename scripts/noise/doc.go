// Command noise is the helper of scripts/noise-check.sh: it writes the
// busybox image the workload runs under containerd, and it judges the
// alerts `vigil run --format json` raised during the workload. Only
// alerts the workload caused count (its process tree, its session, its
// containers), so other activity on the host never fails the check.
//
//	noise image PATH REF
//	noise judge -pid PID [-containers FILE] [-allow 'RULE|REASON']... ALERTS.jsonl
package main
