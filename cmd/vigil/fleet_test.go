package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// The fleet path end to end: `vigil run --config` publishes the alert a
// real behaviour raised to a real NATS server, on the templated subject,
// and `vigil alerts tail` prints it.
func TestRunToNATSAndTail(t *testing.T) {
	needRoot(t)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	url := srv.ClientURL()

	// The tail first, so it is subscribed before the alert is published.
	tailOut, tailW := io.Pipe()
	tailCtx, stopTail := context.WithCancel(context.Background())
	var tailErr syncBuffer
	tailDone := make(chan int, 1)
	go func() {
		tailDone <- run(tailCtx, []string{"alerts", "tail", "--nats", url, "--format", "json", "--min-priority", "warning"}, tailW, &tailErr)
		tailW.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		buf := make([]byte, 1<<20)
		var acc string
		for {
			n, err := tailOut.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the subscription reach the server (a readiness wait, not an assertion)

	dir, _ := filepath.EvalSymlinks(t.TempDir())
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("sinks:\n  - type: nats\n    url: %s\n    subject: \"vigil.alerts.{priority}.{rule}\"\n", url)), 0o644)
	alerts := startRun(t, "--config", cfg)
	_ = alerts // stdout is not a sink here: the config names only NATS

	nginx := filepath.Join(dir, "nginx")
	copyExe(t, "/bin/cat", nginx)
	cmd := exec.Command(nginx, "/etc/shadow")
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("tail ended: %s", tailErr.String())
			}
			var a map[string]any
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatalf("tail printed %q", l)
			}
			ev, _ := a["event"].(map[string]any)
			if a["rule"] == "Read sensitive file by untrusted program" && ev["proc.pid"] == float64(cmd.Process.Pid) {
				stopTail()
				if code := <-tailDone; code != 0 {
					t.Errorf("tail exit %d: %s", code, tailErr.String())
				}
				return
			}
		case <-deadline:
			t.Fatalf("the alert did not reach alerts tail; tail stderr: %s", tailErr.String())
		}
	}
}
