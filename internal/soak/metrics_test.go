package soak

import (
	"reflect"
	"strings"
	"testing"
)

// A scrape's numbers: loss families found by name (a per-reason family a
// later vigil adds included), families it lacks listed.
func TestSnap(t *testing.T) {
	text := `# TYPE vigil_events_total counter
vigil_events_total{type="exec"} 10
vigil_events_total{type="open"} 5
# TYPE vigil_kernel_drops_total counter
vigil_kernel_drops_total{type="open"} 2
# TYPE vigil_reloads_total counter
vigil_reloads_total{result="success"} 3
vigil_reloads_total{result="failure"} 1
# TYPE vigil_alerts_total counter
vigil_alerts_total{priority="Notice",rule="Soak marker open"} 4
vigil_alerts_total{priority="Error",rule="Write below etc"} 1
# TYPE vigil_sink_sent_total counter
vigil_sink_sent_total{sink="webhook#2"} 7
# TYPE vigil_sink_failed_total counter
vigil_sink_failed_total{sink="webhook#2"} 1
# TYPE vigil_sink_dropped_total counter
vigil_sink_dropped_total{reason="spool_full",sink="webhook#2"} 2
vigil_sink_dropped_total{reason="queue_full",sink="webhook#2"} 3
vigil_sink_dropped_total{reason="queue_full",sink="file#1"} 9
# TYPE vigil_sink_spooled gauge
vigil_sink_spooled{sink="webhook#2"} 6
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	s := Snap(m)
	if s.Events != 15 || s.KernelDrops != 2 || s.ReloadOK != 3 || s.ReloadFailed != 1 || s.Alerts != 5 || s.MarkerAlerts != 4 {
		t.Errorf("snapshot %+v", s)
	}
	wantLoss := map[string]float64{"vigil_sink_dropped_total": 5, "vigil_sink_failed_total": 1}
	if !reflect.DeepEqual(s.SinkLoss[WebhookSink], wantLoss) || s.SinkSent[WebhookSink] != 7 || s.SinkSpooled[WebhookSink] != 6 {
		t.Errorf("webhook: loss %v sent %v spooled %v", s.SinkLoss[WebhookSink], s.SinkSent[WebhookSink], s.SinkSpooled[WebhookSink])
	}
	if s.SinkLoss[FileSink]["vigil_sink_dropped_total"] != 9 {
		t.Errorf("file loss %v", s.SinkLoss[FileSink])
	}
	wantMissing := []string{"vigil_kernel_rate_limited_total", "vigil_sink_queue_depth"}
	if !reflect.DeepEqual(s.Missing, wantMissing) {
		t.Errorf("missing %v, want %v", s.Missing, wantMissing)
	}
}
