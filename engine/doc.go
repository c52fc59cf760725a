// Package engine judges events with rules: the CEL environment (every
// field of engine/event typed, plus the functions rule authors need),
// compiling a rules.Set into programs indexed by event type, evaluating
// them with one reused activation per event, rendering outputs into
// alerts, and deriving the kernel prefilters from the compiled conditions.
// It is the only package that imports cel-go.
package engine
