package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errorAt is an error at a node of the file.
func errorAt(file string, n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// position is file:line:col of n.
func position(file string, n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)
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

// decodeStrict decodes n into v after checking that every key is one of
// v's yaml fields; errors carry file:line:col.
func decodeStrict(file string, n *yaml.Node, v any, extra []string) error {
	if err := checkKeys(file, n, reflect.TypeOf(v).Elem(), extra); err != nil {
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
		return errorAt(file, n, "want a mapping")
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
			return errorAt(file, k, "unknown key %q (known: %s)", k.Value, strings.Join(append(names, extra...), ", "))
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

// valueOf returns the value node of key in mapping n, or n itself.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return n
}
