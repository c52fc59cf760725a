package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

func TestConfigErrors(t *testing.T) {
	t.Setenv("VIGIL_TEST_DIR", "/var/log/vigil")
	cases := []struct{ src, want string }{
		{"sinkz: []\n", `:1:1: unknown key "sinkz" (known: sinks)`},
		{"sinks:\n  - type: stdout\n    colour: true\n", `:3:5: unknown key "colour" for a stdout sink (known: type, min_priority, rules, tags, format, queue_size)`},
		{"sinks:\n  - type: file\n    pth: /x\n", `:3:5: unknown key "pth" (known: path, type, min_priority, rules, tags, format, queue_size)`},
		{"sinks:\n  - type: kafka\n", `:2:5: sink type "kafka": want one of`},
		{"sinks:\n  - type: stdout\n    min_priority: loud\n", `:2:5: min_priority "loud": want emergency, alert, critical, error, warning, notice, informational or debug`},
		{"sinks:\n  - type: stdout\n    queue_size: many\n", `line 3: cannot unmarshal !!str ` + "`many`" + ` into int`},
		{"sinks: stdout\n", `:1:8: sinks: want a list of sinks`},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "vigil.yaml")
		os.WriteFile(p, []byte(c.src), 0o644)
		_, err := loadConfig(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), p) {
			t.Errorf("%q:\n got %v\nwant %s%s", c.src, err, p, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(p, []byte("sinks:\n  - type: file\n    path: ${VIGIL_TEST_DIR}/alerts.jsonl\n"), 0o644)
	cfg, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	var fc fileSinkConfig
	cfg.Sinks[0].node.Decode(&fc)
	if fc.Path != "/var/log/vigil/alerts.jsonl" {
		t.Errorf("${ENV}: %q", fc.Path)
	}
}

// Sinks from the config get the alerts their filters accept.
func TestConfigSinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigil.yaml")
	out := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(p, []byte("sinks:\n  - type: stdout\n    format: json\n  - type: file\n    path: "+out+"\n    min_priority: error\n"), 0o644)
	cfg, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	fan, files, err := buildSinks(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, p, &stdout)
	if err != nil || len(files) != 1 {
		t.Fatalf("%v, %d files", err, len(files))
	}
	e, _ := event.FromFields(map[string]any{"evt.type": "open"})
	fan.Publish(&event.Alert{Rule: "warn", Priority: "Warning", Level: 4, Event: e})
	fan.Publish(&event.Alert{Rule: "crit", Priority: "Critical", Level: 2, Event: e})
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Errorf("stdout got %d alerts", n)
	}
	b, _ := os.ReadFile(out)
	if strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), `"rule":"crit"`) {
		t.Errorf("file sink (min error): %s", b)
	}
}
