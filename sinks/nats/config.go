package nats

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigil-project/vigil/sinks"
)

// Defaults of Config.
const (
	DefaultSubject              = "vigil.alerts.{priority}.{rule}"
	DefaultTailSubject          = "vigil.alerts.>"
	DefaultReconnectWait        = 2 * time.Second
	DefaultReconnectBufferBytes = 8 << 20
	DefaultAckTimeout           = 5 * time.Second
	DefaultMaxRetries           = 3
	DefaultSpoolBytes           = 256 << 20

	// MaxReconnectBufferBytes bounds ReconnectBufferBytes: the buffer is
	// memory the daemon holds while NATS is away, and a spool is the place
	// for more.
	MaxReconnectBufferBytes = 1 << 30

	// maxTokenBytes bounds one sanitised subject token, so that a long rule
	// name cannot push a PUB line past the server's max_control_line (4 KiB
	// by default) and have every alert of that rule refused.
	maxTokenBytes = 128
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("nats sink: invalid config")

// Config is the configuration of the NATS sink, as it appears under a
// `type: nats` item of the sinks list. Strings may use ${ENV}: the config
// loader (cmd/vigil) expands them; this package does not read the
// environment.
type Config struct {
	// URL is one server or a comma-separated list (nats://a:4222,nats://b:4222).
	URL string `yaml:"url"`
	// Subject is the template of the subject of each alert, with the
	// tokens {priority}, {rule} and {hostname}; their values are
	// sanitised (see SubjectToken) so they can never add subject tokens or
	// wildcards.
	Subject string `yaml:"subject"`

	Auth `yaml:",inline"`
	TLS  TLS `yaml:"tls"`

	// ReconnectWait is the pause between reconnect attempts; each attempt
	// adds up to as much again of random jitter, so that a fleet does not
	// reconnect to a restarted server all at once.
	ReconnectWait time.Duration `yaml:"reconnect_wait"`
	// ReconnectBufferBytes is how much nats.go buffers in memory while it
	// reconnects; publishing past it fails (and is counted) instead of
	// growing without bound.
	ReconnectBufferBytes int `yaml:"reconnect_buffer_bytes"`

	// JetStream publishes with acknowledgement (at least once), every
	// alert carrying a stable Nats-Msg-Id so the stream's duplicate window
	// drops retried copies.
	JetStream bool `yaml:"jetstream"`
	// Stream, if set, is created when missing, covering the subjects of
	// the template, with the server's default limits: for tests and
	// simple setups. Production streams (limits, replicas) are better
	// made by whoever runs NATS.
	Stream string `yaml:"stream"`
	// AckTimeout bounds the wait for a JetStream acknowledgement.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// MaxRetries is how many times an unacknowledged batch is published
	// again before its alerts are spooled or given up: 0 means the
	// default (3), -1 none.
	MaxRetries int `yaml:"max_retries"`

	// Spool keeps on disk what could not be delivered, for later sends.
	Spool SpoolConfig `yaml:"spool"`
}

// Auth is how the client authenticates; at most one method.
type Auth struct {
	Token        string `yaml:"token"`
	User         string `yaml:"user"`
	Password     string `yaml:"password"`
	NKeySeedFile string `yaml:"nkey_seed_file"`
	CredsFile    string `yaml:"creds_file"` // a JWT with its NKey seed (NGS, operator mode)
}

// TLS configures TLS to the servers; any field set turns TLS on.
type TLS struct {
	CA                 string `yaml:"ca"`   // PEM file of the CAs that sign the servers' certificates
	Cert               string `yaml:"cert"` // client certificate (PEM), with Key
	Key                string `yaml:"key"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SpoolConfig is the optional on-disk spool.
type SpoolConfig struct {
	Dir      string `yaml:"dir"`       // empty: no spool
	MaxBytes int64  `yaml:"max_bytes"` // default 256 MiB
}

// withDefaults returns c with the zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = nats.DefaultURL
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.ReconnectBufferBytes == 0 {
		c.ReconnectBufferBytes = DefaultReconnectBufferBytes
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.Spool.Dir != "" && c.Spool.MaxBytes == 0 {
		c.Spool.MaxBytes = DefaultSpoolBytes
	}
	return c
}

// Validate reports the first problem of c (defaults applied), wrapping
// ErrConfig.
func (c Config) Validate() error {
	_, _, err := c.check()
	return err
}

// check validates c with defaults applied and returns that config and its
// parsed subject template.
func (c Config) check() (Config, *template, error) {
	c = c.withDefaults()
	tmpl, err := parseTemplate(c.Subject)
	if err != nil {
		return c, nil, err
	}
	return c, tmpl, c.checkRest()
}

func (c Config) checkRest() error {
	if err := checkURL(c.URL); err != nil {
		return err
	}
	if err := c.Auth.check(); err != nil {
		return err
	}
	if err := c.TLS.check(); err != nil {
		return err
	}
	switch {
	case c.ReconnectWait < 0:
		return fmt.Errorf("%w: reconnect_wait %v: want a positive duration", ErrConfig, c.ReconnectWait)
	case c.ReconnectBufferBytes < 0 || c.ReconnectBufferBytes > MaxReconnectBufferBytes:
		return fmt.Errorf("%w: reconnect_buffer_bytes %d: want 1 to %d", ErrConfig, c.ReconnectBufferBytes, MaxReconnectBufferBytes)
	case c.AckTimeout < 0:
		return fmt.Errorf("%w: ack_timeout %v: want a positive duration", ErrConfig, c.AckTimeout)
	case c.MaxRetries < -1:
		return fmt.Errorf("%w: max_retries %d: want -1 (none) or more", ErrConfig, c.MaxRetries)
	case c.Stream != "" && !c.JetStream:
		return fmt.Errorf("%w: stream %q is for jetstream: true", ErrConfig, c.Stream)
	case c.Spool.Dir == "" && c.Spool.MaxBytes != 0:
		return fmt.Errorf("%w: spool.max_bytes without spool.dir", ErrConfig)
	case c.Spool.MaxBytes < 0:
		return fmt.Errorf("%w: spool.max_bytes %d: want a positive size", ErrConfig, c.Spool.MaxBytes)
	}
	return checkStreamName(c.Stream)
}

func checkURL(u string) error {
	for s := range strings.SplitSeq(u, ",") {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: url %q: empty server in the list", ErrConfig, u)
		}
	}
	return nil
}

func (a Auth) check() error {
	methods := 0
	for _, set := range []bool{a.Token != "", a.User != "" || a.Password != "", a.NKeySeedFile != "", a.CredsFile != ""} {
		if set {
			methods++
		}
	}
	switch {
	case methods > 1:
		return fmt.Errorf("%w: choose one of token, user/password, nkey_seed_file, creds_file", ErrConfig)
	case a.Password != "" && a.User == "":
		return fmt.Errorf("%w: password without user", ErrConfig)
	}
	return nil
}

func (t TLS) check() error {
	if (t.Cert == "") != (t.Key == "") {
		return fmt.Errorf("%w: tls.cert and tls.key go together", ErrConfig)
	}
	return nil
}

// checkStreamName rejects names the server would refuse, early and with
// the reason.
func checkStreamName(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 255 || strings.ContainsAny(s, " \t\r\n.*>/\\") {
		return fmt.Errorf("%w: stream %q: want at most 255 characters, none of . * > / \\ or white space", ErrConfig, s)
	}
	return nil
}

// connOptions are the nats.go options for the servers, auth and TLS of a
// connection, shared by the sink and Tail.
func connOptions(a Auth, t TLS) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nkey seed file: %w", err)
		}
		opts = append(opts, o)
	case a.CredsFile != "":
		// Read once now so a missing file is an error at start, not a
		// reconnect loop; nats.go reads it again on every connect.
		if _, err := os.Stat(a.CredsFile); err != nil {
			return nil, fmt.Errorf("creds file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if t != (TLS{}) {
		conf, err := t.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(conf))
	}
	return opts, nil
}

func (t TLS) config() (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CA != "" {
		pool, err := sinks.CertPool(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		conf.RootCAs = pool
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
