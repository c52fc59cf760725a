package event

import (
	"strconv"
	"time"
)

// Alert is a rule's verdict on an event: what sinks deliver.
type Alert struct {
	Time     time.Time // the event's time
	Rule     string
	Priority string // Falco's spelling: Emergency ... Debug
	Level    int    // 0 (Emergency) to 7 (Debug): lower is more severe
	Source   string // "syscall", as Falco names its kernel event source
	Output   string // the rule's output template, rendered, values in the text escape (AppendEscaped)
	Fields   []string
	// FieldSources, when set, holds for each of Fields the field its value
	// comes from (a Falco rule names its output fields by Falco's names);
	// nil, or a nil entry, is the field of that name.
	FieldSources []*Field
	Tags         []string
	Hostname     string
	Action       string // "alert" (enforcement adds deny/kill)
	// Degraded is set while vigil is losing events (ring buffer or queues
	// full): other matching events may have gone unseen.
	Degraded bool
	Event    *Event
}

// AppendAlertJSON appends a as one JSON object compatible with Falco's JSON
// output (time, rule, priority, source, output, output_fields, tags,
// hostname), so falcosidekick and SIEM parsers read it unchanged, followed
// by vigil's own keys: action and the full event (every field it has,
// whatever the output names). The values of output_fields and event are
// in the escape of untrusted bytes (AppendJSONString). The alert's own
// strings (rule, output, tags, ...) are text: the output's values are
// escaped already, and each is written as AppendSafeText writes it, so it
// reads the same in the JSON, the text format and syslog's header.
func AppendAlertJSON(b []byte, a *Alert) []byte {
	b = append(b, `{"time":"`...)
	b = a.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","rule":`...)
	b = appendJSONText(b, a.Rule)
	b = append(b, `,"priority":`...)
	b = appendJSONText(b, a.Priority)
	b = append(b, `,"source":`...)
	b = appendJSONText(b, a.Source)
	b = append(b, `,"output":`...)
	b = appendJSONText(b, a.Output)
	b = append(b, `,"output_fields":{`...)
	for i, name := range a.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONText(b, name)
		b = append(b, ':')
		if f := a.fieldSource(i, name); f != nil {
			b = appendJSONValue(b, f, a.Event)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `},"tags":[`...)
	for i, t := range a.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONText(b, t)
	}
	b = append(b, `],"hostname":`...)
	b = appendJSONText(b, a.Hostname)
	b = append(b, `,"action":`...)
	b = appendJSONText(b, a.Action)
	b = append(b, `,"coverage_degraded":`...)
	b = strconv.AppendBool(b, a.Degraded)
	if a.Event == nil {
		return append(b, '}')
	}
	b = append(b, `,"event":`...)
	b = AppendJSON(b, a.Event)
	return append(b, '}')
}

// fieldSource is the field of a.Fields[i], or nil.
func (a *Alert) fieldSource(i int, name string) *Field {
	if i < len(a.FieldSources) && a.FieldSources[i] != nil {
		return a.FieldSources[i]
	}
	if f, ok := FieldByName(name); ok {
		return f
	}
	return nil
}

// AppendAlertText appends a as one line: time, priority, rule (quoted),
// output. Nothing in it can add a line or reorder it on a terminal: the
// rule is AppendQuoted, the output and the rest AppendSafeText.
func AppendAlertText(b []byte, a *Alert) []byte {
	b = a.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = AppendSafeText(b, a.Priority)
	b = append(b, ' ')
	b = AppendQuoted(b, a.Rule)
	b = append(b, ' ')
	b = AppendSafeText(b, a.Output)
	if a.Action != "" && a.Action != "alert" {
		b = append(b, " action="...)
		b = AppendSafeText(b, a.Action)
	}
	if a.Degraded {
		b = append(b, " coverage=degraded"...)
	}
	return b
}
