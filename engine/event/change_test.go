package event

import (
	"slices"
	"testing"
)

// file.modified, file.change and file.modified_path over every way a file
// is changed, and the look-alikes that change nothing.
func TestChange(t *testing.T) {
	cases := []struct {
		fields           map[string]any
		change, path, nm string
	}{
		{map[string]any{"evt.type": "open", "file.path": "/etc/sudoers", "file.flags": 0x1}, "write", "/etc/sudoers", "sudoers"},
		{map[string]any{"evt.type": "open", "file.path": "/etc/sudoers", "file.flags": 0x241}, "truncate", "/etc/sudoers", "sudoers"},
		{map[string]any{"evt.type": "open", "file.path": "/etc/x", "file.flags": 0x40}, "write", "/etc/x", "x"},
		{map[string]any{"evt.type": "open", "file.path": "/etc/x", "file.flags": 0x200}, "truncate", "/etc/x", "x"},
		{map[string]any{"evt.type": "open", "file.path": "/etc/sudoers", "file.flags": 0x80000}, "", "", ""},
		// sed -i: the temporary file renamed onto the real one.
		{map[string]any{"evt.type": "rename", "file.path": "/etc/sedAb12", "file.newpath": "/etc/sudoers"}, "rename", "/etc/sudoers", "sudoers"},
		{map[string]any{"evt.type": "link", "file.path": "/etc/cron.d/job", "file.target": "/tmp/job"}, "link", "/etc/cron.d/job", "job"},
		{map[string]any{"evt.type": "symlink", "file.path": "/root/.bash_history", "file.target": "/dev/null"}, "symlink", "/root/.bash_history", ".bash_history"},
		{map[string]any{"evt.type": "chmod", "file.path": "/etc/shadow", "file.mode": 0o666}, "chmod", "/etc/shadow", "shadow"},
		{map[string]any{"evt.type": "unlink", "file.path": "/etc/shadow"}, "", "", ""},
		{map[string]any{"evt.type": "exec", "proc.exe": "/usr/bin/vi"}, "", "", ""},
	}
	modified, _ := FieldByName("file.modified")
	dir, _ := FieldByName("file.modified_dir")
	for _, c := range cases {
		e, err := FromFields(c.fields)
		if err != nil {
			t.Fatal(err)
		}
		wantDir := ""
		if c.path != "" {
			wantDir = c.path[:len(c.path)-len(c.nm)-1]
		}
		if e.Change() != c.change || e.ChangedPath() != c.path || modified.Bool(e) != (c.change != "") || baseName(e.ChangedPath()) != c.nm || dir.Str(e) != wantDir {
			t.Errorf("%v: change %q path %q modified %v dir %q; want %q %q dir %q", c.fields, e.Change(), e.ChangedPath(), modified.Bool(e), dir.Str(e), c.change, c.path, wantDir)
		}
	}
	// Every change a type makes is a value of file.change, and the types
	// that make it are the ones TypesChanging names.
	for _, ty := range Types() {
		if c := ty.Info().Change; c != "" && (!TypesChanging(c).Has(ty) || !slices.Contains(Changes, c)) {
			t.Errorf("%s: change %q not in TypesChanging", ty, c)
		}
	}
	if got := TypesChanging(ChangeTruncate); !got.Has(TypeOpen) {
		t.Errorf("TypesChanging(truncate) = %v lacks open", got)
	}
}
