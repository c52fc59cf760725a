// Package spool is a bounded on-disk FIFO of records (encoded alerts) that
// a network sink keeps while its endpoint is unavailable and replays, in
// order, when it returns. The webhook and NATS sinks share it.
//
// A spool is a directory of segment files, "<seq>.seg", appended in
// sequence order. Each record is framed as
//
//	state (1 byte) | length (uint32 LE) | CRC-32C of length and payload (uint32 LE) | payload
//
// where state is 'R' while the record is queued and 'P' once it was
// popped: Pop rewrites that one byte in place, so the queue's position
// survives a restart without a separate index file. A segment whose records
// are all popped is deleted, which is how delivered data leaves the disk.
//
// Open scans every segment: a record that is torn (the process died
// mid-write) or fails its checksum ends its segment; the segment is
// truncated there, the loss is counted in Stats, and no damaged record is
// ever returned.
//
// Appends reach the kernel at once (they survive a crash of the process);
// Sync makes them survive a crash of the host. Delivery is at least once: a
// record popped after a crash that lost the pop is delivered again.
//
// A Spool is not safe for concurrent use: it belongs to one sink's worker
// goroutine. A lock file keeps a second process from opening the same
// directory.
package spool
