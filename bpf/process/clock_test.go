package process

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClock checks Uptime against /proc/uptime, which the kernel also
// counts in CLOCK_BOOTTIME, and BootTime against Uptime.
func TestClock(t *testing.T) {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err) // every Linux has it
	}
	secs, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	up, err := Uptime()
	if err != nil {
		t.Fatal(err)
	}
	if d := up - time.Duration(secs*float64(time.Second)); d < 0 || d > time.Second {
		t.Errorf("Uptime() = %v, /proc/uptime says %.2fs", up, secs)
	}
	boot, err := BootTime()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(boot) - up; d < 0 || d > time.Second {
		t.Errorf("BootTime() is %v from now minus Uptime()", d)
	}
}
