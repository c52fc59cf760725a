package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigil-project/vigil/sinks"
)

// Defaults and limits.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultRetries   = 5
	DefaultBackoff   = 200 * time.Millisecond
	MaxBackoff       = 10 * time.Second // cap of the exponential backoff
	MaxRetryAfter    = 30 * time.Second // cap of a server's Retry-After
	DefaultSpoolSize = 128 << 20        // spool.max_bytes when only spool.dir is set
	userAgent        = "vigil"
	filePrefix       = "@file:"
)

// Config is the webhook sink's part of the configuration file.
type Config struct {
	URL string `yaml:"url"`
	// Headers are added to every request. A value may use ${NAME} for an
	// environment variable, or be "@file:/path" to use the trimmed contents
	// of a file (a mounted secret); both are read once, by New.
	Headers map[string]string `yaml:"headers"`
	Timeout time.Duration     `yaml:"timeout"` // per attempt; 0: DefaultTimeout
	TLS     TLSConfig         `yaml:"tls"`
	// Retries is the number of attempts after the first: nil means
	// DefaultRetries, 0 none.
	Retries *int          `yaml:"retries"`
	Backoff time.Duration `yaml:"backoff"` // first backoff, doubled each retry; 0: DefaultBackoff
	Batch   BatchConfig   `yaml:"batch"`
	Gzip    bool          `yaml:"gzip"`
	Spool   SpoolConfig   `yaml:"spool"`
}

// TLSConfig is the client side of TLS for https URLs.
type TLSConfig struct {
	CA                 string `yaml:"ca"`   // PEM file of the CAs to trust instead of the system's
	Cert               string `yaml:"cert"` // PEM client certificate, for mTLS
	Key                string `yaml:"key"`  // PEM key of Cert
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// BatchConfig groups alerts into requests.
type BatchConfig struct {
	// Size is the most alerts per request; 0 means 1. A request never
	// waits for alerts: it carries what one Send has, in chunks of Size.
	Size int `yaml:"size"`
	// Format is "array" (a JSON array) or "ndjson" (one object per line).
	// Unset, a request of Size 1 is the bare Falco object and larger
	// sizes use arrays.
	Format string `yaml:"format"`
}

// SpoolConfig keeps undeliverable alerts on disk.
type SpoolConfig struct {
	Dir      string `yaml:"dir"`       // unset: no spool, alerts are dropped when retries run out
	MaxBytes int64  `yaml:"max_bytes"` // 0: DefaultSpoolSize
}

// Body formats.
const (
	FormatArray  = "array"
	FormatNDJSON = "ndjson"
)

// reserved reports the headers the sink sets itself.
func reserved(canon string) bool {
	switch canon {
	case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection":
		return true
	}
	return false
}

// Validate checks c without touching the files or the environment it
// names; every message starts with the key at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.URL == "" {
		bad("url: required")
	} else if u, err := url.Parse(c.URL); err != nil {
		// url.Error repeats the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		bad("url: %w", err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			bad("url: scheme %q: want http or https", u.Scheme)
		case u.Host == "":
			bad("url: no host")
		case u.Scheme == "http" && c.TLS != (TLSConfig{}):
			bad("tls: set, but url is http, not https")
		}
	}

	seen := map[string]string{}
	for _, name := range slices.Sorted(mapKeys(c.Headers)) {
		v := c.Headers[name]
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			bad("headers: %q is not a valid header name", name)
		case reserved(canon):
			bad("headers.%s: set by the sink itself", name)
		case seen[canon] != "":
			bad("headers: %q and %q are the same header", seen[canon], name)
		case strings.ContainsAny(v, "\r\n\x00"):
			bad("headers.%s: the value has a line break or NUL", name)
		case v == filePrefix:
			bad("headers.%s: %s without a path", name, filePrefix)
		}
		seen[canon] = name
	}

	if c.Timeout < 0 {
		bad("timeout: must not be negative")
	}
	if c.Retries != nil && *c.Retries < 0 {
		bad("retries: must not be negative")
	}
	if c.Backoff < 0 || c.Backoff > MaxBackoff {
		bad("backoff: %v: want 0 (the default, %v) up to %v", c.Backoff, DefaultBackoff, MaxBackoff)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls.cert and tls.key: set both or neither")
	}
	if c.Batch.Size < 0 {
		bad("batch.size: must not be negative")
	}
	if f := c.Batch.Format; f != "" && f != FormatArray && f != FormatNDJSON {
		bad("batch.format: %q: want array or ndjson", f)
	}
	if c.Spool.MaxBytes < 0 {
		bad("spool.max_bytes: must not be negative")
	}
	if c.Spool.MaxBytes > 0 && c.Spool.Dir == "" {
		bad("spool.max_bytes: set without spool.dir")
	}
	return errors.Join(errs...)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// resolveHeaders reads the header values: ${NAME} from lookup, @file:
// from disk. A variable that is not set is an error, so that a missing
// secret shows at startup rather than as 401s later. Host is returned
// apart because net/http takes it from Request.Host, not the header map.
func resolveHeaders(h map[string]string, lookup func(string) (string, bool)) (http.Header, string, error) {
	out := http.Header{}
	var host string
	for _, name := range slices.Sorted(mapKeys(h)) {
		v, err := resolveValue(h[name], lookup)
		if err != nil {
			return nil, "", fmt.Errorf("headers.%s: %w", name, err)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, "", fmt.Errorf("headers.%s: the value has a line break or NUL", name)
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			host = v
			continue
		}
		out.Set(name, v)
	}
	return out, host, nil
}

func resolveValue(raw string, lookup func(string) (string, bool)) (string, error) {
	path, fromFile := strings.CutPrefix(raw, filePrefix)
	if !fromFile {
		return expand(raw, lookup)
	}
	path, err := expand(path, lookup)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// expand replaces each ${NAME} in s. Unlike os.Expand it leaves a bare $
// alone, as header values (tokens, signatures) may contain one.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			return "", errors.New("${ without a closing }")
		}
		name := s[i+2 : i+2+j]
		if name == "" {
			return "", errors.New("empty ${}")
		}
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+3+j:]
	}
}

// tlsConfig builds the client TLS configuration.
func (t TLSConfig) tlsConfig() (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if t.CA != "" {
		pool, err := sinks.CertPool(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		conf.RootCAs = pool
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.cert, tls.key: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
