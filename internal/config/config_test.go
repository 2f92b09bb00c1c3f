package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	c := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish, err := c.Register(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &c, c.Validate()
}

func TestDefaultsValidate(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Database != "sqlite:signet.db" || c.CodeTTL != 4*time.Hour {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestSources(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "db")
	os.WriteFile(secret, []byte("postgres://u:pw@db/signet\n"), 0o600)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(*Config) bool
	}{
		{"env", map[string]string{"SIGNET_LISTEN": "127.0.0.1:9000"}, nil, func(c *Config) bool { return c.Listen == "127.0.0.1:9000" }},
		{"flag wins over env", map[string]string{"SIGNET_LISTEN": "127.0.0.1:9000"}, []string{"--listen", "127.0.0.1:9001"}, func(c *Config) bool { return c.Listen == "127.0.0.1:9001" }},
		{"secret from a file", map[string]string{"SIGNET_DATABASE_FILE": secret}, nil, func(c *Config) bool { return c.Database == "postgres://u:pw@db/signet" }},
		{"repeatable origin", nil, []string{"--rp-id", "example.com", "--origin", "https://a.example.com", "--origin", "https://example.com"}, func(c *Config) bool { return len(c.Origins) == 2 }},
		{"origins from env", map[string]string{"SIGNET_RP_ID": "example.com", "SIGNET_ORIGIN": "https://a.example.com,https://example.com"}, nil, func(c *Config) bool { return len(c.Origins) == 2 }},
		{"duration", map[string]string{"SIGNET_ACTION_TTL": "90s"}, nil, func(c *Config) bool { return c.ActionTTL == 90*time.Second }},
		{"token alg from env", map[string]string{"SIGNET_TOKEN_ALG": "ES256"}, nil, func(c *Config) bool { return c.TokenAlg == "ES256" }},
		{"tls from env", map[string]string{"SIGNET_TLS_CERT": "c.pem", "SIGNET_TLS_KEY": "k.pem"}, nil, func(c *Config) bool { return c.TLSCert == "c.pem" && c.TLSKey == "k.pem" }},
		{"request timeout", map[string]string{"SIGNET_REQUEST_TIMEOUT": "2s"}, nil, func(c *Config) bool { return c.RequestTimeout == 2*time.Second }},
		{"idle timeout", map[string]string{"SIGNET_IDLE_TIMEOUT": "30s"}, nil, func(c *Config) bool { return c.IdleTimeout == 30*time.Second }},
		{"token cache size", map[string]string{"SIGNET_TOKEN_CACHE_SIZE": "500"}, []string{"--token-cache-size", "700"}, func(c *Config) bool { return c.TokenCacheSize == 700 }},
		{"debug listener off by default", nil, nil, func(c *Config) bool { return c.DebugListen == "" }},
		{"debug listener from env", map[string]string{"SIGNET_DEBUG_LISTEN": "127.0.0.1:6060"}, nil, func(c *Config) bool { return c.DebugListen == "127.0.0.1:6060" }},
		{"debug listener flag", nil, []string{"--debug-listen", "127.0.0.1:6061"}, func(c *Config) bool { return c.DebugListen == "127.0.0.1:6061" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env, tt.args...)
			if err != nil || !tt.check(c) {
				t.Fatalf("%+v, %v", c, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"listen", []string{"--listen", "nope"}, "--listen"},
		{"debug listen", []string{"--debug-listen", "nope"}, "--debug-listen"},
		{"debug listen on the API's address", []string{"--listen", "127.0.0.1:9000", "--debug-listen", "127.0.0.1:9000"}, "must differ"},
		{"database", []string{"--database", "mysql://x"}, "--database"},
		{"empty sqlite path", []string{"--database", "sqlite:"}, "needs a path"},
		{"origin without rp-id", []string{"--origin", "https://a.example.com"}, "--origin needs --rp-id"},
		{"rp-id with scheme", []string{"--rp-id", "https://example.com"}, "bare domain"},
		{"origin outside rp-id", []string{"--rp-id", "example.com", "--origin", "https://evil.com"}, "not example.com"},
		{"plain http off localhost", []string{"--rp-id", "example.com", "--origin", "http://example.com"}, "only allowed for localhost"},
		{"origin with a path", []string{"--rp-id", "example.com", "--origin", "https://example.com/app"}, "scheme and host"},
		{"cors origin", []string{"--cors-origin", "app.example.com"}, "--cors-origin"},
		{"tiny body limit", []string{"--max-body", "10"}, "--max-body"},
		{"zero ttl", []string{"--action-ttl", "0s"}, "--action-ttl"},
		{"smtp without from", []string{"--smtp-addr", "127.0.0.1:25"}, "--smtp-from"},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"sqlite synchronous", []string{"--sqlite-synchronous", "off"}, "--sqlite-synchronous"},
		{"postgres cache", []string{"--postgres-cache", "maybe"}, "--postgres-cache"},
		{"tls cert without key", []string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key"},
		{"tls key without cert", []string{"--tls-key", "k.pem"}, "--tls-cert and --tls-key"},
		{"token alg", []string{"--token-alg", "RS256"}, "--token-alg"},
		{"metrics listen", []string{"--metrics-listen", "9090"}, "--metrics-listen"},
		{"metrics on the API listener", []string{"--listen", "127.0.0.1:9000", "--metrics-listen", "127.0.0.1:9000"}, "--metrics-listen"},
		{"token alg none", []string{"--token-alg", "none"}, "--token-alg"},
		{"request timeout past the write timeout", []string{"--request-timeout", "30s"}, "--request-timeout"},
		{"request timeout too short", []string{"--request-timeout", "100ms"}, "--request-timeout"},
		{"idle timeout too short", []string{"--idle-timeout", "10ms"}, "--idle-timeout"},
		{"idle timeout too long", []string{"--idle-timeout", "2h"}, "--idle-timeout"},
		{"token cache size", []string{"--token-cache-size", "0"}, "--token-cache-size"},
		{"public url without scheme", []string{"--public-url", "signet.example.com"}, "--public-url"},
		{"public url with a path", []string{"--public-url", "https://example.com/signet"}, "--public-url"},
		{"public url with a query", []string{"--public-url", "https://example.com/?a=1"}, "--public-url"},
		{"public url of another scheme", []string{"--public-url", "ftp://example.com"}, "--public-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPostgresURLNotEchoed(t *testing.T) {
	_, err := load(t, nil, "--database", "postgres://user:hunter2@%zz")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v must not contain the password", err)
	}
}

// Every name StoreFlags lists is a flag Register defines, so the
// subcommands that take only those find each of them.
func TestStoreFlagsAreRegistered(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if _, err := c.Register(fs, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	for _, name := range StoreFlags() {
		if fs.Lookup(name) == nil {
			t.Errorf("StoreFlags names %q, which Register does not define", name)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for _, v := range []string{"https://signet.example.com", "https://signet.example.com:8443/", "http://localhost:8080"} {
		c, err := load(t, nil, "--public-url", v)
		if err != nil || c.PublicURL != v {
			t.Fatalf("--public-url %s: %v %+v", v, err, c)
		}
	}
}
