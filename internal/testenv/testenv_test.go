package testenv

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// fakeT records how a helper ended the test. Like testing.T's, its
// Fatalf and Skipf do not return (they panic, and run recovers).
type fakeT struct {
	testing.TB
	ended string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.ended = "fail: " + fmt.Sprintf(format, args...)
	panic(f)
}
func (f *fakeT) Skipf(format string, args ...any) {
	f.ended = "skip: " + fmt.Sprintf(format, args...)
	panic(f)
}

// run calls helper and returns how it ended the test, "" if it did not.
func run(helper func(testing.TB)) (ended string) {
	f := &fakeT{}
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
		ended = f.ended
	}()
	helper(f)
	return ""
}

func TestPolicy(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		name   string
		helper func(testing.TB)
		runs   bool   // the helper lets the test go on
		msg    string // what it says otherwise
	}{
		{"met", func(t testing.TB) { Require(t, true, "x") }, true, ""},
		{"unmet", func(t testing.TB) { Require(t, false, "needs %s", "x") }, false, "needs x"},
		{"unavailable", func(t testing.TB) { Unavailable(t, "no %s", "y") }, false, "no y"},
		{"tool found", func(t testing.TB) { RequireTool(t, "sh") }, true, ""},
		{"tool missing", func(t testing.TB) { RequireTool(t, "vigil-no-such-tool") }, false, "vigil-no-such-tool not installed (make test-deps)"},
		{"root", RequireRoot, root, "needs root"},
	} {
		for _, ci := range []string{"true", "", "1"} { // only "true" is CI
			t.Run(tc.name+"/CI="+ci, func(t *testing.T) {
				t.Setenv("CI", ci)
				want := ""
				switch {
				case tc.runs:
				case ci == "true":
					want = "fail: " + tc.msg + " (CI=true: failing instead of skipping)"
				default:
					want = "skip: " + tc.msg
				}
				if got := run(tc.helper); got != want {
					t.Errorf("ended %q, want %q", got, want)
				}
			})
		}
	}
}

func TestSkipShort(t *testing.T) {
	short := flag.Lookup("test.short")
	old := short.Value.String()
	t.Cleanup(func() { short.Value.Set(old) })
	for _, tc := range []struct {
		short, ci, want string
	}{
		{"true", "", "skip: -short: slow"},
		{"true", "true", ""}, // CI runs everything, -short or not
		{"false", "", ""},
		{"false", "true", ""},
	} {
		short.Value.Set(tc.short)
		t.Setenv("CI", tc.ci)
		if got := run(func(t testing.TB) { SkipShort(t, "slow") }); got != tc.want {
			t.Errorf("-short=%s CI=%q: ended %q, want %q", tc.short, tc.ci, got, tc.want)
		}
	}
}
