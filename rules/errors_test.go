package rules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/errors")

// TestErrorsGolden loads each testdata/errors/<case>.yaml alone and
// compares the errors, as `vigil rules validate` prints them, with
// <case>.golden.
func TestErrorsGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadSources(Source{Name: filepath.Base(path), Data: data})
			if err == nil {
				t.Fatal("no error")
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error is a %T, not Errors", err)
			}
			for _, e := range errs {
				if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Code == "" || e.Msg == "" {
					t.Errorf("incomplete error: %#v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -run TestErrorsGolden -update to accept)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestErrorRender(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{
			Error{Pos: Pos{"rules.yaml", 12, 5}, Item: `rule "Foo"`, Code: CodeUnknownKey, Msg: `unknown key "condtion"`, Line: `    condtion: evt.type == "exec"`},
			"rules.yaml:12:5: rule \"Foo\": unknown key \"condtion\" (LOAD_UNKNOWN_KEY)\n    condtion: evt.type == \"exec\"\n    ^",
		},
		{
			Error{Pos: Pos{"r.yaml", 1, 4}, Code: CodeYAML, Msg: "m", Line: "\t\tx"},
			"r.yaml:1:4: m (LOAD_YAML)\n\t\tx\n\t\t ^",
		},
		{
			Error{Pos: Pos{"r.yaml", 2, 3}, Code: CodeYAML, Msg: "no line"},
			"r.yaml:2:3: no line (LOAD_YAML)",
		},
		{
			Error{Pos: Pos{"r.yaml", 2, 6}, Code: CodeYAML, Msg: "past the end", Line: "ab"},
			"r.yaml:2:6: past the end (LOAD_YAML)\nab\n     ^",
		},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
		}
	}
}

func TestNewError(t *testing.T) {
	set := loadOne(t, Source{Name: "a.yaml", Data: []byte("- macro: m\n  condition: >\n    a &&\n    b\n")})
	c := set.Macros[0].Condition
	e := NewError(set, c.Pos(5), `macro "m"`, "LOAD_CONDITION", "undeclared reference to %q", "b")
	want := "a.yaml:4:5: macro \"m\": undeclared reference to \"b\" (LOAD_CONDITION)\n    b\n    ^"
	if e.Error() != want {
		t.Errorf("got:\n%s\nwant:\n%s", e, want)
	}
	if e := NewError(nil, Pos{"x.yaml", 1, 1}, "", "C", "m"); e.Line != "" {
		t.Errorf("nil set: Line = %q", e.Line)
	}
}
