package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Config is the configuration file of `vigil run --config`. Every key
// is optional; deploy/systemd/vigil.yaml is a complete commented
// example. The zero Config is what vigil runs with no file: the
// built-in rules and every event type they use.
type Config struct {
	Rules      []string `yaml:"rules"`       // files, directories, or "builtin"
	FalcoRules []string `yaml:"falco_rules"` // Falco rules files or directories, loaded as they are
	// RuleMatching is Falco's rule_matching: "all" (the default: every
	// rule that matches an event alerts) or "first" (only the first, in
	// definition order).
	RuleMatching string       `yaml:"rule_matching"`
	Sinks        []Sink       `yaml:"-"`
	Metrics      Metrics      `yaml:"metrics"`
	Events       []string     `yaml:"events"` // event types traced at most; empty: all the rules use
	RingbufSize  int          `yaml:"ringbuf_size"`
	RateLimit    RateLimit    `yaml:"rate_limit"`
	ProcessTable ProcessTable `yaml:"process_table"`
	Containers   Containers   `yaml:"containers"`
	Enforcement  Enforcement  `yaml:"enforcement"`
	Environment  Environment  `yaml:"environment"`
	Log          Log          `yaml:"log"`

	// EventsPos is file:line:col of the events key ("" when the
	// file has none), for messages about the types it leaves out.
	EventsPos string `yaml:"-"`
}

// Metrics is the HTTP endpoint of /metrics, /healthz and /readyz.
type Metrics struct {
	Address string `yaml:"address"` // "" disables it
}

// RateLimit is the kernel's per-process budget for the rate-limited
// event classes (docs/events.md, "Per-process rate limit").
type RateLimit struct {
	PerSecond int `yaml:"per_second"` // records a second per process and ring; 0: 20000; -1: no limit
	Burst     int `yaml:"burst"`      // records at once beyond the rate; 0: 20000
}

// ProcessTable bounds the process table.
type ProcessTable struct {
	MaxEntries int `yaml:"max_entries"`
}

// Enforcement is what deny and kill rules do.
type Enforcement struct {
	// Audit makes every deny and kill rule audit-only: they alert with
	// "would deny" / "would kill" and the kernel does not act.
	Audit bool `yaml:"audit"`
	// Allow lists executables (absolute paths) whose processes are never
	// denied or killed, whatever the rules say.
	Allow []string `yaml:"allow"`
}

// Environment is which environment variables exec events carry (proc.env).
type Environment struct {
	// Collect: "auto" (the default) while some enabled rule reads
	// proc.env, "always", or "never".
	Collect string `yaml:"collect"`
	// MaxBytes of each environment read (default and most: 4095); the
	// variables beyond are not seen.
	MaxBytes int `yaml:"max_bytes"`
	// Values are the names whose values are kept; the other variables
	// keep only their names. Absent: the dynamic loader's variables,
	// PATH and the shell's history settings (plan.DefaultEnvValues).
	// Never list names that hold secrets.
	Values *[]string `yaml:"values"`
}

var envCollect = map[string]plan.EnvCollect{"": plan.EnvAuto, "auto": plan.EnvAuto, "always": plan.EnvAlways, "never": plan.EnvNever}

// Settings are the plan's form of e (e is valid).
func (e Environment) Settings() plan.EnvSettings {
	s := plan.EnvSettings{Collect: envCollect[e.Collect], Bytes: e.MaxBytes}
	if e.Values != nil {
		s.Values = *e.Values
		if s.Values == nil {
			s.Values = []string{} // "values: []": no value kept
		}
	}
	return s
}

// Containers is the containers: section: the runtime sockets asked for
// container metadata. A key left out takes its default; "" turns that
// source off.
type Containers struct {
	Enabled    *bool         `yaml:"enabled"`    // default true
	Containerd *string       `yaml:"containerd"` // containerd's native API
	CRI        *string       `yaml:"cri"`        // a CRI runtime service (containerd's CRI plugin, CRI-O)
	Docker     *string       `yaml:"docker"`     // the Docker Engine API
	Podman     *string       `yaml:"podman"`     // podman's Docker-compatible API service
	Timeout    time.Duration `yaml:"timeout"`    // one lookup; default 2s
	CacheSize  int           `yaml:"cache_size"` // containers remembered; default 4096
}

// Log is vigil's own log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Load reads and checks a config file. Strings may use ${ENV}.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and checks the config file named file whose contents
// are data.
func Parse(file string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	cfg := &Config{}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errorAt(file, root, "the config is a mapping of keys (rules:, sinks:, ...)")
	}
	expandEnv(root)
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line, Column: root.Column}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "sinks":
			sinks, err := decodeSinks(file, v)
			if err != nil {
				return nil, err
			}
			cfg.Sinks = sinks
			continue
		case "events":
			cfg.EventsPos = position(file, k)
		}
		rest.Content = append(rest.Content, k, v)
	}
	if err := decodeStrict(file, rest, cfg, []string{"sinks"}); err != nil {
		return nil, err
	}
	return cfg, cfg.validate(file, root)
}

// validate checks values that YAML types do not: event names, sizes,
// log settings. Errors point at the key's value.
func (c *Config) validate(file string, root *yaml.Node) error {
	at := func(key string) *yaml.Node { return valueOf(root, key) }
	if _, err := c.EventTypes(); err != nil {
		return errorAt(file, at("events"), "events: %v", err)
	}
	if n := c.RingbufSize; n != 0 && (n < os.Getpagesize() || n&(n-1) != 0) {
		return errorAt(file, at("ringbuf_size"), "ringbuf_size %d: want a power of two of at least %d", n, os.Getpagesize())
	}
	if r := c.RateLimit; r.PerSecond < -1 || r.PerSecond > 1e9 || r.Burst < 0 {
		return errorAt(file, at("rate_limit"), "rate_limit: per_second %d, burst %d: want per_second -1 (no limit) to 1000000000 and burst >= 0", r.PerSecond, r.Burst)
	}
	if c.RuleMatching != "" && c.RuleMatching != "all" && c.RuleMatching != "first" {
		return errorAt(file, at("rule_matching"), "rule_matching %q: want all or first", c.RuleMatching)
	}
	if c.ProcessTable.MaxEntries < 0 {
		return errorAt(file, at("process_table"), "process_table.max_entries: want a positive number")
	}
	for _, a := range c.Enforcement.Allow {
		if !strings.HasPrefix(a, "/") {
			return errorAt(file, at("enforcement"), "enforcement.allow: %q is not an absolute path", a)
		}
	}
	if _, ok := envCollect[c.Environment.Collect]; !ok {
		return errorAt(file, at("environment"), "environment.collect %q: want auto, always or never", c.Environment.Collect)
	}
	if n := c.Environment.MaxBytes; n < 0 || n > plan.MaxEnvBytes {
		return errorAt(file, at("environment"), "environment.max_bytes %d: want 1 to %d", n, plan.MaxEnvBytes)
	}
	if c.Containers.Timeout < 0 || c.Containers.CacheSize < 0 {
		return errorAt(file, at("containers"), "containers: timeout and cache_size must not be negative")
	}
	var lvl slog.Level
	if c.Log.Level != "" && lvl.UnmarshalText([]byte(c.Log.Level)) != nil {
		return errorAt(file, at("log"), "log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "" {
		if _, err := ParseFormat(c.Log.Format, "text", "json"); err != nil {
			return errorAt(file, at("log"), "log.format: %v", err)
		}
	}
	return nil
}

// EventTypes are the types events names (nil when it names none: no limit).
func (c *Config) EventTypes() ([]event.Type, error) {
	if len(c.Events) == 0 {
		return nil, nil
	}
	return ParseTypes(c.Events)
}

// RulePaths are the rules files a run loads: each flag given replaces the
// config's key of the same name (rules, falco_rules).
func (c *Config) RulePaths(rules, falco []string) engine.Paths {
	p := engine.Paths{Rules: c.Rules, Falco: c.FalcoRules}
	if len(rules) > 0 {
		p.Rules = rules
	}
	if len(falco) > 0 {
		p.Falco = falco
	}
	return p
}

// PlanOptions are the config's part of the kernel plan.
func (c *Config) PlanOptions() plan.Options {
	events, _ := c.EventTypes() // validated by Load
	return plan.Options{Events: events, Env: c.Environment.Settings(), Audit: c.Enforcement.Audit, Allow: c.Enforcement.Allow}
}

// ParseTypes reads event type names; "all" is every type.
func ParseTypes(names []string) ([]event.Type, error) {
	var out []event.Type
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "all" {
			return event.Types(), nil
		}
		t, ok := event.ParseType(name)
		if !ok {
			return nil, fmt.Errorf("unknown event type %q (known: %s)", name, TypeList())
		}
		out = append(out, t)
	}
	return out, nil
}

// TypeList names every event type, comma separated.
func TypeList() string { return strings.Join(event.Names(event.Types()...), ", ") }

// ParseFormat checks an output format against the ones a writer knows
// (the first is the default for ""), with one message for every flag and
// key that takes a format.
func ParseFormat(s string, known ...string) (string, error) {
	if s == "" {
		return known[0], nil
	}
	for _, k := range known {
		if s == k {
			return s, nil
		}
	}
	return "", fmt.Errorf("format %q: want %s", s, orList(known))
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
