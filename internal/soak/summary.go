package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Summary is the soak's result, printed and written as JSON.
type Summary struct {
	Started, LoadEnded, Ended time.Time
	DurationSeconds           float64  `json:"duration_seconds"`
	Commit                    string   `json:"commit"`
	Modified                  bool     `json:"commit_modified"`          // built from a tree with uncommitted changes
	ModifiedFiles             []string `json:"modified_files,omitempty"` // git status at the soak's start
	Dir                       string   `json:"dir"`

	Tally
	BackgroundOps  uint64                 `json:"background_ops"`
	MarkerFailures uint64                 `json:"marker_action_failures"`
	Sinks          map[string]*SinkReport `json:"sinks"`
	Malformed      map[string]int         `json:"malformed_alerts"`
	MalformedFirst []string               `json:"malformed_first,omitempty"`

	// Alerts is vigil_alerts_total summed over the runs (at their last
	// scrape); Received is every alert each sink delivered.
	Alerts       float64          `json:"alerts_raised"`
	Received     map[string]int   `json:"alerts_received"`
	MarkerAlerts float64          `json:"marker_alerts_raised"`
	Events       float64          `json:"events"`
	Records      float64          `json:"records"`
	DecodeErrors float64          `json:"decode_errors"`
	KernelDrops  float64          `json:"kernel_drops"`
	RateLimited  float64          `json:"kernel_rate_limited"`
	KernelLoss   map[Kind]float64 `json:"kernel_loss_of_marker_types"` // drops + rate-limited, by type
	// Losses: per sink, per loss counter family, summed over runs.
	Losses         map[string]map[string]float64 `json:"sink_loss_counters"`
	MissingMetrics []string                      `json:"metrics_not_exposed,omitempty"`

	Reloads struct {
		Rewrites     int     `json:"rewrites"`
		Confirmed    int     `json:"confirmed"`
		Missed       int     `json:"missed"`
		Failed       int     `json:"failed"`
		Skipped      int     `json:"skipped"`
		VigilSuccess float64 `json:"vigil_reloads_success"`
		VigilFailure float64 `json:"vigil_reloads_failure"`
	} `json:"reloads"`
	Kills int `json:"sigkills"`
	// KilledSpooling counts, per sink, the SIGKILLs that hit vigil with
	// alerts in that sink's spool (at the scrape just before the kill).
	KilledSpooling map[string]int `json:"sigkills_with_alerts_spooled"`
	Crashes        int            `json:"crashes"`
	Webhook        *Outages       `json:"webhook_outages"`
	NATS           *Outages       `json:"nats_outages"`

	// Per SIGKILL: signal to exit, and the next start to ready; the
	// total time actions were excluded as vigil down.
	KillToExitMax float64  `json:"sigkill_to_exit_max_seconds"`
	StartReadyMax float64  `json:"start_to_ready_max_seconds"`
	DownSeconds   float64  `json:"down_seconds_total"`
	MaxRSSMiB     float64  `json:"max_rss_mib"`
	CPUSeconds    float64  `json:"cpu_seconds"`
	CPUPercent    float64  `json:"cpu_percent_of_one_core"`
	LogWarnings   int      `json:"log_warn_lines"`
	LogErrors     int      `json:"log_error_lines"`
	LogFirst      []string `json:"log_first,omitempty"`

	SlowExits []string `json:"slow_exits,omitempty"`
	Problems  []string `json:"problems"`
	OK        bool     `json:"ok"`
}

func (s *Summary) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// WriteJSON writes s, indented, to path.
func (s *Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func perKind(m map[Kind]int) string {
	var parts []string
	for _, k := range Kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Print writes the human summary.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "soak: %s of load, commit %s (modified %v), dir %s\n", time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second), s.Commit, s.Modified, s.Dir)
	fmt.Fprintf(w, "marker actions performed: %s\n", perKind(s.Performed))
	fmt.Fprintf(w, "  counted (vigil up):     %s\n", perKind(s.Counted))
	fmt.Fprintf(w, "  excluded, vigil down:   %s\n", perKind(s.Down))
	fmt.Fprintf(w, "  excluded, in flight at SIGKILL: %s\n", perKind(s.InFlight))
	fmt.Fprintf(w, "  excluded, the action failed: %s\n", perKind(s.Failed))
	fmt.Fprintf(w, "marker actions that failed: %d; background operations: %d\n", s.MarkerFailures, s.BackgroundOps)
	sinks := make([]string, 0, len(s.Sinks))
	for name := range s.Sinks {
		sinks = append(sinks, name)
	}
	sort.Strings(sinks)
	for _, name := range sinks {
		r := s.Sinks[name]
		fmt.Fprintf(w, "%-10s exactly once %d, missing %d %v, duplicates %d, unknown %d, counted loss %.0f, unaccounted %d; other alerts %d; in-flight received %d, down-window received %d, failed-action received %d\n",
			name, r.Exact, r.Missing, r.MissingByKind, r.Duplicates, r.Unknown, r.CountedLoss, r.Unaccounted, r.OtherAlerts, r.InFlightReceived, r.DownReceived, r.FailedReceived)
	}
	fmt.Fprintf(w, "alerts raised (vigil_alerts_total, last scrape of each run) %.0f, of the marker rules %.0f; received %v\n", s.Alerts, s.MarkerAlerts, s.Received)
	fmt.Fprintf(w, "events %.0f, records %.0f, kernel drops %.0f, rate-limited %.0f, decode errors %.0f\n", s.Events, s.Records, s.KernelDrops, s.RateLimited, s.DecodeErrors)
	fmt.Fprintf(w, "kernel losses of the marker types: %v; sink loss counters: %v\n", s.KernelLoss, s.Losses)
	if len(s.MissingMetrics) > 0 {
		fmt.Fprintf(w, "metrics not exposed: %s\n", strings.Join(s.MissingMetrics, ", "))
	}
	r := s.Reloads
	fmt.Fprintf(w, "reloads: %d rewrites, %d confirmed, %d missed, %d failed, %d skipped; vigil_reloads_total success %.0f failure %.0f\n", r.Rewrites, r.Confirmed, r.Missed, r.Failed, r.Skipped, r.VigilSuccess, r.VigilFailure)
	fmt.Fprintf(w, "SIGKILLs %d, crashes %d; webhook outages %d (%.0f s), NATS outages %d (%.0f s)\n", s.Kills, s.Crashes, s.Webhook.Count, s.Webhook.Seconds, s.NATS.Count, s.NATS.Seconds)
	fmt.Fprintf(w, "SIGKILLs with alerts in a spool: %v\n", s.KilledSpooling)
	fmt.Fprintf(w, "SIGKILL to exit at most %.1f s, start to ready at most %.1f s, %.0f s down in all\n", s.KillToExitMax, s.StartReadyMax, s.DownSeconds)
	fmt.Fprintf(w, "vigil max RSS %.1f MiB, CPU %.1f s (%.1f%% of one core); log: %d WARN, %d ERROR lines\n", s.MaxRSSMiB, s.CPUSeconds, s.CPUPercent, s.LogWarnings, s.LogErrors)
	for _, p := range s.LogFirst {
		fmt.Fprintf(w, "  log: %s\n", p)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
	if s.OK {
		fmt.Fprintln(w, "soak: ok, every marker alert accounted for")
	} else {
		fmt.Fprintf(w, "soak: FAILED, %d problems\n", len(s.Problems))
	}
}

func sumKinds(m map[Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
