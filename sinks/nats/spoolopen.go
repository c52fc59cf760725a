package nats

import "github.com/vigil-project/vigil/sinks/spool"

// openSpool opens the sinks/spool directory; a function of its own so the
// rest of the sink needs only the spooler interface.
func openSpool(dir string, maxBytes int64) (spooler, error) {
	sp, err := spool.Open(dir, maxBytes)
	if err != nil {
		return nil, err
	}
	return sp, nil
}
