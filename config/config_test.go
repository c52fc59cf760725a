package config

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func TestConfigErrors(t *testing.T) {
	t.Setenv("VIGIL_TEST_DIR", "/var/log/vigil")
	cases := []struct{ src, want string }{
		{"sinkz: []\n", `:1:1: unknown key "sinkz" (known: rules, falco_rules, rule_matching, metrics, events, ringbuf_size, rate_limit, process_table, containers, enforcement, environment, log, sinks)`},
		{"environment:\n  collect: sometimes\n", `:2:3: environment.collect "sometimes": want auto, always or never`},
		{"environment:\n  max_bytes: 5000\n", `:2:3: environment.max_bytes 5000: want 1 to 4095`},
		{"environment:\n  value: [A]\n", `:2:3: unknown key "value" (known: collect, max_bytes, values)`},
		{"enforcement:\n  allow: [sshd]\n", `:2:3: enforcement.allow: "sshd" is not an absolute path`},
		{"enforcement:\n  audti: true\n", `:2:3: unknown key "audti" (known: audit, allow)`},
		{"containers:\n  dockr: /x.sock\n", `:2:3: unknown key "dockr" (known: enabled, containerd, cri, docker, podman, timeout, cache_size)`},
		{"containers:\n  timeout: -1s\n", `:2:3: containers: timeout and cache_size must not be negative`},
		{"containers:\n  timeout: soon\n", `line 2: cannot unmarshal !!str ` + "`soon`" + ` into time.Duration`},
		{"events: [exec, opne]\n", `:1:9: events: unknown event type "opne"`},
		{"ringbuf_size: 1000\n", `:1:15: ringbuf_size 1000: want a power of two of at least 4096`},
		{"log: {level: loud}\n", `:1:6: log.level "loud": want debug, info, warn or error`},
		{"metrics: {adress: x}\n", `:1:11: unknown key "adress" (known: address)`},
		{"sinks:\n  - type: stdout\n    colour: true\n", `:3:5: unknown key "colour" for a stdout sink (known: type, min_priority, rules, tags, format, queue_size)`},
		{"sinks:\n  - type: file\n    pth: /x\n", `:3:5: unknown key "pth" (known: path, type, min_priority, rules, tags, format, queue_size)`},
		{"sinks:\n  - type: kafka\n", `:2:5: sink type "kafka": want one of`},
		{"sinks:\n  - type: stdout\n    min_priority: loud\n", `:2:5: min_priority "loud": want emergency, alert, critical, error, warning, notice, informational or debug`},
		{"sinks:\n  - type: stdout\n    queue_size: many\n", `line 3: cannot unmarshal !!str ` + "`many`" + ` into int`},
		{"sinks: stdout\n", `:1:8: sinks: want a list of sinks`},
		{"sinks:\n  - type: webhook\n    url: http://x\n    format: text\n", `:2:5: format "text": a webhook sink sends the alert's JSON (omit format)`},
		{"sinks:\n  - type: syslog\n    format: json\n", `:2:5: format "json": a syslog sink writes rfc5424 or rfc3164`},
		{"sinks:\n  - type: nats\n    url: nats://x:4222\n    tls: {cafile: x}\n", `:4:11: unknown key "cafile" (known: ca, cert, key, insecure_skip_verify)`},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "vigil.yaml")
		os.WriteFile(p, []byte(c.src), 0o644)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), p) {
			t.Errorf("%q:\n got %v\nwant %s%s", c.src, err, p, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(p, []byte("sinks:\n  - type: file\n    path: ${VIGIL_TEST_DIR}/alerts.jsonl\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if fc := cfg.Sinks[0].Options.(*FileSink); fc.Path != "/var/log/vigil/alerts.jsonl" {
		t.Errorf("${ENV}: %q", fc.Path)
	}
}

// Sinks from the config get the alerts their filters accept.
func TestConfigSinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigil.yaml")
	out := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(p, []byte("sinks:\n  - type: stdout\n    format: json\n  - type: file\n    path: "+out+"\n    min_priority: error\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	fan, files, err := OpenSinks(cfg.Sinks, Opening{Stdout: &stdout, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
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

// Every sink type built from YAML delivers to a real peer.
func TestConfigAllSinkTypes(t *testing.T) {
	dir := t.TempDir()
	hits := make(chan string, 4)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits <- r.Header.Get("Authorization") + " " + string(b)
	}))
	defer web.Close()
	sock := filepath.Join(dir, "log.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	srv.ReadyForConnections(10 * time.Second)
	defer srv.Shutdown()
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("vigil.alerts.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	t.Setenv("WEBHOOK_TOKEN", "s3cret")
	p := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(p, []byte(fmt.Sprintf(`sinks:
  - type: file
    path: %s/alerts.jsonl
  - type: syslog
    network: unixgram
    address: %s
    facility: local3
  - type: webhook
    url: %s
    headers: {Authorization: "Bearer ${WEBHOOK_TOKEN}"}
  - type: nats
    url: %s
    subject: "vigil.alerts.{priority}.{rule}"
`, dir, sock, web.URL, srv.ClientURL())), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	fan, _, err := OpenSinks(cfg.Sinks, Opening{Stdout: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := event.FromFields(map[string]any{"evt.type": "open", "file.path": "/etc/shadow"})
	fan.Publish(&event.Alert{Rule: "Read shadow", Priority: "Critical", Level: 2, Source: "syscall", Hostname: "h", Action: "alert", Event: e})

	if h := <-hits; !strings.HasPrefix(h, `Bearer s3cret {"time"`) {
		t.Errorf("webhook got %q", h)
	}
	buf := make([]byte, 65536)
	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := ln.Read(buf)
	// local3 (19) * 8 + critical (2) = 154
	if err != nil || !strings.HasPrefix(string(buf[:n]), "<154>") || !strings.Contains(string(buf[:n]), `"rule":"Read shadow"`) {
		t.Errorf("syslog got %q, %v", buf[:n], err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil || m.Subject != "vigil.alerts.critical.read_shadow" {
		t.Errorf("nats: %v %v", m, err)
	}
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "alerts.jsonl")); strings.Count(string(b), "\n") != 1 {
		t.Errorf("file: %q", b)
	}
	for _, s := range fan.Stats() {
		if s.Sent != 1 || s.Failed+s.Dropped != 0 {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
}

// The environment is collected while a rule reads proc.env (auto), always
// or never; values are kept for the loader's variables unless listed.
func TestEnvOptions(t *testing.T) {
	some := []string{"A"}
	none := []string{}
	cases := []struct {
		c      Environment
		needed bool
		want   plan.Env
	}{
		{Environment{}, false, plan.Env{}},
		{Environment{}, true, plan.Env{Bytes: 4095, Values: plan.DefaultEnvValues}},
		{Environment{Collect: "never"}, true, plan.Env{}},
		{Environment{Collect: "always", MaxBytes: 512}, false, plan.Env{Bytes: 512, Values: plan.DefaultEnvValues}},
		{Environment{Collect: "auto", Values: &some}, true, plan.Env{Bytes: 4095, Values: some}},
		{Environment{Values: &none}, true, plan.Env{Bytes: 4095, Values: none}},
	}
	for i, c := range cases {
		if got := c.c.Settings().For(c.needed); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d: %+v.Settings().For(%v) = %+v, want %+v", i, c.c, c.needed, got, c.want)
		}
	}
}
