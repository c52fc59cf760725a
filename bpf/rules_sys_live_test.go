package bpf

// The host behaviours of the built-in rules of 30-network.yaml and
// 50-system.yaml, performed for real with real programs: perl (Debian's
// perl-base), busybox (busybox-static), util-linux (unshare, mount,
// setpriv) and python3, which the project does not install (Debian
// package python3).

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// hostAddr returns a non-loopback IPv4 address of this host, so that a
// connection to it is judged as one that leaves the host.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	testenv.Unavailable(t, "no non-loopback IPv4 address")
	return ""
}

// runCmd runs cmd to completion (its exit status is not the point: the
// attempt is) within 20 s and returns its pid.
func runCmd(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if cmd.Process == nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	t.Logf("%s: %v %s", cmd, err, out)
	return cmd.Process.Pid
}

func TestBuiltinSystemRulesLive(t *testing.T) {
	c := live(t)

	t.Run("packet socket by perl", func(t *testing.T) {
		testenv.RequireTool(t, "perl")
		// socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)): a sniffer's first call.
		pid := runCmd(t, exec.Command("perl", "-e", "socket(my $s, 17, 3, 768) or die $!"))
		a := c.fires(t, "Packet or raw socket opened on host", pid)
		wantOutput(t, a, "domain=AF_PACKET type=SOCK_RAW protocol=768 res=", "process=perl exe=/usr/bin/perl ")
	})

	t.Run("packet socket by busybox arping", func(t *testing.T) {
		testenv.RequireTool(t, "busybox")
		// arping, started through busybox: an ARP packet socket.
		pid := runCmd(t, exec.Command("busybox", "arping", "-c", "1", "-w", "1", "-I", "lo", "127.0.0.1"))
		a := c.fires(t, "Packet or raw socket opened on host", pid)
		wantOutput(t, a, "domain=AF_PACKET type=SOCK_DGRAM protocol=0 res=", "process=busybox ")
	})

	t.Run("bind shell one-liner", func(t *testing.T) {
		testenv.RequireTool(t, "perl")
		pid := runCmd(t, exec.Command("perl", "-MIO::Socket::INET", "-e",
			"my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 0, Listen => 1) or die $!"))
		a := c.fires(t, "Shell or one-liner listening on all addresses", pid)
		wantOutput(t, a, "local=0.0.0.0:", "proto=tcp process=perl exe=/usr/bin/perl cmdline=perl -MIO::Socket::INET -e ")
	})

	t.Run("busybox nc listening", func(t *testing.T) {
		testenv.RequireTool(t, "busybox")
		l, err := net.Listen("tcp4", "127.0.0.1:0") // a free port number for nc
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		cmd := exec.Command("busybox", "nc", "-l", "-p", port)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		a := c.fires(t, "Shell or one-liner listening on all addresses", cmd.Process.Pid)
		wantOutput(t, a, "proto=tcp process=busybox ", "cmdline=busybox nc -l -p "+port)
		if !strings.Contains(a.Output, "local=0.0.0.0:"+port+" ") && !strings.Contains(a.Output, "local=:::"+port+" ") {
			t.Errorf("output %q: not on all addresses", a.Output)
		}
	})

	t.Run("python http.server", func(t *testing.T) {
		testenv.RequireTool(t, "python3")
		cmd := exec.Command("python3", "-m", "http.server", "0", "--directory", tempDir(t))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		a := c.fires(t, "Interpreter file server listening on all addresses", cmd.Process.Pid)
		wantOutput(t, a, "process=python3 cmdline=python3 -m http.server 0 --directory ")
		if !strings.Contains(a.Output, "local=0.0.0.0:") && !strings.Contains(a.Output, "local=:::") {
			t.Errorf("output %q: not on all addresses", a.Output)
		}
	})

	t.Run("reverse shell one-liner", func(t *testing.T) {
		testenv.RequireTool(t, "perl")
		addr := hostAddr(t)
		l, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		go func() {
			if conn, err := l.Accept(); err == nil {
				conn.Close() // the attacker hangs up at once
			}
		}()
		pid := runCmd(t, exec.Command("perl", "-e",
			fmt.Sprintf("use Socket; socket(S, PF_INET, SOCK_STREAM, 0); connect(S, sockaddr_in(%d, inet_aton('%s'))) or die $!", port, addr)))
		a := c.fires(t, "Outbound connection by interpreter one-liner or awk", pid)
		wantOutput(t, a, fmt.Sprintf("connection=%s:%d proto=tcp res=0 process=perl cmdline=perl -e use Socket;", addr, port))
	})

	t.Run("mount over a process's /proc directory", func(t *testing.T) {
		testenv.RequireTool(t, "unshare")
		testenv.RequireTool(t, "mount")
		target := exec.Command("sleep", "30")
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { target.Process.Kill(); target.Wait() }()
		empty := tempDir(t)
		dir := "/proc/" + strconv.Itoa(target.Process.Pid)
		// In a mount namespace of its own, so the host's /proc is untouched.
		runCmd(t, exec.Command("unshare", "-m", "--propagation", "private", "mount", "--bind", empty, dir))
		a := c.firesOn(t, "Process hidden by a mount over its /proc directory", "the mount on "+dir,
			func(e *event.Event) bool { return e.Type == event.TypeMount && e.Mount.Target == dir })
		wantOutput(t, a, "target="+dir+" source="+empty+" fstype=none flags=4096 res=0 process=mount ")
	})

	t.Run("namespace change refused", func(t *testing.T) {
		testenv.RequireTool(t, "setpriv")
		testenv.RequireTool(t, "unshare")
		// A mount namespace needs CAP_SYS_ADMIN: nobody is refused.
		pid := runCmd(t, exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-m", "true"))
		a := c.fires(t, "Namespace changed by non-container process", pid)
		wantOutput(t, a, "unshare namespaces=mnt flags=131072 process=unshare ", "uid=65534 ", "res=-1 ")
	})

	t.Run("ASLR setting written", func(t *testing.T) {
		const file = "/proc/sys/kernel/randomize_va_space"
		cur, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The current value written back: the write is what is seen.
		v := strings.TrimSpace(string(cur))
		pid := runCmd(t, exec.Command("sh", "-c", "echo "+v+" > "+file))
		a := c.fires(t, "Kernel protection parameter changed on host", pid)
		wantOutput(t, a, "file="+file+" process=sh exe=", "cmdline=sh -c echo "+v+" > "+file)
	})
}
