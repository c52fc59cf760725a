package process

import (
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	cases := []struct {
		exe, cmdline, want string
	}{
		// Shells.
		{"/usr/bin/dash", "sh payload.sh", "/tmp/payload.sh"},
		{"/usr/bin/dash", "sh ./x/../payload.sh a b", "/tmp/payload.sh"},
		{"/usr/bin/bash", "bash /root/run.sh", "/root/run.sh"},
		{"/usr/bin/bash", "bash -x -e run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash -xe run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash -o pipefail run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash -eo pipefail run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash +o posix -O extglob +O nullglob run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash --norc --rcfile /etc/rc run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash --init-file=/etc/rc run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash -- -dash.sh", "/tmp/-dash.sh"},
		{"/usr/bin/dash", "sh - run.sh", "/tmp/run.sh"},
		{"/usr/bin/bash", "bash -c ./run.sh", ""},
		{"/usr/bin/bash", "bash -ec ./run.sh", ""},
		{"/usr/bin/bash", "bash -s arg", ""},
		{"/usr/bin/bash", "bash -i", ""},
		{"/usr/bin/bash", "-bash", ""}, // a login shell
		{"/usr/bin/bash", "bash", ""},
		{"/usr/bin/bash", "bash -o", ""},
		{"/usr/bin/zsh", "zsh --emulate sh s.zsh", "/tmp/s.zsh"},
		{"/usr/bin/ksh93", "ksh script", "/tmp/script"},
		{"/usr/bin/mksh", "mksh -T- /bin/script", "/bin/script"},
		{"/bin/busybox", "sh /tmp/x.sh", "/tmp/x.sh"},
		{"/bin/busybox", "ash -c id", ""},
		{"/bin/busybox", "busybox sh y.sh", "/tmp/y.sh"},
		{"/bin/busybox", "busybox", ""},
		{"/bin/busybox", "ls x.sh", ""},
		{"/usr/bin/dash (deleted)", "sh run.sh", "/tmp/run.sh"},
		// Python.
		{"/usr/bin/python3.11", "python3 app.py --port 80", "/tmp/app.py"},
		{"/usr/bin/python3.11", "python3 -u -B /srv/app.py", "/srv/app.py"},
		{"/usr/bin/python3.11", "python3 -uB app.py", "/tmp/app.py"},
		{"/usr/bin/python3.11", "python3 -W ignore -X dev app.py", "/tmp/app.py"},
		{"/usr/bin/python3.11", "python3 -Wignore -Xdev app.py", "/tmp/app.py"},
		{"/usr/bin/python3.11", "python3 --check-hash-based-pycs always app.py", "/tmp/app.py"},
		{"/usr/bin/python3.11", "python3 -c import os", ""},
		{"/usr/bin/python3.11", "python3 -Ic import os", ""},
		{"/usr/bin/python3.11", "python3 -m http.server", ""},
		{"/usr/bin/python3.11", "python3 -", ""},
		{"/usr/bin/python3.11", "python3", ""},
		{"/usr/bin/python2.7", "python -- x.py", "/tmp/x.py"},
		// Perl, Ruby, Node, PHP, Lua, Tcl.
		{"/usr/bin/perl", "perl -w x.pl", "/tmp/x.pl"},
		{"/usr/bin/perl", "perl -I lib -Mstrict -MData::Dumper x.pl", "/tmp/x.pl"},
		{"/usr/bin/perl", "perl -CSDA x.pl", "/tmp/x.pl"},
		{"/usr/bin/perl", "perl -CSDe print", ""}, // -C's value ends before e
		{"/usr/bin/perl", "perl -Mstrict -e print", ""},
		{"/usr/bin/perl", "perl -l0ne print", ""},
		{"/usr/bin/perl", "perl -i.bak -pe s/a/b/ f", ""},
		{"/usr/bin/perl", "perl -x/tmp/dir x.pl", "/tmp/x.pl"},
		{"/usr/bin/perl", "perl -e print", ""},
		{"/usr/bin/perl", "perl -lne print", ""},
		{"/usr/bin/perl5.36.0", "perl -E say", ""},
		{"/usr/bin/ruby3.1", "ruby -w app.rb", "/tmp/app.rb"},
		{"/usr/bin/ruby3.1", "ruby -I lib -r json -Ke app.rb", "/tmp/app.rb"},
		{"/usr/bin/ruby3.1", "ruby --disable gems app.rb", "/tmp/app.rb"},
		{"/usr/bin/ruby3.1", "ruby -e puts", ""},
		{"/usr/bin/ruby3.1", "ruby -Kue puts", ""},
		{"/usr/bin/ruby3.1", "ruby -W:no-deprecated app.rb", "/tmp/app.rb"},
		{"/usr/bin/node", "node server.js", "/tmp/server.js"},
		{"/usr/bin/node", "node --inspect=9229 -r dotenv/config --require ts-node/register server.js", "/tmp/server.js"},
		{"/usr/bin/node", "node -e require('child_process')", ""},
		{"/usr/bin/node", "node --eval x", ""},
		{"/usr/bin/node", "node -p 1", ""},
		{"/usr/bin/node", "node", ""},
		{"/usr/bin/php8.2", "php index.php", "/tmp/index.php"},
		{"/usr/bin/php8.2", "php -d display_errors=1 -f /var/www/shell.php", "/var/www/shell.php"},
		{"/usr/bin/php8.2", "php -fshell.php", "/tmp/shell.php"},
		{"/usr/bin/php8.2", "php -r system('id');", ""},
		{"/usr/bin/php8.2", "php -S 0.0.0.0:80", ""},
		{"/usr/bin/lua5.4", "lua x.lua", "/tmp/x.lua"},
		{"/usr/bin/lua5.4", "lua -e x=1 -l socket x.lua", "/tmp/x.lua"},
		{"/usr/bin/lua5.4", "lua -e os.execute('id')", ""},
		{"/usr/bin/lua5.4", "lua -", ""},
		{"/usr/bin/tclsh8.6", "tclsh x.tcl a", "/tmp/x.tcl"},
		{"/usr/bin/tclsh8.6", "tclsh -encoding utf-8 x.tcl", "/tmp/x.tcl"},
		{"/usr/bin/tclsh8.6", "tclsh -x x.tcl", ""},
		{"/usr/bin/tclsh8.6", "tclsh", ""},
		// No interpreter.
		{"/usr/bin/cat", "cat x.sh", ""},
		{"/usr/bin/shred", "shred x.sh", ""},
		{"/usr/bin/pythonista", "pythonista x.py", ""},
	}
	for _, c := range cases {
		if got := Script(c.exe, strings.Fields(c.cmdline), "/tmp"); got != c.want {
			t.Errorf("Script(%q, %q) = %q, want %q", c.exe, c.cmdline, got, c.want)
		}
	}
	// An empty argument, an empty argv, no cwd.
	if got := Script("/usr/bin/dash", []string{"sh", ""}, "/tmp"); got != "" {
		t.Errorf(`sh "": %q`, got)
	}
	if got := Script("/usr/bin/dash", nil, "/tmp"); got != "" {
		t.Errorf("no argv: %q", got)
	}
	if got := Script("/usr/bin/dash", []string{"sh", "a//b.sh"}, ""); got != "a/b.sh" {
		t.Errorf("no cwd: %q", got)
	}
}

func FuzzScript(f *testing.F) {
	f.Add("/usr/bin/bash", "bash\x00-eo\x00pipefail\x00x.sh", "/tmp")
	f.Add("/usr/bin/php", "php\x00-f", "")
	f.Fuzz(func(t *testing.T, exe, args, cwd string) {
		s := Script(exe, strings.Split(args, "\x00"), cwd)
		if s != "" && s[0] != '/' && strings.HasPrefix(cwd, "/") {
			t.Errorf("Script(%q, %q, %q) = %q, not absolute", exe, args, cwd, s)
		}
	})
}
