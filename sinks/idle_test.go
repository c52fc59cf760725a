package sinks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/webhook"
)

// Alerts spooled while a webhook endpoint was failing go out once it
// recovers, even if no further alert comes to trigger a send.
func TestIdleReplaysSpool(t *testing.T) {
	var healthy atomic.Bool
	got := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- struct{}{}
	}))
	defer srv.Close()
	retries := 0
	s, err := webhook.New(webhook.Config{URL: srv.URL, Retries: &retries, Backoff: 10 * time.Millisecond,
		Spool: webhook.SpoolConfig{Dir: t.TempDir(), MaxBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	f := sinks.NewFanout(quiet, sinks.Output{Name: "webhook", Sink: s, Filter: sinks.Filter{MinLevel: 7}})
	defer f.Close(context.Background())
	for range 3 {
		f.Publish(alert("r", 1))
	}
	for deadline := time.Now().Add(10 * time.Second); f.Stats()[0].Spooled != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alerts not spooled: %+v", f.Stats()[0])
		}
	}
	healthy.Store(true) // the endpoint is back; no new alert is published
	for i := range 3 {
		select {
		case <-got:
		case <-time.After(15 * time.Second):
			t.Fatalf("only %d of 3 spooled alerts replayed while idle: %+v", i, f.Stats()[0])
		}
	}
}
