// Package sinks delivers alerts: the Sink interface every destination
// implements, and the fan-out that gives each sink its own bounded queue
// and worker, so a slow or dead sink never slows the event path or the
// other sinks. Each destination is a sub-package (stdout and file, syslog,
// webhook, nats); only sinks/nats imports nats.go.
package sinks
