package overlay

import (
	"golang.org/x/sys/unix"
)

// entry is what an upper directory holds at a path.
type entry int

const (
	entryUnknown entry = iota // something else, or the lookup failed
	entryFile                 // a regular file: written or copied up in the container
	entryAbsent               // nothing, and no whiteout on the way
)

// lookup says what the upper directory upper holds at rel (relative, no
// leading "/"). The container writes that directory, so the lookup stays
// beneath it: no symlink is followed (one on the way means the path
// changed since the exec), no mount crossed.
func lookup(upper, rel string) entry {
	if rel == "" {
		return entryUnknown
	}
	dirfd, err := unix.Open(upper, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return entryUnknown
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	switch err {
	case nil:
	case unix.ENOENT:
		return entryAbsent
	default:
		// ENOTDIR: a whiteout or a file hides a directory of the path,
		// which was deleted or replaced since the exec. ELOOP: a symlink.
		return entryUnknown
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return entryUnknown
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		return entryFile
	}
	// A whiteout (a character device 0:0) says the file was deleted since
	// the exec, and whether it had been copied up first is lost.
	return entryUnknown
}
