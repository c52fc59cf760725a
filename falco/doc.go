// Package falco owns Falco's rules dialect beyond the file format (which
// package rules reads): the condition language (Parse, with a byte offset
// on every node and error), Falco's field and event names and what each
// is in vigil (fields.go, evttype.go, missing.go), the translation of
// Falco conditions to CEL over vigil's fields (Translate), and the fields
// of Falco's output templates (OutputField).
//
// Translation keeps Falco's answers: a comparison on a field an event does
// not have is false, as Falco's extraction fails there, whatever the
// operator (the guard is left out where the zero value cannot satisfy it,
// so that the kernel prefilters see the plain field); Falco's event names
// become vigil's types and evt.syscall; evt.dir is always "<" (vigil
// records exits); evt.res names become numbers at load. Falco macros
// become CEL macros of their own namespace (MacroName), translated once
// each, so loading stays linear in the macro graph; Falco lists are
// expanded where they are used, lists in lists included. A rule that needs
// a field or event vigil does not have is left out with a warning naming
// the field and its position; the rest of the file loads.
package falco
