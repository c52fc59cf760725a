package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Vigil runs `vigil run` incarnation after incarnation and keeps, for
// each, the last metrics snapshot and process sample.
type Vigil struct {
	Bin, Config, LockFile, LogDir, Metrics string

	cmd    *exec.Cmd
	exited chan error
	logf   *os.File
	Runs   []*Incarnation
}

// Incarnation is one incarnation of the daemon.
type Incarnation struct {
	Pid                int
	Log                string
	Started, Ready     time.Time
	Ended              time.Time
	HowEnded           string // "SIGKILL", "SIGTERM", "exited: ..."
	Signalled          time.Time
	SlowExit           string // the kernel stack of a process not gone 1 s after the signal
	Last               Snapshot
	Scraped            bool
	HWMKiB, RSSKiB     int64
	CPUTicks           int64 // utime+stime, in clock ticks
	ExitErr            string
	WarnLines, ErrLine int
	FirstProblems      []string
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// Start starts a new incarnation and waits until /readyz answers.
func (v *Vigil) Start(timeout time.Duration) (*Incarnation, error) {
	n := len(v.Runs) + 1
	r := &Incarnation{Log: filepath.Join(v.LogDir, fmt.Sprintf("vigil-%d.log", n)), Started: time.Now()}
	f, err := os.Create(r.Log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(v.Bin, "run", "--config", v.Config, "--lock-file", v.LockFile)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	v.cmd, v.logf, r.Pid = cmd, f, cmd.Process.Pid
	v.exited = make(chan error, 1)
	go func() { v.exited <- cmd.Wait() }()
	v.Runs = append(v.Runs, r)
	deadline := time.Now().Add(timeout)
	for !Ready(v.Metrics) {
		select {
		case err := <-v.exited:
			v.exited <- err
			return r, fmt.Errorf("vigil exited before ready (%v); log %s", err, r.Log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("vigil not ready after %v; log %s", timeout, r.Log)
		}
	}
	r.Ready = time.Now()
	return r, nil
}

// Current is the running incarnation (nil before the first).
func (v *Vigil) Current() *Incarnation {
	if len(v.Runs) == 0 {
		return nil
	}
	return v.Runs[len(v.Runs)-1]
}

// Sample scrapes the metrics and the process's memory and CPU into the
// current incarnation.
func (v *Vigil) Sample() error {
	r := v.Current()
	if r == nil || !r.Ended.IsZero() {
		return nil
	}
	if hwm, rss, ticks, err := procSample(r.Pid); err == nil {
		r.HWMKiB, r.RSSKiB, r.CPUTicks = max(r.HWMKiB, hwm), rss, ticks
	}
	m, err := Scrape(v.Metrics)
	if err != nil {
		return err
	}
	r.Last, r.Scraped = Snap(m), true
	return nil
}

// Exited reports, without waiting, whether the daemon has exited.
func (v *Vigil) Exited() (error, bool) {
	select {
	case err := <-v.exited:
		v.exited <- err
		return err, true
	default:
		return nil, false
	}
}

// Kill samples the daemon one last time, then SIGKILLs it.
func (v *Vigil) Kill() error {
	v.Sample()
	return v.end(syscall.SIGKILL, "SIGKILL", 10*time.Second)
}

// Stop samples the daemon, then stops it with SIGTERM (queues drain).
func (v *Vigil) Stop() error {
	v.Sample()
	return v.end(syscall.SIGTERM, "SIGTERM", 30*time.Second)
}

func (v *Vigil) end(sig syscall.Signal, how string, wait time.Duration) error {
	r := v.Current()
	defer v.logf.Close()
	r.Signalled = time.Now()
	v.cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-v.exited:
		v.exited <- err
	case <-time.After(time.Second):
		// Still there a second after the signal: keep where it is
		// stuck, for the report.
		stack, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stack", r.Pid))
		r.SlowExit = string(stack)
	}
	select {
	case err = <-v.exited:
		v.exited <- err
	case <-time.After(wait):
		v.cmd.Process.Kill()
		err = <-v.exited
		v.exited <- err
		how += " (then SIGKILL: no exit after " + wait.String() + ")"
	}
	r.Ended, r.HowEnded = time.Now(), how
	if err != nil {
		r.ExitErr = err.Error()
	}
	r.scanLog()
	if sig == syscall.SIGTERM && err != nil {
		return fmt.Errorf("vigil did not exit cleanly on SIGTERM: %v (log %s)", err, r.Log)
	}
	return nil
}

// scanLog counts WARN and ERROR lines (slog text) and keeps the first few
// distinct messages.
func (r *Incarnation) scanLog() {
	data, err := os.ReadFile(r.Log)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		isWarn, isErr := strings.Contains(line, "level=WARN"), strings.Contains(line, "level=ERROR")
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
			isErr = true
		}
		if !isWarn && !isErr {
			continue
		}
		if isErr {
			r.ErrLine++
		} else {
			r.WarnLines++
		}
		msg := line
		if i := strings.Index(line, "msg="); i >= 0 {
			msg = line[i:]
			if len(msg) > 160 {
				msg = msg[:160]
			}
		}
		if !seen[msg] && len(r.FirstProblems) < 8 {
			seen[msg] = true
			r.FirstProblems = append(r.FirstProblems, msg)
		}
	}
}

// procSample reads the peak and current resident memory (KiB) and the
// CPU time (clock ticks) of pid.
func procSample(pid int) (hwm, rss, ticks int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// Fields after the parenthesised comm: state is field 3, utime 14,
	// stime 15.
	s := string(stat)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(rest) < 13 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	u, _ := strconv.ParseInt(rest[11], 10, 64)
	st, _ := strconv.ParseInt(rest[12], 10, 64)
	return hwm, rss, u + st, nil
}
