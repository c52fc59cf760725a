// Package config owns vigil's configuration file (`vigil run --config`):
// its schema, defaults, ${ENV} expansion, strict decoding with
// file:line:col on every error, validation, and the one registry of sink
// kinds (SinkKinds: how each type's options decode, validate and open).
// It reads files and builds values; it starts nothing that runs.
package config
