package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/sinks"
	natssink "github.com/vigil-project/vigil/sinks/nats"
	"github.com/vigil-project/vigil/sinks/stream"
	"github.com/vigil-project/vigil/sinks/syslog"
	"github.com/vigil-project/vigil/sinks/webhook"
)

// The configuration file of `vigil run --config`. Every key is optional;
// deploy/systemd/vigil.yaml is a complete commented example.
type config struct {
	Rules        []string          `yaml:"rules"` // files, directories, or "builtin"
	Sinks        []sinkConfig      `yaml:"-"`
	Metrics      metricsConfig     `yaml:"metrics"`
	Events       []string          `yaml:"events"` // event types traced; empty: all the rules use
	RingbufSize  int               `yaml:"ringbuf_size"`
	ProcessTable procTabConfig     `yaml:"process_table"`
	Containers   containersConfig  `yaml:"containers"`
	Enforcement  enforcementConfig `yaml:"enforcement"`
	Environment  envConfig         `yaml:"environment"`
	Log          logConfig         `yaml:"log"`
}

// envConfig: the environment variables exec events carry (proc.env).
type envConfig struct {
	// Collect: "auto" (the default) while some enabled rule reads
	// proc.env, "always", or "never".
	Collect string `yaml:"collect"`
	// MaxBytes of each environment read (default and most: 4095); the
	// variables beyond are not seen.
	MaxBytes int `yaml:"max_bytes"`
	// Values are the names whose values are kept; the other variables
	// keep only their names. Absent: the dynamic loader's variables and
	// PATH (bpf.DefaultEnvValues). Never list names that hold secrets.
	Values *[]string `yaml:"values"`
}

// options are the kernel's environment options while rules that do
// (needed) or do not read proc.env are loaded.
func (c envConfig) options(needed bool) bpf.EnvOptions {
	on := c.Collect == "always" || (needed && c.Collect != "never")
	if !on {
		return bpf.EnvOptions{}
	}
	o := bpf.EnvOptions{Bytes: c.MaxBytes, Values: bpf.DefaultEnvValues}
	if o.Bytes == 0 {
		o.Bytes = bpf.MaxEnvBytes
	}
	if c.Values != nil {
		o.Values = *c.Values
	}
	return o
}

type metricsConfig struct {
	Address string `yaml:"address"` // "" disables the HTTP endpoint
}

// enforcementConfig: what deny and kill rules do.
type enforcementConfig struct {
	// Audit makes every deny and kill rule audit-only: they alert with
	// "would deny" / "would kill" and the kernel does not act.
	Audit bool `yaml:"audit"`
	// Allow lists executables (absolute paths) whose processes are never
	// denied or killed, whatever the rules say.
	Allow []string `yaml:"allow"`
}

type procTabConfig struct {
	MaxEntries int `yaml:"max_entries"`
}

type logConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// sinkConfig is one item of sinks: the keys every sink takes, and the
// node of its type-specific keys.
type sinkConfig struct {
	Type        string   `yaml:"type"`
	MinPriority string   `yaml:"min_priority"`
	Rules       []string `yaml:"rules"`
	Tags        []string `yaml:"tags"`
	Format      string   `yaml:"format"`
	QueueSize   int      `yaml:"queue_size"`

	node *yaml.Node // the type-specific keys
	pos  string     // file:line:col of the item
}

var commonSinkKeys = []string{"type", "min_priority", "rules", "tags", "format", "queue_size"}

// sinkTypes lists the type-specific options of each sink type (nil: none).
var sinkTypes = map[string]any{
	"stdout":  nil,
	"file":    &fileSinkConfig{},
	"syslog":  &syslog.Config{},
	"webhook": &webhook.Config{},
	"nats":    &natssink.Config{},
}

type fileSinkConfig struct {
	Path string `yaml:"path"`
}

// configError is an error at a place in the config file.
func configError(file string, n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// loadConfig reads and checks a config file. Strings may use ${ENV}.
func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := &config{}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, configError(path, root, "the config is a mapping of keys (rules:, sinks:, ...)")
	}
	expandEnv(root)
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line, Column: root.Column}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "sinks" {
			rest.Content = append(rest.Content, k, v)
			continue
		}
		if v.Kind != yaml.SequenceNode {
			return nil, configError(path, v, "sinks: want a list of sinks")
		}
		for _, item := range v.Content {
			sc, err := decodeSink(path, item)
			if err != nil {
				return nil, err
			}
			cfg.Sinks = append(cfg.Sinks, sc)
		}
	}
	if err := checkKeys(path, rest, reflect.TypeOf(*cfg), []string{"sinks"}); err != nil {
		return nil, err
	}
	if err := rest.Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	return cfg, cfg.validate(path, root)
}

// validate checks values that YAML types do not: event names, sizes,
// log settings. Errors point at the config's top.
func (c *config) validate(path string, root *yaml.Node) error {
	at := func(key string) *yaml.Node {
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				return root.Content[i+1]
			}
		}
		return root
	}
	if _, err := parseTypes(strings.Join(c.Events, ",")); len(c.Events) > 0 && err != nil {
		return configError(path, at("events"), "events: %v", strings.TrimPrefix(err.Error(), "--type: "))
	}
	if n := c.RingbufSize; n != 0 && (n < os.Getpagesize() || n&(n-1) != 0) {
		return configError(path, at("ringbuf_size"), "ringbuf_size %d: want a power of two of at least %d", n, os.Getpagesize())
	}
	if c.ProcessTable.MaxEntries < 0 {
		return configError(path, at("process_table"), "process_table.max_entries: want a positive number")
	}
	for _, a := range c.Enforcement.Allow {
		if !strings.HasPrefix(a, "/") {
			return configError(path, at("enforcement"), "enforcement.allow: %q is not an absolute path", a)
		}
	}
	if e := c.Environment; e.Collect != "" && e.Collect != "auto" && e.Collect != "always" && e.Collect != "never" {
		return configError(path, at("environment"), "environment.collect %q: want auto, always or never", e.Collect)
	}
	if n := c.Environment.MaxBytes; n < 0 || n > bpf.MaxEnvBytes {
		return configError(path, at("environment"), "environment.max_bytes %d: want 1 to %d", n, bpf.MaxEnvBytes)
	}
	if c.Containers.Timeout < 0 || c.Containers.CacheSize < 0 {
		return configError(path, at("containers"), "containers: timeout and cache_size must not be negative")
	}
	var lvl slog.Level
	if c.Log.Level != "" && lvl.UnmarshalText([]byte(c.Log.Level)) != nil {
		return configError(path, at("log"), "log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "" && c.Log.Format != "text" && c.Log.Format != "json" {
		return configError(path, at("log"), "log.format %q: want text or json", c.Log.Format)
	}
	return nil
}

// expandEnv replaces ${NAME} in every scalar with the environment's value.
func expandEnv(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = os.Expand(n.Value, os.Getenv)
	}
	for _, c := range n.Content {
		expandEnv(c)
	}
}

func decodeSink(file string, n *yaml.Node) (sinkConfig, error) {
	sc := sinkConfig{pos: fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)}
	if n.Kind != yaml.MappingNode {
		return sc, configError(file, n, "a sink is a mapping (type: ...)")
	}
	common := &yaml.Node{Kind: yaml.MappingNode}
	specific := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i < len(n.Content); i += 2 {
		target := specific
		if slices.Contains(commonSinkKeys, n.Content[i].Value) {
			target = common
		}
		target.Content = append(target.Content, n.Content[i], n.Content[i+1])
	}
	if err := decodeStrict(file, common, &sc); err != nil {
		return sc, err
	}
	opts, known := sinkTypes[sc.Type]
	if !known {
		return sc, configError(file, n, "sink type %q: want one of %s", sc.Type, strings.Join(slices.Sorted(mapKeys(sinkTypes)), ", "))
	}
	if opts == nil && len(specific.Content) > 0 {
		return sc, configError(file, specific.Content[0], "unknown key %q for a %s sink (known: %s)", specific.Content[0].Value, sc.Type, strings.Join(commonSinkKeys, ", "))
	}
	if opts != nil {
		if err := checkKeys(file, specific, reflect.TypeOf(opts).Elem(), commonSinkKeys); err != nil {
			return sc, err
		}
	}
	sc.node = specific
	switch {
	case (sc.Type == "stdout" || sc.Type == "file") && sc.Format != "" && sc.Format != "json" && sc.Format != "text":
		return sc, configError(file, n, "format %q: a %s sink writes json or text", sc.Format, sc.Type)
	case (sc.Type == "webhook" || sc.Type == "nats") && sc.Format != "" && sc.Format != "json":
		return sc, configError(file, n, "format %q: a %s sink sends the alert's JSON (omit format)", sc.Format, sc.Type)
	case sc.Type == "syslog" && sc.Format != "" && sc.Format != "rfc5424" && sc.Format != "rfc3164":
		return sc, configError(file, n, "format %q: a syslog sink writes rfc5424 or rfc3164 (with the alert's JSON as message)", sc.Format)
	}
	if sc.MinPriority != "" {
		if _, ok := sinks.ParsePriority(sc.MinPriority); !ok {
			return sc, configError(file, n, "min_priority %q: want emergency, alert, critical, error, warning, notice, informational or debug", sc.MinPriority)
		}
	}
	return sc, nil
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

// decodeStrict decodes n into v after checking that every key is one of
// v's yaml fields; errors carry file:line:col.
func decodeStrict(file string, n *yaml.Node, v any) error {
	if err := checkKeys(file, n, reflect.TypeOf(v).Elem(), nil); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
	}
	return nil
}

// checkKeys reports the first key of mapping n that struct t lacks,
// recursing into nested structs; extra are keys allowed besides.
func checkKeys(file string, n *yaml.Node, t reflect.Type, extra []string) error {
	if n.Kind != yaml.MappingNode {
		return configError(file, n, "want a mapping")
	}
	known := map[string]reflect.Type{}
	var names []string
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			parts := strings.Split(f.Tag.Get("yaml"), ",")
			if slices.Contains(parts[1:], "inline") {
				collect(f.Type) // its keys belong to this mapping
				continue
			}
			if parts[0] == "" || parts[0] == "-" {
				continue
			}
			known[parts[0]] = f.Type
			names = append(names, parts[0])
		}
	}
	collect(t)
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := known[k.Value]
		if !ok {
			if slices.Contains(extra, k.Value) {
				continue
			}
			return configError(file, k, "unknown key %q (known: %s)", k.Value, strings.Join(append(names, extra...), ", "))
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.String() != "time.Duration" {
			if err := checkKeys(file, v, ft, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildSinks creates the configured sinks and starts the fan-out.
func buildSinks(ctx context.Context, log *slog.Logger, cfg *config, file string, stdout io.Writer) (*sinks.Fanout, []*stream.Sink, error) {
	if log == nil {
		log = slog.Default()
	}
	scs := cfg.Sinks
	var outs []sinks.Output
	var files []*stream.Sink
	closeAll := func() {
		for _, o := range outs {
			o.Sink.Close(ctx)
		}
	}
	for i, sc := range scs {
		s, err := newSink(sc, stdout, log)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %s sink: %w", sc.pos, sc.Type, err)
		}
		if fs, ok := s.(*stream.Sink); ok && sc.Type == "file" {
			files = append(files, fs)
		}
		level := 7
		if sc.MinPriority != "" {
			level, _ = sinks.ParsePriority(sc.MinPriority)
		}
		outs = append(outs, sinks.Output{
			Name: fmt.Sprintf("%s#%d", sc.Type, i+1), Sink: s, QueueSize: sc.QueueSize,
			Filter: sinks.Filter{MinLevel: level, Rules: sc.Rules, Tags: sc.Tags},
		})
	}
	return sinks.NewFanout(log, outs...), files, nil
}

func newSink(sc sinkConfig, stdout io.Writer, log *slog.Logger) (sinks.Sink, error) {
	format := sinks.Format(sc.Format)
	decode := func(v interface{ Validate() error }) error {
		if err := sc.node.Decode(v); err != nil {
			return err
		}
		return v.Validate()
	}
	switch sc.Type {
	case "stdout":
		if format == "" {
			format = sinks.FormatText
		}
		return stream.NewWriter(stdout, format)
	case "file":
		var fc fileSinkConfig
		if err := sc.node.Decode(&fc); err != nil {
			return nil, err
		}
		if fc.Path == "" {
			return nil, fmt.Errorf("path is required")
		}
		return stream.Open(fc.Path, format)
	case "syslog":
		var c syslog.Config
		if sc.Format != "" {
			c.Format = sc.Format // rfc5424 | rfc3164
		}
		if err := decode(&c); err != nil {
			return nil, err
		}
		return syslog.New(c)
	case "webhook":
		var c webhook.Config
		if err := decode(&c); err != nil {
			return nil, err
		}
		return webhook.New(c)
	case "nats":
		var c natssink.Config
		if err := sc.node.Decode(&c); err != nil {
			return nil, err
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return natssink.New(c, natssink.WithLogger(log))
	}
	return nil, fmt.Errorf("unknown sink type %q", sc.Type)
}

func configCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check configuration files (no root needed)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file and every rules file it names; errors with file:line:col",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, err := loadConfig(args[0])
			if err != nil {
				return err
			}
			for _, sc := range cfg.Sinks {
				if err := validateSink(sc); err != nil {
					return fmt.Errorf("%s: %s sink: %w", sc.pos, sc.Type, err)
				}
			}
			rs, err := compileRules(cfg.Rules)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ok: %d sinks, %d rules\n", len(cfg.Sinks), len(rs.Rules))
			return nil
		},
	})
	return cmd
}

// validateSink checks a sink's options without opening anything.
func validateSink(sc sinkConfig) error {
	switch sc.Type {
	case "file":
		var fc fileSinkConfig
		if err := sc.node.Decode(&fc); err != nil {
			return err
		}
		if fc.Path == "" {
			return fmt.Errorf("path is required")
		}
	case "syslog":
		var c syslog.Config
		c.Format = sc.Format
		if err := sc.node.Decode(&c); err != nil {
			return err
		}
		return c.Validate()
	case "webhook":
		var c webhook.Config
		if err := sc.node.Decode(&c); err != nil {
			return err
		}
		return c.Validate()
	case "nats":
		var c natssink.Config
		if err := sc.node.Decode(&c); err != nil {
			return err
		}
		return c.Validate()
	}
	return nil
}
