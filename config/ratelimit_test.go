package config

import (
	"os"
	"path/filepath"
	"testing"
)

// rate_limit: bad values point at the key's value; good ones reach Config.
func TestRateLimitConfig(t *testing.T) {
	for src, want := range map[string]string{
		"rate_limit:\n  per_second: -5\n": `:2:3: rate_limit: per_second -5, burst 0: want per_second -1 (no limit) to 1000000000 and burst >= 0`,
		"rate_limit:\n  burst: -1\n":      `:2:3: rate_limit: per_second 0, burst -1: want per_second -1 (no limit) to 1000000000 and burst >= 0`,
		"rate_limit:\n  limit: 5\n":       `:2:3: unknown key "limit" (known: per_second, burst)`,
	} {
		p := filepath.Join(t.TempDir(), "vigil.yaml")
		os.WriteFile(p, []byte(src), 0o644)
		_, err := Load(p)
		if err == nil || err.Error() != p+want {
			t.Errorf("%q:\n got %v\nwant %s%s", src, err, p, want)
		}
	}
	p := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(p, []byte("rate_limit: {per_second: 5000, burst: 100}\n"), 0o644)
	cfg, err := Load(p)
	if err != nil || cfg.RateLimit != (RateLimit{PerSecond: 5000, Burst: 100}) {
		t.Errorf("rate_limit: %+v, %v", cfg.RateLimit, err)
	}
}
