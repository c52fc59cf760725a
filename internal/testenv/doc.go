// Package testenv owns the one policy for tests that cannot run on the
// host at hand (no root, a tool not installed, -short): they skip on a
// developer's machine, and they fail under CI=true, where the host is set
// up to run every test and a skipped one would hide that it never ran.
package testenv
