package bpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/internal/testenv"
)

// The script an interpreter runs, from its arguments and cwd: cd /tmp;
// sh payload.sh runs /tmp/payload.sh; a #! script's exec is its
// interpreter's with the script as argument.
func TestExecScript(t *testing.T) {
	c := live(t)
	dir := tempDir(t)
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("payload.sh", "exit 0\n")
	write("run.sh", "#!/bin/sh\nexit 0\n")
	write("x.pl", "exit 0;\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, _ := event.FieldByName("proc.script")
	scriptDir, _ := event.FieldByName("proc.script_dir")
	cases := []struct {
		argv      []string
		name      string
		want, cwd string
	}{
		{[]string{"/bin/sh", "payload.sh"}, "sh", filepath.Join(dir, "payload.sh"), dir},
		{[]string{"/bin/sh", "-e", "../payload.sh"}, "sh", filepath.Join(dir, "payload.sh"), filepath.Join(dir, "sub")},
		{[]string{"./run.sh", "arg"}, "run.sh", filepath.Join(dir, "run.sh"), dir},
		{[]string{"/bin/sh", "-c", "exit 0"}, "sh", "", dir},
		{[]string{"/usr/bin/perl", "-w", "x.pl"}, "perl", filepath.Join(dir, "x.pl"), dir},
		{[]string{"/usr/bin/perl", "-e", "exit 0"}, "perl", "", dir},
		{[]string{"/bin/cat", "payload.sh"}, "cat", "", dir},
	}
	for _, tc := range cases {
		if tc.name == "perl" && testenv.InKernelMatrix() && !testenv.HaveTool("perl") {
			continue // the matrix's busybox root has no perl; the host run covers it
		}
		cmd := exec.Command(tc.argv[0], tc.argv[1:]...)
		cmd.Dir = tc.cwd
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%q: %v %s", tc.argv, err, out)
		}
		ev := c.waitFor(t, tc.name, func(e *event.Event) bool {
			return e.Type == event.TypeExec && e.Proc.PID == uint32(cmd.Process.Pid) && e.Proc.Name == tc.name
		})
		wantDir := ""
		if tc.want != "" {
			wantDir = filepath.Dir(tc.want)
		}
		if got, gotDir := script.Str(ev), scriptDir.Str(ev); got != tc.want || gotDir != wantDir {
			t.Errorf("%q in %s: proc.script %q, proc.script_dir %q; want %q, %q", tc.argv, tc.cwd, got, gotDir, tc.want, wantDir)
		}
	}
}
