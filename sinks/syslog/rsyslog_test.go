package syslog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// rsyslogConf runs rsyslogd on test sockets and ports only: no /dev/log
// (SysSock.Use="off"), no journal or kernel log (imjournal and imklog are
// not loaded), state in the test's directory. The inputs feed a ruleset of
// their own, so rsyslogd's internal messages do not reach the file, which
// gets one JSON object per message with the properties rsyslog parsed.
const rsyslogConf = `global(workDirectory="%[1]s" maxMessageSize="64k" net.enableDNS="off")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
template(name="parsed" type="string"
  string="{\"pri\":\"%%pri%%\",\"app\":\"%%app-name:::json%%\",\"procid\":\"%%procid:::json%%\",\"msgid\":\"%%msgid:::json%%\",\"sd\":\"%%structured-data:::json%%\",\"msg\":\"%%msg:::json%%\"}\n")
ruleset(name="vigil") {
  action(type="omfile" file="%[2]s" template="parsed")
}
input(type="imudp" address="127.0.0.1" port="%[3]d" ruleset="vigil")
input(type="imtcp" address="127.0.0.1" port="%[4]d" ruleset="vigil")
input(type="imuxsock" Socket="%[5]s" ruleset="vigil")
input(type="imuxsock" Socket="%[6]s" UseSpecialParser="off" ruleset="vigil")
`

func rsyslogd(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd" // not in PATH for non-root users
	}
	testenv.Unavailable(t, "rsyslogd not found: install Debian's rsyslog package (apt-get install -y rsyslog)")
	return ""
}

// freePort returns a port free on 127.0.0.1 for network.
func freePort(t *testing.T, network string) int {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(port)
	return n
}

// udpBound reports whether something listens on 127.0.0.1:port (UDP).
func udpBound(port int) bool {
	data, err := os.ReadFile("/proc/net/udp")
	return err == nil && bytes.Contains(data, fmt.Appendf(nil, " 0100007F:%04X ", port))
}

// TestRsyslog sends alerts to Debian's rsyslogd over UDP, TCP and its
// local sockets, in both formats, and checks what rsyslog parsed: each
// alert exactly once, with the PRI, app-name, msgid and structured data
// vigil sent, and the JSON body intact.
func TestRsyslog(t *testing.T) {
	bin := rsyslogd(t)
	dir := t.TempDir()
	udpPort, tcpPort := freePort(t, "udp"), freePort(t, "tcp")
	sock, sock5424 := filepath.Join(dir, "log.sock"), filepath.Join(dir, "log5424.sock")
	out, conf := filepath.Join(dir, "out.json"), filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, rsyslogConf, dir, out, udpPort, tcpPort, sock, sock5424), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)

	ready := func() bool {
		for _, p := range []string{sock, sock5424} {
			if _, err := os.Stat(p); err != nil {
				return false
			}
		}
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tcpPort))
		if err != nil {
			return false
		}
		c.Close()
		return udpBound(udpPort)
	}
	for deadline := time.Now().Add(15 * time.Second); !ready(); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("rsyslogd exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd not listening after 15s\n%s", stderr.String())
		}
	}

	type sent struct {
		a        *event.Alert
		pri      int
		format   string
		app      string
		received int
	}
	var want []*sent
	for i, tc := range []struct {
		name string
		c    Config
	}{
		{"udp5424", Config{Network: NetUDP, Address: "127.0.0.1:" + strconv.Itoa(udpPort)}},
		{"udp3164", Config{Network: NetUDP, Address: "127.0.0.1:" + strconv.Itoa(udpPort), Format: FormatRFC3164}},
		{"tcp5424", Config{Network: NetTCP, Address: "127.0.0.1:" + strconv.Itoa(tcpPort)}},
		{"tcp3164", Config{Network: NetTCP, Address: "127.0.0.1:" + strconv.Itoa(tcpPort), Format: FormatRFC3164}},
		{"unix", Config{Network: NetUnixgram, Address: sock}}, // rfc3164, the default on the local socket
		{"unix5424", Config{Network: NetUnixgram, Address: sock5424, Format: FormatRFC5424}},
	} {
		c := tc.c
		c.Tag = "vigil-" + tc.name
		c.Facility = fmt.Sprintf("local%d", i)
		s := mustNew(t, c)
		normal, hostile := testAlert(t), hostileAlert(t)
		normal.Rule += " via " + tc.name
		hostile.Rule += " via " + tc.name
		if err := s.Send(context.Background(), []*event.Alert{normal, hostile}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		format := FormatRFC5424
		if s.enc.rfc3164 {
			format = FormatRFC3164
		}
		want = append(want,
			&sent{a: normal, pri: (16+i)*8 + normal.Level, format: format, app: c.Tag},
			&sent{a: hostile, pri: (16+i)*8 + hostile.Level, format: format, app: c.Tag})
	}

	lines := func() int {
		data, _ := os.ReadFile(out)
		return bytes.Count(data, []byte("\n"))
	}
	for deadline := time.Now().Add(10 * time.Second); lines() < len(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stop() // rsyslogd flushes and exits: anything duplicated is in the file now
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var got struct{ Pri, App, Procid, Msgid, Sd, Msg string }
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("rsyslog wrote %q: %v", sc.Bytes(), err)
		}
		var match *sent
		for _, w := range want {
			body := string(event.AppendAlertJSON(nil, w.a))
			if got.App == w.app && strings.TrimPrefix(got.Msg, " ") == body {
				match = w
			}
		}
		if match == nil {
			t.Errorf("rsyslog parsed a message vigil did not send as such: %+v", got)
			continue
		}
		match.received++
		sd, msgid := "-", "-"
		if match.format == FormatRFC5424 {
			msgid = msgID
			sd = `[` + sdID + ` rule="` + string(appendParamValue(nil, match.a.Rule)) + `" priority="` + string(appendParamValue(nil, match.a.Priority)) + `"]`
		}
		if got.Pri != strconv.Itoa(match.pri) || got.Procid != strconv.Itoa(os.Getpid()) || got.Msgid != msgid || got.Sd != sd {
			t.Errorf("%s %q: rsyslog parsed pri %s procid %s msgid %s sd %q; want %d %d %s %q",
				match.app, match.a.Rule, got.Pri, got.Procid, got.Msgid, got.Sd, match.pri, os.Getpid(), msgid, sd)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if w.received != 1 {
			t.Errorf("%s %q: received %d times, want once", w.app, w.a.Rule, w.received)
		}
	}
	if t.Failed() {
		t.Logf("rsyslogd output:\n%s", stderr.String())
	}
}
