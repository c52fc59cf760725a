package soak

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of /metrics: family name -> samples.
type Metrics map[string]*dto.MetricFamily

var client = &http.Client{Timeout: 5 * time.Second}

// Scrape reads http://addr/metrics.
func Scrape(addr string) (Metrics, error) {
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	return ParseMetrics(io.LimitReader(resp.Body, 64<<20))
}

// ParseMetrics reads a Prometheus text exposition.
func ParseMetrics(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	return Metrics(fams), err
}

// Ready reports whether http://addr/readyz answers 200.
func Ready(addr string) bool {
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Has reports whether the family name was exposed.
func (m Metrics) Has(name string) bool { _, ok := m[name]; return ok }

// Sum adds the samples of name whose labels include every pair of want.
func (m Metrics) Sum(name string, want map[string]string) float64 {
	f, ok := m[name]
	if !ok {
		return 0
	}
	var total float64
	for _, s := range f.GetMetric() {
		if !labelsMatch(s.GetLabel(), want) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.Counter.GetValue()
		case s.Gauge != nil:
			total += s.Gauge.GetValue()
		case s.Untyped != nil:
			total += s.Untyped.GetValue()
		}
	}
	return total
}

func labelsMatch(have []*dto.LabelPair, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range have {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// lossFamily reports whether a family counts alerts a sink lost: the
// failed and dropped counters, and any per-reason drop or loss family
// (vigil_sink_<...>drop<...>/lost<...>_total) a later vigil adds.
func lossFamily(name string) bool {
	if !strings.HasPrefix(name, "vigil_sink_") || !strings.HasSuffix(name, "_total") {
		return false
	}
	return name == "vigil_sink_failed_total" || strings.Contains(name, "drop") || strings.Contains(name, "lost")
}

// LossFamilies are the families of m that lossFamily accepts, sorted.
func (m Metrics) LossFamilies() []string {
	var out []string
	for name := range m {
		if lossFamily(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Snapshot is what the soak keeps of one scrape.
type Snapshot struct {
	Events, Records, DecodeErrors, KernelDrops float64
	RateLimited                                float64 // vigil_kernel_rate_limited_total (a flooding process's events)
	// KernelLoss is, per marker kind, the drops and rate-limited events
	// of its event type.
	KernelLoss             map[Kind]float64
	ReloadOK, ReloadFailed float64
	Alerts                 float64
	MarkerAlerts           float64 // of the marker rules
	// SinkLoss is, per sink and loss family, the count.
	SinkLoss map[string]map[string]float64
	// SinkSent, SinkQueued, SinkSpooled per sink.
	SinkSent, SinkQueued, SinkSpooled map[string]float64
	Missing                           []string // expected families not exposed
}

// Snap reads the soak's numbers out of m.
func Snap(m Metrics) Snapshot {
	s := Snapshot{
		Events:       m.Sum("vigil_events_total", nil),
		Records:      m.Sum("vigil_records_total", nil),
		DecodeErrors: m.Sum("vigil_decode_errors_total", nil),
		KernelDrops:  m.Sum("vigil_kernel_drops_total", nil),
		RateLimited:  m.Sum("vigil_kernel_rate_limited_total", nil),
		ReloadOK:     m.Sum("vigil_reloads_total", map[string]string{"result": "success"}),
		ReloadFailed: m.Sum("vigil_reloads_total", map[string]string{"result": "failure"}),
		Alerts:       m.Sum("vigil_alerts_total", nil),
		MarkerAlerts: markerAlerts(m),
		SinkLoss:     map[string]map[string]float64{},
		KernelLoss:   map[Kind]float64{},
		SinkSent:     map[string]float64{},
		SinkQueued:   map[string]float64{},
		SinkSpooled:  map[string]float64{},
	}
	for _, name := range []string{"vigil_events_total", "vigil_kernel_drops_total", "vigil_kernel_rate_limited_total", "vigil_reloads_total", "vigil_sink_sent_total", "vigil_sink_failed_total", "vigil_sink_dropped_total", "vigil_sink_spooled", "vigil_sink_queue_depth"} {
		if !m.Has(name) {
			s.Missing = append(s.Missing, name)
		}
	}
	for _, k := range Kinds {
		typ := map[string]string{"type": string(k)}
		s.KernelLoss[k] = m.Sum("vigil_kernel_drops_total", typ) + m.Sum("vigil_kernel_rate_limited_total", typ)
	}
	for _, sink := range []string{FileSink, WebhookSink, NATSSink} {
		want := map[string]string{"sink": sink}
		s.SinkSent[sink] = m.Sum("vigil_sink_sent_total", want)
		s.SinkQueued[sink] = m.Sum("vigil_sink_queue_depth", want)
		s.SinkSpooled[sink] = m.Sum("vigil_sink_spooled", want)
		s.SinkLoss[sink] = map[string]float64{}
		for _, fam := range m.LossFamilies() {
			s.SinkLoss[sink][fam] = m.Sum(fam, want)
		}
	}
	return s
}

func markerAlerts(m Metrics) float64 {
	var n float64
	for _, rule := range markerRule {
		n += m.Sum("vigil_alerts_total", map[string]string{"rule": rule})
	}
	return n
}
