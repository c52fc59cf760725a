package soak

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options are the soak's knobs; Defaults fills what is zero.
type Options struct {
	Vigil    string        // the vigil binary
	Duration time.Duration // of the load
	Dir      string        // working directory (kept: logs, alerts)

	ReloadEvery time.Duration // rewrite the reload file (default 1m)
	KillEvery   time.Duration // SIGKILL vigil (default 10m, at most a third of Duration)
	BurstEvery  time.Duration // default 2m
	// Outages of the webhook endpoint and the NATS server: up for
	// UpMin..UpMax, then down for DownMin..DownMax.
	UpMin, UpMax, DownMin, DownMax time.Duration
	// Grace before a SIGKILL within which an action's alert may still be
	// queued inside vigil (lost with the process, by design).
	Grace time.Duration
	Log   *slog.Logger
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ReloadEvery, time.Minute)
	def(&o.KillEvery, min(10*time.Minute, o.Duration/3))
	def(&o.BurstEvery, 2*time.Minute)
	def(&o.UpMin, 45*time.Second)
	def(&o.UpMax, 150*time.Second)
	def(&o.DownMin, 10*time.Second)
	def(&o.DownMax, 60*time.Second)
	def(&o.Grace, 2*time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// outages takes an endpoint down and up again until ctx ends, leaving it
// up; it returns the outages' count and total length.
func outages(ctx context.Context, o *Options, name string, up func() error, down func(), out *Outages) {
	between := func(a, b time.Duration) time.Duration { return a + rand.N(b-a+1) }
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(between(o.UpMin, o.UpMax)):
		}
		d := between(o.DownMin, o.DownMax)
		o.Log.Info("sink outage", "sink", name, "for", d.Round(time.Second))
		down()
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		if err := up(); err != nil {
			o.Log.Error("sink back up", "sink", name, "err", err)
		}
		out.add(time.Since(start))
	}
}

// Outages counts one endpoint's outages.
type Outages struct {
	mu      sync.Mutex
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
}

func (o *Outages) add(d time.Duration) {
	o.mu.Lock()
	o.Count++
	o.Seconds += d.Seconds()
	o.mu.Unlock()
}

// Run runs the soak and returns its summary. err is for a soak that could
// not run; a soak that ran and found problems has Summary.OK false.
func Run(o Options) (*Summary, error) {
	o.defaults()
	log := o.Log
	lay := Layout{Dir: o.Dir}
	var ports Ports
	for _, p := range []*int{&ports.Metrics, &ports.Webhook, &ports.NATS} {
		var err error
		if *p, err = freePort(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	if ports.Connect, err = Listen(ctx, 0); err != nil {
		return nil, err
	}
	bgPort, err := Listen(ctx, 0)
	if err != nil {
		return nil, err
	}
	cfg, err := lay.WriteConfig(ports)
	if err != nil {
		return nil, err
	}
	// A copy, so that a rebuild of bin/vigil meanwhile does not change
	// what the restarts run.
	bin := filepath.Join(lay.Dir, "vigil")
	if err := copyFile(o.Vigil, bin); err != nil {
		return nil, err
	}
	if err := copyFile("/bin/true", lay.MarkerBin()); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(lay.Dir, "bg"), []byte("x"), 0o644); err != nil {
		return nil, err
	}

	rec := &Recorder{Addr: fmt.Sprintf("127.0.0.1:%d", ports.Webhook), Inbox: NewInbox()}
	bus := &Bus{Port: ports.NATS, StoreDir: filepath.Join(lay.Dir, "nats")}
	if err := rec.Up(); err != nil {
		return nil, err
	}
	defer rec.Down()
	if err := bus.Up(); err != nil {
		return nil, err
	}
	defer bus.Down()

	v := &Vigil{Bin: bin, Config: cfg, LockFile: filepath.Join(lay.Dir, "vigil.lock"), LogDir: lay.Dir, Metrics: fmt.Sprintf("127.0.0.1:%d", ports.Metrics)}
	sum := &Summary{Dir: lay.Dir, Started: time.Now().UTC()}
	sum.Commit, sum.Modified = buildVCS(bin)
	if sum.Modified {
		sum.ModifiedFiles = modifiedFiles()
	}
	if sum.Commit == "" { // built without VCS stamping: the tree's HEAD
		out, _ := exec.Command("git", "rev-parse", "HEAD").Output()
		sum.Commit = strings.TrimSpace(string(out)) + " (git HEAD at the start; the binary has no vcs.revision)"
		sum.ModifiedFiles = modifiedFiles()
		sum.Modified = len(sum.ModifiedFiles) > 0
	}
	ledger := &Ledger{}
	if _, err := v.Start(time.Minute); err != nil {
		return nil, err
	}
	log.Info("vigil ready", "pid", v.Current().Pid, "dir", lay.Dir)

	load := &Load{Layout: lay, Ledger: ledger, Connect: ports.Connect, BgPort: bgPort}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var webhookOut, natsOut Outages
	wg.Add(3)
	go func() { defer wg.Done(); load.Run(loadCtx, o.BurstEvery) }()
	go func() { defer wg.Done(); outages(loadCtx, &o, "webhook", rec.Up, rec.Down, &webhookOut) }()
	go func() { defer wg.Done(); outages(loadCtx, &o, "nats", bus.Up, bus.Down, &natsOut) }()

	c := &conductor{o: &o, v: v, ledger: ledger, lay: lay, sum: sum, log: log}
	c.conduct(time.Now().Add(o.Duration))
	stopLoad()
	wg.Wait()
	rec.Up()
	bus.Up()
	sum.LoadEnded = time.Now().UTC()
	log.Info("load stopped; waiting for the sinks to settle")
	c.settle(rec)
	if err := v.Stop(); err != nil {
		sum.problem("%v", err)
	}
	sum.Webhook, sum.NATS = &webhookOut, &natsOut
	return sum, c.finish(load, rec, bus)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// modifiedFiles lists the tracked files with uncommitted changes in the
// current directory's git tree (the ones the binary may have been built
// with), best effort.
func modifiedFiles() []string {
	out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return nil
	}
	var files []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if len(line) > 3 {
			files = append(files, line[3:]) // "XY path"
		}
	}
	return files
}

// buildVCS reads the commit the binary was built from.
func buildVCS(bin string) (commit string, modified bool) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown", false
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return commit, modified
}
