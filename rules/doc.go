// Package rules owns the YAML rule format: reading rules files into typed
// lists, macros and rules with a file:line:col on every item and on every
// byte of every condition and output, and collecting several files into one
// Set, applying Falco-style overrides by name in file order.
//
// Loading has two stages, as in Falco: Read checks the syntax and shape of
// one file; Collect applies definitions and overrides across files. Every
// error has a stable code and a position, and as many are reported as can
// be without one error causing others.
//
// An item with an override mapping changes the earlier definition of the
// same name, key by key (append or replace); so does a rule item with
// enabled alone. Appending to a condition gives "(old) new", so that the
// old condition keeps its meaning. Lists, macros and rules have separate
// names, as in Falco; package engine, which sees lists and macros as CEL
// identifiers, checks their names.
//
// Falco's rules files load unmodified as DialectFalco sources
// (FalcoSources): their lists, macros and rules have names of their own,
// apart from vigil's, and follow Falco's loader rather than vigil's
// (falco_read.go, falco_collect.go): a definition of a defined name
// replaces it; appending gives "old new"; exceptions made of fields, comps
// and values become the Falco condition text Falco builds for them; rules
// of sources other than syscall are skipped; keys Falco ignores draw
// warnings (Set.Warnings) rather than errors.
//
// Conditions and outputs are opaque strings here: package engine compiles
// them and uses Text.Pos to place its own errors in the rules files.
package rules
