package sinks

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CertPool reads the PEM certificates of file into a pool, for the sinks
// that verify a server against a private CA.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", file)
	}
	return pool, nil
}
