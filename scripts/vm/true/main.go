// Command true exits 0 whatever it is called: the VM's /bin/true, because
// busybox's applets go by argv[0] and the tests run true through symlinks
// with other names.
package main

func main() {}
