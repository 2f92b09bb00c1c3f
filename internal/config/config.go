// Package config holds signet's server settings: a struct with defaults,
// filled from command-line flags and SIGNET_* environment variables (flags
// win), and validated once at start-up (STYLE.md habit 7).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/ratelimit"
)

// Config is the configuration of `signet serve` (and the database part of
// the other server-side subcommands).
type Config struct {
	Listen   string // address to listen on
	Database string // sqlite:PATH or postgres://...
	KeyFile  string // master key that seals the token signing keys
	// SQLiteSync is SQLite's synchronous setting: "full" (default; a
	// commit survives power loss) or "normal" (survives a crash of signet,
	// not of the machine; several times faster per write).
	SQLiteSync string
	// PostgresCache is "on" (default) or "off": whether a PostgreSQL store
	// answers Principal from memory as a member of the replica-coherent
	// cache (internal/postgres, docs/production.md "PostgreSQL replicas"). Off, every request reads
	// its token's state; writes are fenced either way.
	PostgresCache string
	Issuer        string   // iss claim of tokens
	RPID          string   // WebAuthn relying party id
	Origins       []string // allowed WebAuthn origins
	CORS          []string // web origins allowed to call the API from a browser
	MaxBody       int64    // largest request body, bytes

	ChallengeTTL    time.Duration
	ActionTTL       time.Duration
	LoginTTL        time.Duration
	CodeTTL         time.Duration // registration codes (spec 12.12: 4 h)
	RecoveryCodeTTL time.Duration // recovery codes: shorter, they open an existing account
	// SignatureWindow is how old an RFC 9421 signed request's created may
	// be (docs/httpsig.md).
	SignatureWindow time.Duration
	// PublicURL is the scheme and authority clients reach signet at, when
	// a proxy stands in front of it (https://signet.example.com): an RFC
	// 9421 signature's @target-uri is rebuilt on it (docs/httpsig.md).
	PublicURL string

	// Gateway mode (internal/gateway): with Upstream set, signet forwards
	// every request outside its own paths to it, guarded by Routes.
	Upstream          string        // URL of the API to guard
	Routes            string        // route file (JSON)
	UpstreamTimeout   time.Duration // wait for the upstream's response headers
	UpstreamMaxStream int64         // largest body streamed to the upstream, bytes

	LogLevel  string // debug, info, warn, error
	LogFormat string // text or json

	// RequestTimeout bounds the work of one request on signet's own routes
	// and the checks of a guarded one: every store call honours it, and a
	// database that does not answer within it turns into a 503 (issue 12).
	// Shorter than the server's 30s write timeout, so an answer can always
	// still be written.
	RequestTimeout time.Duration
	// TokenCacheSize is the most verified bearer tokens remembered (LRU).
	TokenCacheSize int
	// IdleTimeout is how long the server keeps an idle keep-alive
	// connection open (its buffers and goroutine: ~30 KiB each,
	// docs/production.md "Connections and memory").
	IdleTimeout time.Duration
	// DebugListen, when set, is a second address on which Go's
	// net/http/pprof is served (never on Listen). Off by default: profiles
	// reveal memory contents and cost CPU, so bind it to loopback.
	DebugListen string

	// SMTP delivery of registration codes; off when SMTPAddr is empty.
	SMTPAddr     string
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string // secret: prefer SIGNET_SMTP_PASSWORD_FILE

	// TLS: with both set, signet serves HTTPS (HTTP/2, TLS 1.2 or later),
	// re-reading the files when they change (internal/tlscert).
	TLSCert string // PEM certificate chain file
	TLSKey  string // PEM private key file

	// TokenAlg is the algorithm of new token signing keys: EdDSA (as Dfns)
	// or ES256; empty keeps the current key's (EdDSA for the first key).
	// serve rotates to it at start when the current key has another.
	TokenAlg string

	// MetricsListen, when set, is the address of a separate plain-HTTP
	// listener serving Prometheus metrics at /metrics (internal/metrics).
	MetricsListen string

	// Rate limits (internal/ratelimit, docs/abuse.md). RateLimit is "on"
	// or "off"; each limit is N/PERIOD[,burst=B] (ratelimit.ParseLimit).
	RateLimit         string
	RateLimitAddress  string   // per client address, unauthenticated
	RateLimitTarget   string   // per org+username or credential code
	RateLimitSend     string   // code mails per org+username
	RateLimitIdentity string   // per authenticated identity
	RateLimitGlobal   string   // pre-credential durable writes, whole server
	RateLimitRedis    string   // redis://... to share limits between replicas
	TrustedProxies    []string // CIDRs whose X-Forwarded-For is believed
}

// MaxRequestTimeout is the server's write timeout for signet's own routes:
// a request's deadline must end before it, so that its answer can be sent.
const MaxRequestTimeout = 30 * time.Second

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		Database:        "sqlite:signet.db",
		KeyFile:         "signet.key",
		SQLiteSync:      "full",
		PostgresCache:   "on",
		Issuer:          "signet",
		MaxBody:         1 << 20,
		ChallengeTTL:    15 * time.Minute,
		ActionTTL:       5 * time.Minute,
		LoginTTL:        6 * time.Hour,
		CodeTTL:         4 * time.Hour,
		RecoveryCodeTTL: 15 * time.Minute,
		SignatureWindow: 60 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",

		UpstreamTimeout:   30 * time.Second,
		UpstreamMaxStream: 10 << 20,

		RequestTimeout:    5 * time.Second,
		TokenCacheSize:    10_000,
		IdleTimeout:       120 * time.Second,
		RateLimit:         "on",
		RateLimitAddress:  "300/1m",
		RateLimitTarget:   "20/1m",
		RateLimitSend:     "5/1h,burst=3",
		RateLimitIdentity: "1200/1m",
		RateLimitGlobal:   "100/1s,burst=200",
	}
}

// Env looks up environment variables; os.LookupEnv in production, a map in
// tests.
type Env func(key string) (string, bool)

// env returns the value of SIGNET_<name>, or the content of the file named
// by SIGNET_<name>_FILE (for secrets such as a database URL with a
// password), trailing newline removed.
func (e Env) value(name string) (string, bool, error) {
	if v, ok := e("SIGNET_" + name); ok {
		return v, true, nil
	}
	if p, ok := e("SIGNET_" + name + "_FILE"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", false, fmt.Errorf("SIGNET_%s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	}
	return "", false, nil
}

// stringsFlag is a repeatable string flag.
type stringsFlag struct{ v *[]string }

func (s stringsFlag) String() string {
	if s.v == nil {
		return ""
	}
	return strings.Join(*s.v, ",")
}

func (s stringsFlag) Set(v string) error { *s.v = append(*s.v, v); return nil }

// Register defines the server flags on fs, with defaults taken from env
// where set. It returns a function to call after fs.Parse that finishes
// loading (repeatable flags replace env lists when given).
func (c *Config) Register(fs *flag.FlagSet, env Env) (func() error, error) {
	type str struct {
		p         *string
		flag, env string
		usage     string
	}
	strs := []str{
		{&c.Listen, "listen", "LISTEN", "address to listen on"},
		{&c.Database, "database", "DATABASE", "sqlite:PATH (embedded, default) or postgres://... (PostgreSQL)"},
		{&c.KeyFile, "key-file", "KEY_FILE", "master key file sealing the token signing keys (created 0600 if missing)"},
		{&c.Issuer, "issuer", "ISSUER", "issuer (iss) of the tokens signet mints"},
		{&c.PublicURL, "public-url", "PUBLIC_URL", "scheme://host[:port] clients reach signet at behind a proxy; RFC 9421 signatures are checked against it (default: the connection and Host)"},
		{&c.RPID, "rp-id", "RP_ID", "WebAuthn relying party id (a domain, e.g. example.com)"},
		{&c.SQLiteSync, "sqlite-synchronous", "SQLITE_SYNCHRONOUS", "full (a commit survives power loss) or normal (survives a crash of signet only; faster)"},
		{&c.PostgresCache, "postgres-cache", "POSTGRES_CACHE", "on (default) or off: answer each request's token state from a replica-coherent cache on PostgreSQL (docs/production.md)"},
		{&c.LogLevel, "log-level", "LOG_LEVEL", "debug, info, warn or error"},
		{&c.LogFormat, "log-format", "LOG_FORMAT", "text or json"},
		{&c.SMTPAddr, "smtp-addr", "SMTP_ADDR", "SMTP server host:port for mailing registration codes (off when empty)"},
		{&c.SMTPFrom, "smtp-from", "SMTP_FROM", "sender address of those mails"},
		{&c.SMTPUsername, "smtp-username", "SMTP_USERNAME", "SMTP user, if the server wants one"},
		{&c.SMTPPassword, "smtp-password", "SMTP_PASSWORD", "SMTP password (prefer SIGNET_SMTP_PASSWORD_FILE)"},
		{&c.Upstream, "upstream", "UPSTREAM", "URL of an API to guard: requests outside signet's own paths are forwarded to it (needs --routes)"},
		{&c.Routes, "routes", "ROUTES", "route file (JSON) mapping upstream method + path to operations (with --upstream)"},
		{&c.TLSCert, "tls-cert", "TLS_CERT", "PEM certificate chain file: serve HTTPS (with --tls-key; reloaded when the files change)"},
		{&c.TLSKey, "tls-key", "TLS_KEY", "PEM private key file of --tls-cert"},
		{&c.MetricsListen, "metrics-listen", "METRICS_LISTEN", "address of a separate listener serving Prometheus metrics at /metrics (off when empty; keep it private)"},
		{&c.TokenAlg, "token-alg", "TOKEN_ALG", "token signature algorithm, EdDSA (as Dfns) or ES256; serve and rotate-key switch to it, tokens of the old key stay valid (default: the current key's, EdDSA at first)"},
		{&c.RateLimit, "rate-limit", "RATE_LIMIT", "on, or off to turn every rate limit off (load tests only; logs a warning)"},
		{&c.RateLimitAddress, "rate-limit-address", "RATE_LIMIT_ADDRESS", "unauthenticated requests per client address, N/PERIOD[,burst=B]"},
		{&c.RateLimitTarget, "rate-limit-target", "RATE_LIMIT_TARGET", "login, registration, recovery and code attempts per org+username or credential code"},
		{&c.RateLimitSend, "rate-limit-send", "RATE_LIMIT_SEND", "registration and recovery code mails per org+username"},
		{&c.RateLimitIdentity, "rate-limit-identity", "RATE_LIMIT_IDENTITY", "requests per authenticated identity (user, PAT, service account)"},
		{&c.RateLimitGlobal, "rate-limit-global", "RATE_LIMIT_GLOBAL", "requests costing a durable write before any credential is proven, whole server (or cluster with Redis)"},
		{&c.RateLimitRedis, "rate-limit-redis", "RATE_LIMIT_REDIS", "redis://host:port to share rate limits between replicas (local limits when empty or unreachable)"},
		{&c.DebugListen, "debug-listen", "DEBUG_LISTEN", "address of a separate listener serving Go's pprof at /debug/pprof/ (off when empty; keep it on loopback)"},
	}
	for _, s := range strs {
		if v, ok, err := env.value(s.env); err != nil {
			return nil, err
		} else if ok {
			*s.p = v
		}
		fs.StringVar(s.p, s.flag, *s.p, s.usage+" (env SIGNET_"+s.env+")")
	}
	durs := []struct {
		p         *time.Duration
		flag, env string
		usage     string
	}{
		{&c.ChallengeTTL, "challenge-ttl", "CHALLENGE_TTL", "lifetime of a challenge"},
		{&c.ActionTTL, "action-ttl", "ACTION_TTL", "lifetime of a user-action token"},
		{&c.LoginTTL, "login-ttl", "LOGIN_TTL", "lifetime of a login token"},
		{&c.CodeTTL, "code-ttl", "CODE_TTL", "lifetime of a registration code"},
		{&c.RecoveryCodeTTL, "recovery-code-ttl", "RECOVERY_CODE_TTL", "lifetime of a recovery code"},
		{&c.SignatureWindow, "signature-window", "SIGNATURE_WINDOW", "how old an RFC 9421 signed request may be (created), 1s to 10m"},
		{&c.UpstreamTimeout, "upstream-timeout", "UPSTREAM_TIMEOUT", "how long to wait for the upstream's response headers before answering 504"},
		{&c.RequestTimeout, "request-timeout", "REQUEST_TIMEOUT", "deadline of one request's work on the database; past it the caller gets 503 with Retry-After"},
		{&c.IdleTimeout, "idle-timeout", "IDLE_TIMEOUT", "how long an idle keep-alive connection stays open, 1s to 1h (each costs memory while open)"},
	}
	for _, d := range durs {
		if v, ok, err := env.value(d.env); err != nil {
			return nil, err
		} else if ok {
			x, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("SIGNET_%s: %w", d.env, err)
			}
			*d.p = x
		}
		fs.DurationVar(d.p, d.flag, *d.p, d.usage+" (env SIGNET_"+d.env+")")
	}
	if v, ok, err := env.value("MAX_BODY"); err != nil {
		return nil, err
	} else if ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("SIGNET_MAX_BODY: %w", err)
		}
		c.MaxBody = n
	}
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "largest request body in bytes (env SIGNET_MAX_BODY)")
	if v, ok, err := env.value("TOKEN_CACHE_SIZE"); err != nil {
		return nil, err
	} else if ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("SIGNET_TOKEN_CACHE_SIZE: %w", err)
		}
		c.TokenCacheSize = n
	}
	fs.IntVar(&c.TokenCacheSize, "token-cache-size", c.TokenCacheSize,
		"most verified bearer tokens kept in memory, least recently used evicted first; about 2 KiB each (env SIGNET_TOKEN_CACHE_SIZE)")
	if v, ok, err := env.value("UPSTREAM_MAX_STREAM"); err != nil {
		return nil, err
	} else if ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("SIGNET_UPSTREAM_MAX_STREAM: %w", err)
		}
		c.UpstreamMaxStream = n
	}
	fs.Int64Var(&c.UpstreamMaxStream, "upstream-max-stream", c.UpstreamMaxStream,
		"largest body streamed to the upstream in bytes; user-action signed bodies are read whole and limited by --max-body (env SIGNET_UPSTREAM_MAX_STREAM)")

	var origins, cors, proxies []string
	fs.Var(stringsFlag{&proxies}, "trusted-proxy", "CIDR of a proxy whose X-Forwarded-For is believed for the client address, repeatable (env SIGNET_TRUSTED_PROXY, comma-separated)")
	envProxies, _, err := env.value("TRUSTED_PROXY")
	if err != nil {
		return nil, err
	}
	fs.Var(stringsFlag{&origins}, "origin", "allowed WebAuthn origin, repeatable (env SIGNET_ORIGIN, comma-separated)")
	fs.Var(stringsFlag{&cors}, "cors-origin", "web origin allowed to call the API from a browser, repeatable (env SIGNET_CORS_ORIGIN, comma-separated; none by default)")
	envOrigins, _, err := env.value("ORIGIN")
	if err != nil {
		return nil, err
	}
	envCORS, _, err := env.value("CORS_ORIGIN")
	if err != nil {
		return nil, err
	}
	return func() error {
		switch {
		case len(origins) > 0:
			c.Origins = origins
		case envOrigins != "":
			c.Origins = strings.Split(envOrigins, ",")
		}
		switch {
		case len(cors) > 0:
			c.CORS = cors
		case envCORS != "":
			c.CORS = strings.Split(envCORS, ",")
		}
		switch {
		case len(proxies) > 0:
			c.TrustedProxies = proxies
		case envProxies != "":
			c.TrustedProxies = strings.Split(envProxies, ",")
		}
		return nil
	}, nil
}

// StoreFlags names the flags that locate signet's data and keys (and its
// log). The server-side subcommands other than serve (bootstrap,
// rotate-key, user invite, audit export) take only these; serve takes every
// flag Register defines, so a flag added there shows up under `serve -h`
// without more work.
func StoreFlags() []string {
	return []string{"database", "key-file", "sqlite-synchronous", "log-level", "log-format"}
}

// Validate checks every setting once, at start-up, and says precisely what
// is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("--listen %q: %v", c.Listen, err)
	}
	if err := ValidateDatabase(c.Database); err != nil {
		errs = append(errs, err)
	}
	if c.DebugListen != "" {
		if _, _, err := net.SplitHostPort(c.DebugListen); err != nil {
			bad("--debug-listen %q: %v", c.DebugListen, err)
		} else if c.DebugListen == c.Listen {
			bad("--debug-listen must differ from --listen: pprof is never served on the API's listener")
		}
	}
	if c.SQLiteSync != "full" && c.SQLiteSync != "normal" {
		bad("--sqlite-synchronous %q must be full or normal", c.SQLiteSync)
	}
	if c.KeyFile == "" {
		bad("--key-file is required")
	}
	if strings.TrimSpace(c.Issuer) == "" {
		bad("--issuer must not be empty")
	}
	if c.RPID != "" {
		if strings.ContainsAny(c.RPID, ":/ ") || strings.HasPrefix(c.RPID, ".") || strings.HasSuffix(c.RPID, ".") {
			bad("--rp-id %q must be a bare domain such as example.com (no scheme, port or path)", c.RPID)
		}
	}
	if len(c.Origins) > 0 && c.RPID == "" {
		bad("--origin needs --rp-id")
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			bad("--origin %q must be a scheme and host such as https://app.example.com", o)
			continue
		}
		if u.Scheme == "http" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1" {
			bad("--origin %q: http is only allowed for localhost", o)
		}
		if h := u.Hostname(); c.RPID != "" && h != c.RPID && !strings.HasSuffix(h, "."+c.RPID) {
			bad("--origin %q is not %s or a subdomain of it (WebAuthn requires it)", o, c.RPID)
		}
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			bad("--smtp-addr %q: %v", c.SMTPAddr, err)
		}
		if c.SMTPFrom == "" {
			bad("--smtp-from is required with --smtp-addr")
		}
	}
	for _, o := range c.CORS {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("--cors-origin %q must be a scheme and host such as https://app.example.com", o)
		}
	}
	if c.MaxBody < 1024 {
		bad("--max-body must be at least 1024 bytes")
	}
	if c.RequestTimeout < time.Second || c.RequestTimeout >= MaxRequestTimeout {
		bad("--request-timeout must be at least 1s and shorter than %v (the server's write timeout)", MaxRequestTimeout)
	}
	if c.IdleTimeout < time.Second || c.IdleTimeout > time.Hour {
		bad("--idle-timeout must be between 1s and 1h")
	}
	if c.TokenCacheSize < 1 || c.TokenCacheSize > 10_000_000 {
		bad("--token-cache-size must be between 1 and 10000000")
	}
	for name, d := range map[string]time.Duration{"--challenge-ttl": c.ChallengeTTL, "--action-ttl": c.ActionTTL, "--login-ttl": c.LoginTTL,
		"--code-ttl": c.CodeTTL, "--recovery-code-ttl": c.RecoveryCodeTTL} {
		if d < time.Second {
			bad("%s must be at least 1s", name)
		}
	}
	if c.SignatureWindow < time.Second || c.SignatureWindow > 10*time.Minute {
		bad("--signature-window must be between 1s and 10m")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			bad("--public-url %q must be a scheme and authority such as https://signet.example.com (no path: a proxy must not strip one)", c.PublicURL)
		}
	}
	switch {
	case c.Upstream == "" && c.Routes != "":
		bad("--routes needs --upstream")
	case c.Upstream != "":
		if u, err := url.Parse(c.Upstream); err != nil {
			bad("--upstream %q is not a URL", c.Upstream)
		} else if err := checkUpstream(u); err != nil {
			bad("--upstream %q: %v", c.Upstream, err)
		}
		if c.Routes == "" {
			bad("--upstream needs --routes (a route file mapping requests to operations)")
		}
		if c.UpstreamTimeout < time.Second {
			bad("--upstream-timeout must be at least 1s")
		}
		if c.UpstreamMaxStream < 1024 {
			bad("--upstream-max-stream must be at least 1024 bytes")
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("--metrics-listen %q: %v", c.MetricsListen, err)
		} else if c.MetricsListen == c.Listen {
			bad("--metrics-listen must differ from --listen")
		}
	}
	if c.TokenAlg != "" && c.TokenAlg != "EdDSA" && c.TokenAlg != "ES256" {
		bad("--token-alg %q must be EdDSA or ES256", c.TokenAlg)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("--tls-cert and --tls-key go together")
	}
	if c.PostgresCache != "on" && c.PostgresCache != "off" {
		bad("--postgres-cache %q must be on or off", c.PostgresCache)
	}
	if c.RateLimit != "on" && c.RateLimit != "off" {
		bad("--rate-limit %q must be on or off", c.RateLimit)
	}
	for _, l := range []struct{ flag, v string }{{"--rate-limit-address", c.RateLimitAddress}, {"--rate-limit-target", c.RateLimitTarget},
		{"--rate-limit-send", c.RateLimitSend}, {"--rate-limit-identity", c.RateLimitIdentity}, {"--rate-limit-global", c.RateLimitGlobal}} {
		if _, err := ratelimit.ParseLimit(l.v); err != nil {
			bad("%s: %v", l.flag, err)
		}
	}
	if c.RateLimitRedis != "" && !strings.HasPrefix(c.RateLimitRedis, "redis://") && !strings.HasPrefix(c.RateLimitRedis, "rediss://") {
		bad("--rate-limit-redis must be a redis:// or rediss:// URL")
	}
	if _, err := ratelimit.ParseTrusted(c.TrustedProxies); err != nil {
		bad("--trusted-proxy: %v", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("--log-format %q must be text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}

// checkUpstream checks the URL of the API the gateway guards.
func checkUpstream(u *url.URL) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be http:// or https://")
	case u.Host == "":
		return errors.New("needs a host")
	case u.User != nil:
		return errors.New("must not carry credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must not have a query or fragment")
	}
	return nil
}

// ValidateDatabase checks a --database value.
func ValidateDatabase(dsn string) error {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		if strings.TrimPrefix(dsn, "sqlite:") == "" {
			return errors.New("--database sqlite: needs a path, e.g. sqlite:signet.db")
		}
		return nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return errors.New("--database: malformed postgres URL")
		}
		return nil
	}
	return errors.New("--database must start with sqlite: or postgres://")
}
