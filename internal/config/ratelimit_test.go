package config

import (
	"strings"
	"testing"
)

func TestRateLimitSettings(t *testing.T) {
	c, err := load(t, map[string]string{"SIGNET_RATE_LIMIT": "off", "SIGNET_TRUSTED_PROXY": "10.0.0.0/8,::1"})
	if err != nil || c.RateLimit != "off" || len(c.TrustedProxies) != 2 {
		t.Fatalf("from env: %+v, %v", c, err)
	}
	c, err = load(t, nil, "--rate-limit-target", "5/1m,burst=2", "--trusted-proxy", "192.168.0.0/16",
		"--rate-limit-redis", "redis://127.0.0.1:6379/0")
	if err != nil || c.RateLimit != "on" || c.RateLimitTarget != "5/1m,burst=2" || c.TrustedProxies[0] != "192.168.0.0/16" {
		t.Fatalf("from flags: %+v, %v", c, err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"switch", []string{"--rate-limit", "maybe"}, "--rate-limit "},
		{"address", []string{"--rate-limit-address", "lots"}, "--rate-limit-address"},
		{"target", []string{"--rate-limit-target", "0/1m"}, "--rate-limit-target"},
		{"send", []string{"--rate-limit-send", "5/1fortnight"}, "--rate-limit-send"},
		{"identity", []string{"--rate-limit-identity", "10/1m,burst=x"}, "--rate-limit-identity"},
		{"global", []string{"--rate-limit-global", ""}, "--rate-limit-global"},
		{"trusted proxy", []string{"--trusted-proxy", "proxy.internal"}, "--trusted-proxy"},
		{"redis scheme", []string{"--rate-limit-redis", "http://127.0.0.1:6379"}, "--rate-limit-redis"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	// A Redis URL with a password is never echoed.
	_, err = load(t, nil, "--rate-limit-redis", "https://user:hunter2@redis")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must not contain the password", err)
	}
}
