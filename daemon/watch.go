package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-project/vigil/rules"
)

// reloadDebounce lets an editor finish writing (write, rename, chmod)
// before the rules are compiled.
const reloadDebounce = 200 * time.Millisecond

// watchRules asks for a reload (on reload, never blocking) when a rules
// file or a *.yaml/*.yml file in a rules directory changes. It watches
// directories rather than files, because editors replace a file by
// renaming a new one over it.
func watchRules(ctx context.Context, paths []string, reload chan<- struct{}) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	// names[dir] lists the watched names in dir; nil means every rules file.
	names := map[string][]string{}
	dirs := map[int]string{}
	for _, p := range paths {
		if p == rules.Builtin {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("watch rules: %w", err)
		}
		dir, name := filepath.Dir(abs), filepath.Base(abs)
		if st, err := os.Stat(abs); err == nil && st.IsDir() {
			dir, name = abs, ""
		}
		if _, seen := names[dir]; !seen {
			wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_CREATE|unix.IN_DELETE)
			if err != nil {
				unix.Close(fd)
				return fmt.Errorf("watch rules in %s: %w", dir, err)
			}
			dirs[wd] = dir
			names[dir] = []string{}
		}
		if name == "" {
			names[dir] = nil
		} else if names[dir] != nil {
			names[dir] = append(names[dir], name)
		}
	}
	if len(dirs) == 0 {
		unix.Close(fd)
		return nil
	}
	go func() {
		defer unix.Close(fd)
		buf := make([]byte, 64<<10)
		var due <-chan time.Time
		for {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			unix.Poll(pfd, 100)
			select {
			case <-ctx.Done():
				return
			case <-due:
				due = nil
				select {
				case reload <- struct{}{}:
				default: // a reload is already pending
				}
			default:
			}
			n, err := unix.Read(fd, buf)
			if err != nil || n <= 0 {
				continue
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if watched(names[dirs[int(ev.Wd)]], name) {
					due = time.After(reloadDebounce)
				}
			}
		}
	}()
	return nil
}

func watched(names []string, name string) bool {
	if names == nil {
		return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
