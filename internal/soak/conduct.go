package soak

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"syscall"
	"time"
)

// conductor runs the schedule: samples every 5 s, a reload every
// ReloadEvery, a SIGKILL and restart every KillEvery; it notices a daemon
// that died on its own.
type conductor struct {
	o      *Options
	v      *Vigil
	ledger *Ledger
	lay    Layout
	sum    *Summary
	log    *slog.Logger
	gen    int
}

func (c *conductor) conduct(deadline time.Time) {
	start := time.Now()
	nextReload := start.Add(c.o.ReloadEvery)
	// Kills fall between reloads, not on them.
	nextKill := start.Add(c.o.KillEvery + c.o.ReloadEvery/2)
	nextSample := start
	for now := time.Now(); now.Before(deadline); now = time.Now() {
		if err, exited := c.v.Exited(); exited {
			c.sum.problem("vigil exited on its own (%v); log %s", err, c.v.Current().Log)
			c.sum.Crashes++
			c.ledger.Down(c.v.Current().Started, false) // nothing of this run is trusted
			c.v.end(syscall.SIGKILL, "exited on its own", time.Second)
			c.restart()
		}
		switch {
		case !now.Before(nextKill):
			c.kill()
			nextKill = nextKill.Add(c.o.KillEvery)
		case !now.Before(nextReload):
			c.reload()
			nextReload = nextReload.Add(c.o.ReloadEvery)
		case !now.Before(nextSample):
			if err := c.v.Sample(); err != nil {
				c.log.Warn("sample", "err", err)
			}
			nextSample = now.Add(5 * time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *conductor) restart() {
	for {
		r, err := c.v.Start(time.Minute)
		if err == nil {
			c.ledger.Up(r.Ready)
			c.log.Info("vigil ready", "pid", r.Pid, "after", r.Ready.Sub(r.Started).Round(time.Millisecond))
			return
		}
		c.sum.problem("restart: %v", err)
		c.v.end(syscall.SIGKILL, "SIGKILL: not ready", time.Second)
		time.Sleep(time.Second)
	}
}

func (c *conductor) kill() {
	c.ledger.Down(time.Now(), true)
	c.log.Info("SIGKILL", "pid", c.v.Current().Pid)
	if err := c.v.Kill(); err != nil {
		c.sum.problem("kill: %v", err)
	}
	r := c.v.Current()
	c.log.Info("vigil killed", "exit_after", r.Ended.Sub(r.Signalled).Round(time.Millisecond))
	if r.SlowExit != "" {
		c.sum.SlowExits = append(c.sum.SlowExits, fmt.Sprintf("pid %d, %.1f s after SIGKILL; kernel stack 1 s after: %s", r.Pid, r.Ended.Sub(r.Signalled).Seconds(), r.SlowExit))
	}
	c.sum.Kills++
	time.Sleep(time.Second)
	c.restart()
}

// reload rewrites the reload file and waits for vigil_reloads_total to
// say the daemon reloaded successfully.
func (c *conductor) reload() {
	m, err := Scrape(c.v.Metrics)
	if err != nil {
		c.sum.Reloads.Skipped++
		return
	}
	before := Snap(m)
	c.gen++
	if err := c.lay.WriteReload(c.gen); err != nil {
		c.sum.problem("write reload file: %v", err)
		return
	}
	c.sum.Reloads.Rewrites++
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		m, err := Scrape(c.v.Metrics)
		if err != nil {
			continue
		}
		s := Snap(m)
		if s.ReloadFailed > before.ReloadFailed {
			c.sum.Reloads.Failed++
			c.sum.problem("reload %d failed (vigil_reloads_total{result=\"failure\"}); log %s", c.gen, c.v.Current().Log)
			return
		}
		if s.ReloadOK > before.ReloadOK {
			c.sum.Reloads.Confirmed++
			return
		}
	}
	c.sum.Reloads.Missed++
	c.sum.problem("reload %d: vigil_reloads_total{result=\"success\"} did not move within 30 s", c.gen)
}

// settle waits until the sinks have nothing queued or spooled and the
// counts stop moving for 10 s (at most 5 minutes).
func (c *conductor) settle(rec *Recorder) {
	deadline := time.Now().Add(5 * time.Minute)
	var last string
	stable := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if err := c.v.Sample(); err != nil {
			continue
		}
		s := c.v.Current().Last
		pending := 0.0
		for _, sink := range []string{FileSink, WebhookSink, NATSSink} {
			pending += s.SinkQueued[sink] + s.SinkSpooled[sink]
		}
		state := fmt.Sprint(rec.Inbox.Count(), s.SinkSent, pending)
		if state != last || pending > 0 {
			last, stable = state, time.Now()
			continue
		}
		if time.Since(stable) >= 10*time.Second {
			return
		}
	}
	c.sum.problem("sinks did not settle within 5 minutes of the load's end")
}

// finish reads what every sink received and accounts for it.
func (c *conductor) finish(load *Load, rec *Recorder, bus *Bus) error {
	s := c.sum
	s.Ended = time.Now().UTC()
	s.DurationSeconds = s.LoadEnded.Sub(s.Started).Seconds()
	inboxes := map[string]*Inbox{WebhookSink: rec.Inbox}
	file, err := ReadFileSink(c.lay.AlertsFile())
	if err != nil {
		return err
	}
	inboxes[FileSink] = file
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nb, err := bus.Read(ctx)
	if err != nil {
		s.problem("read NATS stream: %v", err)
	}
	if nb != nil {
		inboxes[NATSSink] = nb
	}

	loss := map[string]float64{}
	s.Losses = map[string]map[string]float64{}
	s.KilledSpooling = map[string]int{}
	s.KernelLoss = map[Kind]float64{}
	missingFam := map[string]bool{}
	var upSeconds float64
	for _, r := range c.v.Runs {
		if !r.Scraped {
			continue
		}
		l := r.Last
		s.Events += l.Events
		s.Alerts += l.Alerts
		s.MarkerAlerts += l.MarkerAlerts
		s.Records += l.Records
		s.DecodeErrors += l.DecodeErrors
		s.KernelDrops += l.KernelDrops
		s.RateLimited += l.RateLimited
		for k, n := range l.KernelLoss {
			s.KernelLoss[k] += n
		}
		s.Reloads.VigilSuccess += l.ReloadOK
		s.Reloads.VigilFailure += l.ReloadFailed
		for sink, fams := range l.SinkLoss {
			if s.Losses[sink] == nil {
				s.Losses[sink] = map[string]float64{}
			}
			for fam, n := range fams {
				s.Losses[sink][fam] += n
				loss[sink] += n
			}
		}
		for _, f := range l.Missing {
			missingFam[f] = true
		}
		if r.HowEnded == "SIGKILL" {
			for sink, n := range l.SinkSpooled {
				if n > 0 {
					s.KilledSpooling[sink]++
				}
			}
			s.KillToExitMax = max(s.KillToExitMax, r.Ended.Sub(r.Signalled).Seconds())
		}
		if !r.Ready.IsZero() {
			s.StartReadyMax = max(s.StartReadyMax, r.Ready.Sub(r.Started).Seconds())
		}
		s.MaxRSSMiB = max(s.MaxRSSMiB, float64(r.HWMKiB)/1024)
		s.CPUSeconds += float64(r.CPUTicks) / clockTicks
		end := r.Ended
		if end.IsZero() {
			end = time.Now()
		}
		upSeconds += end.Sub(r.Started).Seconds()
		s.LogWarnings += r.WarnLines
		s.LogErrors += r.ErrLine
		for _, p := range r.FirstProblems {
			if len(s.LogFirst) < 12 {
				s.LogFirst = append(s.LogFirst, fmt.Sprintf("%s: %s", r.Log, p))
			}
		}
	}
	for f := range missingFam {
		s.MissingMetrics = append(s.MissingMetrics, f)
	}
	sort.Strings(s.MissingMetrics)
	if upSeconds > 0 {
		s.CPUPercent = 100 * s.CPUSeconds / upSeconds
	}
	got, other := map[string]Receipts{}, map[string]int{}
	s.Malformed, s.Received = map[string]int{}, map[string]int{}
	for sink, in := range inboxes {
		got[sink], other[sink] = in.Markers, in.OtherTotal()
		s.Malformed[sink] = in.Malformed
		s.Received[sink] = in.Count()
		s.MalformedFirst = append(s.MalformedFirst, in.FirstBad...)
		// A SIGKILL can cut the file sink's last line; nothing else may
		// be malformed.
		allowed := 0
		if sink == FileSink {
			allowed = s.Kills + s.Crashes
		}
		if in.Malformed > allowed {
			s.problem("%s: %d malformed alerts (first: %v)", sink, in.Malformed, in.FirstBad)
		}
	}
	s.DownSeconds = c.ledger.DownSeconds(s.LoadEnded)
	s.Tally, s.Sinks = c.ledger.Account(c.o.Grace, got, loss, s.KernelLoss, other)
	s.BackgroundOps = load.Background()
	s.MarkerFailures = load.Failures.Load()
	// A marker action that fails (a loopback connect timing out on a
	// loaded host) is the load's failure, not vigil's: excluded from the
	// account, and a problem only if it is more than one in a thousand.
	if n, all := s.MarkerFailures, sumKinds(s.Performed); n > 0 && n*1000 > uint64(all) {
		s.problem("%d of %d marker actions failed (first: %s)", n, all, load.FirstError())
	}
	for _, sink := range []string{FileSink, WebhookSink, NATSSink} {
		r := s.Sinks[sink]
		if r == nil {
			s.problem("%s: nothing read", sink)
			continue
		}
		if r.Unaccounted > 0 {
			s.problem("%s: %d marker alerts missing and not counted as lost (missing %v, counted loss %.0f; first missing %v)", sink, r.Unaccounted, r.MissingByKind, r.CountedLoss, r.MissingFirst)
		}
		// The webhook delivers at least once (docs/sinks.md): a batch
		// sent but not yet trimmed from the spool when vigil is killed is
		// sent again. The others must not repeat an alert.
		if r.Duplicates > 0 && sink != WebhookSink {
			s.problem("%s: %d duplicate marker alerts", sink, r.Duplicates)
		}
		if r.Unknown > 0 {
			s.problem("%s: %d marker alerts of no recorded action", sink, r.Unknown)
		}
	}
	s.OK = len(s.Problems) == 0
	return nil
}
