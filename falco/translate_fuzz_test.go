package falco_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/rules"
)

// FuzzTranslate drives a Falco condition through the whole load: the
// Falco file reader, the parser, the translation to CEL and the engine's
// compiler. It must never panic, and every error must point into the
// file.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`evt.type in (open,openat) and fd.name startswith /etc and not proc.name in (shells)`,
		`spawned and proc.aname[2] = sshd and thread.cap_effective contains CAP_SYS_ADMIN`,
		`evt.type = connect and fd.snet in (10.0.0.0/8, "192.168.0.0/16") and fd.sport != 443`,
		`evt.res startswith E and evt.rawres < -1 and evt.dir = <`,
		`tolower(proc.name) glob "*sh" or proc.args icontains "-c" or fd.name pmatch (/etc, /var/lib)`,
		`proc.env[LD_PRELOAD] exists and container.image.repository endswith nginx`,
		`evt.type = bpf and evt.arg.cmd = 5`,
		`not (evt.type = execve) and fd.typechar = 4`,
		`fd.ip = 1.2.3.4 or fd.num >= 0 or proc.duration > 1000000000`,
		`evt.type in (sendto) and fd.name = x`,
	} {
		f.Add(s)
	}
	c, err := engine.NewCompiler(engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		if strings.ContainsAny(cond, "\r\n\x00") {
			return // one YAML line
		}
		src := "- list: shells\n  items: [bash, sh]\n- macro: spawned\n  condition: evt.type = execve\n- rule: r\n  desc: d\n  condition: " +
			strconv.Quote(cond) + "\n  output: o\n  priority: WARNING\n"
		set, err := rules.LoadSources(rules.Source{Name: "f.yaml", Data: []byte(src), Dialect: rules.DialectFalco})
		if err == nil {
			_, err = c.CompileContext(context.Background(), set)
		}
		var errs rules.Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatalf("%q: not positioned errors: %v", cond, err)
		}
		for _, e := range errs {
			if e.Pos.File != "f.yaml" || e.Pos.Line < 1 {
				t.Errorf("%q: error without a position in the file: %v", cond, e)
			}
		}
	})
}
