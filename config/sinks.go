package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
	natssink "github.com/vigil-project/vigil/sinks/nats"
	"github.com/vigil-project/vigil/sinks/stream"
	"github.com/vigil-project/vigil/sinks/syslog"
	"github.com/vigil-project/vigil/sinks/webhook"
)

// Sink is one item of sinks: the keys every sink takes, and its
// type-specific options, decoded and validated by its kind.
type Sink struct {
	Type        string   `yaml:"type"`
	MinPriority string   `yaml:"min_priority"`
	Rules       []string `yaml:"rules"`
	Tags        []string `yaml:"tags"`
	Format      string   `yaml:"format"`
	QueueSize   int      `yaml:"queue_size"`

	// Options are the kind's own options (*webhook.Config, ...; nil for
	// kinds without options).
	Options any `yaml:"-"`
	// Pos is file:line:col of the item, or what stands for it ("--format").
	Pos string `yaml:"-"`
}

var commonSinkKeys = []string{"type", "min_priority", "rules", "tags", "format", "queue_size"}

// Opening is what opening a sink may use besides its options.
type Opening struct {
	Stdout io.Writer
	Log    *slog.Logger
}

// SinkKind is one row of the registry: how a type's options are read,
// checked without opening anything, and opened.
type SinkKind struct {
	// Options returns a new value to decode the type's own keys into
	// (nil: the type takes none).
	Options func() any
	// Formats are the format: values it writes, the default first.
	Formats []string
	// FormatHint follows "format %q: " when format is none of Formats.
	FormatHint string
	// Prepare, when set, gives the options what the common keys say,
	// before the type's own keys are decoded.
	Prepare func(opts any, s *Sink)
	// Validate checks the options (nil: nothing to check).
	Validate func(opts any) error
	// Open makes the sink.
	Open func(s *Sink, o Opening) (sinks.Sink, error)
}

// FileSink is the file sink's options.
type FileSink struct {
	Path string `yaml:"path"`
}

// Validate requires a path.
func (f *FileSink) Validate() error {
	if f.Path == "" {
		return fmt.Errorf("path is required")
	}
	return nil
}

// validator is the options of kinds that check themselves.
type validator interface{ Validate() error }

func selfValidate(opts any) error { return opts.(validator).Validate() }

// SinkKinds is the registry of sink types: one row per type.
var SinkKinds = map[string]SinkKind{
	"stdout": {
		Formats: []string{"text", "json"}, FormatHint: "a stdout sink writes json or text",
		Open: func(s *Sink, o Opening) (sinks.Sink, error) {
			return stream.NewWriter(o.Stdout, sinks.Format(orDefault(s.Format, "text")))
		},
	},
	"file": {
		Options: func() any { return &FileSink{} },
		Formats: []string{"json", "text"}, FormatHint: "a file sink writes json or text",
		Validate: selfValidate,
		Open: func(s *Sink, _ Opening) (sinks.Sink, error) {
			return stream.Open(s.Options.(*FileSink).Path, sinks.Format(s.Format))
		},
	},
	"syslog": {
		Options: func() any { return &syslog.Config{} },
		Formats: []string{syslog.FormatRFC3164, syslog.FormatRFC5424}, FormatHint: "a syslog sink writes rfc5424 or rfc3164 (with the alert's JSON as message)",
		Prepare: func(opts any, s *Sink) {
			if s.Format != "" {
				opts.(*syslog.Config).Format = s.Format
			}
		},
		Validate: selfValidate,
		Open:     func(s *Sink, _ Opening) (sinks.Sink, error) { return syslog.New(*s.Options.(*syslog.Config)) },
	},
	"webhook": {
		Options: func() any { return &webhook.Config{} },
		Formats: []string{"json"}, FormatHint: "a webhook sink sends the alert's JSON (omit format)",
		Validate: selfValidate,
		Open: func(s *Sink, o Opening) (sinks.Sink, error) {
			return webhook.New(*s.Options.(*webhook.Config), webhook.WithLogger(o.Log))
		},
	},
	"nats": {
		Options: func() any { return &natssink.Config{} },
		Formats: []string{"json"}, FormatHint: "a nats sink sends the alert's JSON (omit format)",
		Validate: func(opts any) error { return opts.(*natssink.Config).Validate() },
		Open: func(s *Sink, o Opening) (sinks.Sink, error) {
			return natssink.New(*s.Options.(*natssink.Config), natssink.WithLogger(o.Log))
		},
	},
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func decodeSinks(file string, v *yaml.Node) ([]Sink, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, errorAt(file, v, "sinks: want a list of sinks")
	}
	var out []Sink
	for _, item := range v.Content {
		s, err := decodeSink(file, item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeSink decodes one sinks item with its kind's row: common keys,
// then the kind's own, then both checked.
func decodeSink(file string, n *yaml.Node) (Sink, error) {
	s := Sink{Pos: position(file, n)}
	if n.Kind != yaml.MappingNode {
		return s, errorAt(file, n, "a sink is a mapping (type: ...)")
	}
	common := &yaml.Node{Kind: yaml.MappingNode}
	own := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i < len(n.Content); i += 2 {
		target := own
		if slices.Contains(commonSinkKeys, n.Content[i].Value) {
			target = common
		}
		target.Content = append(target.Content, n.Content[i], n.Content[i+1])
	}
	if err := decodeStrict(file, common, &s, nil); err != nil {
		return s, err
	}
	kind, known := SinkKinds[s.Type]
	if !known {
		return s, errorAt(file, n, "sink type %q: want one of %s", s.Type, strings.Join(slices.Sorted(mapKeys(SinkKinds)), ", "))
	}
	if kind.Options == nil && len(own.Content) > 0 {
		return s, errorAt(file, own.Content[0], "unknown key %q for a %s sink (known: %s)", own.Content[0].Value, s.Type, strings.Join(commonSinkKeys, ", "))
	}
	if s.Format != "" && !slices.Contains(kind.Formats, s.Format) {
		return s, errorAt(file, n, "format %q: %s", s.Format, kind.FormatHint)
	}
	if s.MinPriority != "" {
		if _, ok := event.ParsePriority(s.MinPriority); !ok {
			return s, errorAt(file, n, "min_priority %q: want %s", s.MinPriority, event.PriorityNames)
		}
	}
	if kind.Options != nil {
		s.Options = kind.Options()
		if kind.Prepare != nil {
			kind.Prepare(s.Options, &s) // before: the type's own keys win
		}
		if err := decodeStrict(file, own, s.Options, commonSinkKeys); err != nil {
			return s, err
		}
	}
	if kind.Validate != nil {
		if err := kind.Validate(s.Options); err != nil {
			return s, fmt.Errorf("%s: %s sink: %w", s.Pos, s.Type, err)
		}
	}
	return s, nil
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

// Stdout is the sink `vigil run` uses when the config names none.
func Stdout(format, pos string) Sink { return Sink{Type: "stdout", Format: format, Pos: pos} }

// OpenSinks opens the sinks and starts their fan-out. files are the file
// sinks, which SIGHUP reopens (logrotate).
func OpenSinks(list []Sink, o Opening) (fan *sinks.Fanout, files []*stream.Sink, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	var outs []sinks.Output
	for i := range list {
		s := &list[i]
		sk, err := SinkKinds[s.Type].Open(s, o)
		if err != nil {
			for _, out := range outs {
				out.Sink.Close(context.Background())
			}
			return nil, nil, fmt.Errorf("%s: %s sink: %w", s.Pos, s.Type, err)
		}
		if fs, ok := sk.(*stream.Sink); ok && s.Type == "file" {
			files = append(files, fs)
		}
		level := event.PriorityDebug
		if s.MinPriority != "" {
			level, _ = event.ParsePriority(s.MinPriority)
		}
		outs = append(outs, sinks.Output{
			Name: fmt.Sprintf("%s#%d", s.Type, i+1), Sink: sk, QueueSize: s.QueueSize,
			Filter: sinks.Filter{MinLevel: level.Level(), Rules: s.Rules, Tags: s.Tags},
		})
	}
	return sinks.NewFanout(o.Log, outs...), files, nil
}
