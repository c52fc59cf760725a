package syslog

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the syslog sink's part of a sink entry in vigil.yaml. The zero
// value, after Validate, sends messages with facility authpriv to the
// local daemon through /dev/log.
type Config struct {
	// Network is unixgram (default), udp, tcp or tcp+tls.
	Network string `yaml:"network"`
	// Address is a socket path for unixgram (default /dev/log) and
	// host:port for the others (the usual ports: 514 for udp and tcp, 6514
	// for tcp+tls).
	Address string `yaml:"address"`
	// Format is the header layout: rfc5424 or rfc3164. The default is
	// rfc3164 on the local socket (what syslog(3) sends and local daemons
	// parse) and rfc5424 over the network. The key is not "format" because
	// every sink entry already has a format key (json or text) for the
	// alert body.
	Format string `yaml:"syslog_format"`
	// Facility is a facility name (default authpriv: alerts name users and
	// files, and Debian's rsyslog writes authpriv to a file only root reads).
	Facility string `yaml:"facility"`
	// Tag is the APP-NAME (RFC 5424) or TAG (RFC 3164); default "vigil".
	Tag string `yaml:"tag"`

	// TLS, for tcp+tls only. CA is a PEM file of the authorities that may
	// sign the server's certificate (default: the system's roots); Cert and
	// Key are PEM files of a client certificate, for servers that ask for
	// one; ServerName is the name checked in the server's certificate
	// (default: the host of Address).
	CA                 string `yaml:"ca"`
	Cert               string `yaml:"cert"`
	Key                string `yaml:"key"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// Timeout bounds each connection attempt and each write (default 5s),
	// so a hung receiver fails the batch instead of stalling the worker.
	Timeout time.Duration `yaml:"timeout"`
}

// Networks.
const (
	NetUnixgram = "unixgram"
	NetUDP      = "udp"
	NetTCP      = "tcp"
	NetTCPTLS   = "tcp+tls"
)

// Formats.
const (
	FormatRFC5424 = "rfc5424"
	FormatRFC3164 = "rfc3164"
)

// Defaults.
const (
	DefaultAddress  = "/dev/log"
	DefaultFacility = "authpriv"
	DefaultTag      = "vigil"
	DefaultTimeout  = 5 * time.Second
)

// facilities are the codes of RFC 5424 section 6.2.1 under the names
// syslog.conf uses.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
	"lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

const facilityNames = "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0 to local7"

// Validate fills in the defaults of empty keys and checks the rest. It
// reads no file and opens no connection: New does, so a config check can
// run anywhere.
func (c *Config) Validate() error {
	if c.Network == "" {
		c.Network = NetUnixgram
	}
	if c.Format == "" {
		// The local socket speaks syslog(3)'s format: journald and
		// rsyslog's imuxsock (by default) do not parse RFC 5424 headers
		// there and would keep them in the message.
		c.Format = FormatRFC5424
		if c.Network == NetUnixgram {
			c.Format = FormatRFC3164
		}
	}
	if c.Facility == "" {
		c.Facility = DefaultFacility
	}
	if c.Tag == "" {
		c.Tag = DefaultTag
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}

	switch c.Network {
	case NetUnixgram:
		if c.Address == "" {
			c.Address = DefaultAddress
		}
	case NetUDP, NetTCP, NetTCPTLS:
		if c.Address == "" {
			return fmt.Errorf("address: required for network %s (host:port)", c.Network)
		}
		host, port, err := net.SplitHostPort(c.Address)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("address %q: want host:port for network %s", c.Address, c.Network)
		}
	default:
		return fmt.Errorf("network %q: want unixgram, udp, tcp or tcp+tls", c.Network)
	}

	if c.Format != FormatRFC5424 && c.Format != FormatRFC3164 {
		return fmt.Errorf("syslog_format %q: want rfc5424 or rfc3164", c.Format)
	}
	if _, ok := facilities[c.Facility]; !ok {
		return fmt.Errorf("facility %q: want one of %s", c.Facility, facilityNames)
	}
	if err := c.checkTag(); err != nil {
		return err
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %v: must be positive", c.Timeout)
	}

	if c.Network != NetTCPTLS {
		for _, o := range []struct {
			key string
			set bool
		}{{"ca", c.CA != ""}, {"cert", c.Cert != ""}, {"key", c.Key != ""}, {"server_name", c.ServerName != ""}, {"insecure_skip_verify", c.InsecureSkipVerify}} {
			if o.set {
				return fmt.Errorf("%s: only for network tcp+tls (network is %s)", o.key, c.Network)
			}
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		return fmt.Errorf("cert and key: give both for a client certificate, or neither")
	}
	return nil
}

// checkTag keeps the tag within what receivers parse as one token:
// RFC 5424's APP-NAME is 1 to 48 printable ASCII characters; RFC 3164
// parsers end the TAG at '[' or ':' and at 32 characters.
func (c *Config) checkTag() error {
	limit := 48
	if c.Format == FormatRFC3164 {
		limit = 32
	}
	if len(c.Tag) > limit {
		return fmt.Errorf("tag %q: at most %d characters for %s", c.Tag, limit, c.Format)
	}
	for i := 0; i < len(c.Tag); i++ {
		if !printUSASCII(c.Tag[i]) {
			return fmt.Errorf("tag %q: only printable ASCII, no spaces", c.Tag)
		}
	}
	if c.Format == FormatRFC3164 && strings.ContainsAny(c.Tag, "[]:") {
		return fmt.Errorf("tag %q: no '[', ']' or ':' in an rfc3164 tag", c.Tag)
	}
	return nil
}
