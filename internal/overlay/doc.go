// Package overlay owns one question about a process in a container: is
// the file it executed on the upper (writable) layer of the overlay
// filesystem at its root, that is, written or modified after the
// container started rather than shipped in its image? It is Falco's
// proc.is_exe_upper_layer, the fact behind "Drop and execute new binary
// in container".
//
// Falco's kernel driver reads the answer from the overlay inode of the
// executable at exec time (a non-NULL upper dentry). vigil cannot rely on
// the overlay module's internal layout from BPF, so this package answers
// in user space, shortly after the exec: it reads the process's root
// mount from /proc/PID/mountinfo, takes the overlay's upperdir from its
// superblock options, and looks the executable's path up inside that
// directory. The lookup never follows a symlink and never leaves the
// upper directory, since its contents are written by the container.
//
// The upperdir in mountinfo is a path in the mount namespace of whoever
// mounted the overlay (the container runtime, on the host). It resolves
// here because vigil runs in the host's mount namespace; a vigil in
// another mount namespace gets known=false or wrong answers.
//
// Because the answer is read after the exec, a file changed in between is
// judged as it is then: an executable of the image modified (copied up)
// after its exec reads as upper, and one deleted since reads as unknown
// (its whiteout does not say whether it had been copied up). An upper
// file that executed and then deleted itself, the common dropper, is
// seen through: it leaves neither an entry nor a whiteout in the upper
// layer, which a file of the image cannot do, so an executable found in
// no layer at all was an upper one. A process that has exited already
// has no root to read in /proc; UpperLayerOr reads another process's,
// such as its parent's in the same container.
//
// One exec costs a few stat and open calls; what mountinfo says is cached
// per mount namespace and root filesystem, with a bound.
package overlay
