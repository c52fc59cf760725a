package process

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel stamps records with bpf_ktime_get_boot_ns and /proc counts
// start times from boot: both are CLOCK_BOOTTIME, which, unlike
// CLOCK_MONOTONIC, keeps counting through suspend. These two functions
// are the one place that reads it.

// Uptime returns CLOCK_BOOTTIME now.
func Uptime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("read CLOCK_BOOTTIME: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// BootTime returns the wall-clock time of boot: now minus Uptime. Adding
// a CLOCK_BOOTTIME stamp to it gives the stamp's wall-clock time.
func BootTime() (time.Time, error) {
	now := time.Now()
	up, err := Uptime()
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(-up), nil
}
