package soak

import (
	"fmt"
	"os"
	"path/filepath"
)

// Layout is the soak's working directory.
type Layout struct {
	Dir string
}

func (l Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

// RulesDir holds the marker rules and the file rewritten every minute.
func (l Layout) RulesDir() string { return l.path("rules.d") }

// MarkDir is where the marker files are opened.
func (l Layout) MarkDir() string { return l.path("mark") }

// MarkerBin is the marker executable (a copy of /bin/true).
func (l Layout) MarkerBin() string { return l.path("bin", markerName) }

// AlertsFile is the file sink's output.
func (l Layout) AlertsFile() string { return l.path("alerts.jsonl") }

// ReloadFile is the rules file rewritten every minute.
func (l Layout) ReloadFile() string { return filepath.Join(l.RulesDir(), "20-reload.yaml") }

// Ports are the local endpoints the config names.
type Ports struct {
	Metrics, Webhook, NATS, Connect int
}

// The sinks' names as vigil reports them in metrics (type#position).
const (
	FileSink    = "file#1"
	WebhookSink = "webhook#2"
	NATSSink    = "nats#3"
)

// Stream is the JetStream stream the nats sink creates and the soak reads.
const Stream = "SOAK"

// WriteConfig writes vigil.yaml, the marker rules and the first reload
// file, and returns the config's path. The built-in rules are loaded and
// judged, but the sinks deliver only the soak's alerts (tag soak): the
// alerts other work on a shared host raises (a flood test of another
// session) would fill the queues and blur the account.
func (l Layout) WriteConfig(p Ports) (string, error) {
	for _, d := range []string{l.RulesDir(), l.MarkDir(), l.path("bin"), l.path("spool")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	cfg := fmt.Sprintf(`rules: [builtin, %q]
sinks:
  - type: file
    path: %q
    format: json
    tags: [soak]
  - type: webhook
    tags: [soak]
    url: "http://127.0.0.1:%d/alerts"
    timeout: 2s
    retries: 2
    backoff: 100ms
    spool: {dir: %q, max_bytes: 268435456}
  - type: nats
    tags: [soak]
    url: "nats://127.0.0.1:%d"
    jetstream: true
    stream: %s
    ack_timeout: 2s
    spool: {dir: %q, max_bytes: 268435456}
metrics: {address: "127.0.0.1:%d"}
log: {level: info}
`, l.RulesDir(), l.AlertsFile(), p.Webhook, l.path("spool", "webhook"), p.NATS, Stream, l.path("spool", "nats"), p.Metrics)
	path := l.path("vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(l.RulesDir(), "10-markers.yaml"), []byte(l.markerRules(p.Connect)), 0o644); err != nil {
		return "", err
	}
	return path, l.WriteReload(0)
}

func (l Layout) markerRules(port int) string {
	return fmt.Sprintf(`- rule: %s
  desc: The soak driver ran its marker executable.
  condition: evt.type == "exec" && proc.name == %q
  output: soak exec %%proc.cmdline
  priority: notice
  tags: [soak]
- rule: %s
  desc: The soak driver created a marker file.
  condition: evt.type == "open" && file.dir == %q
  output: soak open %%file.path
  priority: notice
  tags: [soak]
- rule: %s
  desc: The soak driver connected to its marker port.
  condition: evt.type == "connect" && net.dport == %d
  output: soak connect %%net.dip
  priority: notice
  tags: [soak]
`, markerRule[Exec], markerName, markerRule[Open], l.MarkDir(), markerRule[Connect], port)
}

// WriteReload replaces the reload file (write, then rename, as editors
// do) with generation n: a rule that never matches, on a path of its own,
// so every reload changes the kernel plan's path filters.
func (l Layout) WriteReload(n int) error {
	body := fmt.Sprintf(`- rule: Soak reload %d
  desc: Rewritten by the soak driver every minute; never matches.
  condition: evt.type == "open" && file.path == %q
  output: soak reload %%file.path
  priority: debug
  tags: [soak]
`, n, l.path("never", fmt.Sprintf("g%d", n)))
	tmp := l.ReloadFile() + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.ReloadFile())
}
