package main

import (
	"context"
	"os"
	"testing"
)

// TestMain lets a test run this binary as vigil itself: with
// VIGIL_TEST_AS_VIGIL=1 it is the vigil command, not the tests (for tests
// about processes that run vigil's executable).
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_VIGIL") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
