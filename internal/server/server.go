// Package server assembles signet's server side from its parts: it opens the
// store named by the configuration, loads the signing keys, builds the
// auth.Service and the HTTP API, and runs them until the context ends. The
// server-side subcommands of cmd/signet (serve, bootstrap, rotate-key) are
// thin calls into this package.
package server

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/gateway"
	"github.com/signet-auth/signet/internal/health"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/mail"
	"github.com/signet-auth/signet/internal/metrics"
	"github.com/signet-auth/signet/internal/oidc"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/ratelimit"
	"github.com/signet-auth/signet/internal/sqlite"
	"github.com/signet-auth/signet/internal/tlscert"
	"github.com/signet-auth/signet/internal/token"
	"github.com/signet-auth/signet/internal/web"
)

// OpenStore opens the store cfg.Database names, running migrations: SQLite
// with cfg.SQLiteSync, waiting for a lock held by another process (a CLI
// command) at most half a request's deadline (0 keeps the driver's default,
// 5s), or PostgreSQL with its token state cache as cfg.PostgresCache says
// (on unless "off"), telling log when its listener fails and recovers.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (auth.Store, error) {
	if err := config.ValidateDatabase(cfg.Database); err != nil {
		return nil, err
	}
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		mode := sqlite.SyncFull
		if cfg.SQLiteSync == "normal" {
			mode = sqlite.SyncNormal
		}
		opts := []sqlite.Option{sqlite.Synchronous(mode)}
		if busy := cfg.RequestTimeout / 2; busy > 0 {
			opts = append(opts, sqlite.BusyTimeout(busy))
		}
		return sqlite.Open(ctx, path, opts...)
	}
	return postgres.OpenWith(ctx, cfg.Database, postgres.Options{PrincipalCache: cfg.PostgresCache != "off", Logger: log})
}

// NewLogger returns the slog logger the configuration asks for, on w.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Parts are the assembled pieces of a signet server.
type Parts struct {
	Store   auth.Store
	Issuer  *token.Issuer
	Service *auth.Service
	API     *httpapi.Server
	// Handler is what Serve serves: API, or with --upstream the gateway,
	// which serves API's paths through it and guards the rest.
	Handler http.Handler
	// TLS, when set (--tls-cert), makes Serve speak HTTPS with it.
	TLS *tls.Config
	// Metrics, when set (--metrics-listen), are served by Serve on
	// MetricsListener, or on a listener it opens at metricsAddr.
	Metrics         *metrics.Metrics
	MetricsListener net.Listener
	metricsAddr     string
	// writeTimeout bounds writing one response; a gateway waits longer for
	// its upstream.
	writeTimeout time.Duration
	// idleTimeout is --idle-timeout: how long an idle keep-alive
	// connection stays open.
	idleTimeout time.Duration
	// database is the --database value, for Serve's SQLite lock.
	database string
	// limiterClose closes a shared rate limiter's connections, if any.
	limiterClose func() error
	// debugListen is --debug-listen: where Serve also serves pprof ("" = off).
	debugListen string
}

// Close releases the store (and the rate limiter's Redis connections).
func (p *Parts) Close() error {
	if p.limiterClose != nil {
		p.limiterClose()
	}
	return p.Store.Close()
}

// Assemble opens the store and builds every part from cfg.
func Assemble(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Parts, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var routes *gateway.Routes // nil unless signet guards an upstream
	if cfg.Upstream != "" {
		var err error
		if routes, err = gateway.LoadRoutes(cfg.Routes); err != nil {
			return nil, fmt.Errorf("--routes: %w", err)
		}
	}
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		r, err := tlscert.New(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = r.Config()
	}
	master, err := token.LoadOrCreateMasterKey(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// A store whose replicas cache (PostgreSQL) fences every change before
	// it is answered (httpapi.Config.Fence).
	fence, _ := st.(auth.Fencer)
	var m *metrics.Metrics
	var caches auth.CacheObserver
	var observer httpapi.Observer
	if cfg.MetricsListen != "" {
		m = metrics.New()
		st = m.Store(st)
		caches, observer = m, m
	}
	iss, err := token.New(ctx, token.Config{Issuer: cfg.Issuer, Store: st, MasterKey: master, Alg: cfg.TokenAlg})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	var delivery auth.Delivery
	if cfg.SMTPAddr != "" {
		m, err := mail.New(mail.Config{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, CodeTTL: cfg.CodeTTL})
		if err != nil {
			st.Close()
			return nil, err
		}
		delivery = m
	}
	// Challenges are sealed under a key of their own, derived from the
	// master key: every replica with the same key file opens the others'.
	challengeKey, err := hkdf.Key(sha256.New, master, nil, "signet challenge seal v1", auth.ChallengeKeySize)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("challenge key: %w", err)
	}
	var publicURL *url.URL
	if cfg.PublicURL != "" {
		if publicURL, err = url.Parse(cfg.PublicURL); err != nil {
			st.Close()
			return nil, fmt.Errorf("public url: %w", err)
		}
	}
	svc, err := auth.New(auth.Config{
		Store: st, Tokens: iss, Logger: log, Delivery: delivery, ChallengeKey: challengeKey,
		ChallengeTTL: cfg.ChallengeTTL, ActionTTL: cfg.ActionTTL, LoginTTL: cfg.LoginTTL,
		CodeTTL: cfg.CodeTTL, RecoveryCodeTTL: cfg.RecoveryCodeTTL, SignatureWindow: cfg.SignatureWindow,
		PublicURL: publicURL,
		RPID:      cfg.RPID, Origins: cfg.Origins, ExtraOperations: routes.Operations(), Caches: caches,
		TokenCacheSize: cfg.TokenCacheSize,
		OpenID:         oidc.New(nil, nil), // social login and SSO (docs/oidc.md)
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	limits, limiterClose, err := rateLimits(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, Logger: log, JWKS: iss.JWKS, Ping: st.Ping, MaxBody: cfg.MaxBody, CORSOrigins: cfg.CORS, Observer: observer,
		DocRoutes: docRoutes(routes), RequestTimeout: cfg.RequestTimeout, Readiness: Readiness(st, iss, log), RateLimits: limits, Fence: fence})
	if err != nil {
		(&Parts{Store: st, limiterClose: limiterClose}).Close()
		return nil, err
	}
	parts := &Parts{Store: st, Issuer: iss, Service: svc, API: api, Handler: withPage(api, web.Passkeys{RPID: cfg.RPID, Origins: cfg.Origins}), TLS: tlsConfig, writeTimeout: config.MaxRequestTimeout, idleTimeout: cfg.IdleTimeout,
		Metrics: m, metricsAddr: cfg.MetricsListen, database: cfg.Database, limiterClose: limiterClose, debugListen: cfg.DebugListen}
	if routes != nil {
		upstream, _ := url.Parse(cfg.Upstream) // checked by Validate
		gw, err := gateway.New(gateway.Config{
			Service: svc, API: api, Status: httpapi.Status, Pending: httpapi.WritePending, Upstream: upstream, Routes: routes, Logger: log,
			Timeout: cfg.UpstreamTimeout, MaxBody: cfg.MaxBody, MaxStreamBody: cfg.UpstreamMaxStream,
			Observer: observer, CheckTimeout: cfg.RequestTimeout,
			Limits: limits, // the API's limiter and budgets (docs/abuse.md)
		})
		if err != nil {
			parts.Close()
			return nil, err
		}
		parts.Handler = gw
		parts.writeTimeout = cfg.UpstreamTimeout + config.MaxRequestTimeout
	}
	return parts, nil
}

// Readiness is what /readyz checks: the database takes a real write (this
// host's row of the probe table), it has every migration this binary
// knows, and the current signing key signs.
func Readiness(st auth.Store, iss *token.Issuer, log *slog.Logger) *health.Readiness {
	replica, err := os.Hostname()
	if err != nil || replica == "" {
		replica = "signet"
	}
	return health.New(health.Options{Logger: log},
		health.Check{Name: "database", Run: func(ctx context.Context) error {
			return st.ProbeWrite(ctx, replica, time.Now())
		}},
		health.Check{Name: "migrations", Run: func(ctx context.Context) error {
			pending, err := st.PendingMigrations(ctx)
			if err == nil && len(pending) > 0 {
				err = fmt.Errorf("migrations %v are not applied", pending)
			}
			return err
		}},
		health.Check{Name: "signing_key", Run: func(context.Context) error {
			_, _, err := iss.SignDetached([]byte("readyz"))
			return err
		}},
	)
}

// rateLimits builds the API's rate limits from cfg (validated): off with a
// warning, in memory, or shared through Redis. The function returned closes
// what was opened (nil when nothing was).
func rateLimits(cfg *config.Config, log *slog.Logger) (httpapi.RateLimits, func() error, error) {
	if cfg.RateLimit == "off" {
		log.Warn("rate limiting is off (--rate-limit off): nothing bounds guesses, floods or durable writes; use this for load tests only")
		return httpapi.RateLimits{}, nil, nil
	}
	var rl httpapi.RateLimits
	for _, l := range []struct {
		p *ratelimit.Limit
		v string
	}{{&rl.Address, cfg.RateLimitAddress}, {&rl.Target, cfg.RateLimitTarget}, {&rl.Send, cfg.RateLimitSend},
		{&rl.Identity, cfg.RateLimitIdentity}, {&rl.Global, cfg.RateLimitGlobal}} {
		var err error
		if *l.p, err = ratelimit.ParseLimit(l.v); err != nil {
			return rl, nil, err
		}
	}
	var err error
	if rl.TrustedProxies, err = ratelimit.ParseTrusted(cfg.TrustedProxies); err != nil {
		return rl, nil, err
	}
	if cfg.RateLimitRedis == "" {
		rl.Limiter = ratelimit.NewLocal(0)
		return rl, nil, nil
	}
	r, err := ratelimit.NewRedis(ratelimit.RedisConfig{URL: cfg.RateLimitRedis, Logger: log})
	if err != nil {
		return rl, nil, errors.New("--rate-limit-redis: malformed URL") // the URL may hold a password
	}
	rl.Limiter = r
	return rl, r.Close, nil
}

// Serve runs the API on ln until ctx ends, then shuts down gracefully. It
// also sweeps expired challenges and user actions every minute, and with
// --debug-listen serves pprof on that second address until ctx ends.
//
// On SQLite it first takes the file's serve lock (sqlite.LockForServe): a
// second server on the same file refuses to start.
func Serve(ctx context.Context, ln net.Listener, p *Parts, log *slog.Logger) error {
	if path, ok := strings.CutPrefix(p.database, "sqlite:"); ok {
		lock, err := sqlite.LockForServe(path)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	if p.debugListen != "" {
		stop, err := serveDebug(p.debugListen, log)
		if err != nil {
			return fmt.Errorf("--debug-listen: %w", err)
		}
		defer stop()
	}
	srv := &http.Server{
		Handler:           p.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      p.writeTimeout,
		IdleTimeout:       p.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         p.TLS,
	}
	if rotated, err := p.Issuer.EnsureAlg(ctx); err != nil {
		return fmt.Errorf("switching the token algorithm: %w", err)
	} else if rotated {
		log.Info("rotated the token signing key to the configured algorithm; tokens of the old key stay valid", "alg", p.Issuer.Alg())
	}
	if p.Metrics != nil {
		stop, err := serveMetrics(p, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	go maintain(ctx, p, log)
	if p.TLS != nil {
		log.Info("serving HTTPS (HTTP/2, TLS 1.2 or later)")
	}
	errc := make(chan error, 1)
	go func() {
		if p.TLS != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// docRoutes describes the gateway's routes for GET /openapi.json.
func docRoutes(routes *gateway.Routes) []httpapi.DocRoute {
	if routes == nil {
		return nil
	}
	var out []httpapi.DocRoute
	for _, rt := range routes.Routes() {
		out = append(out, httpapi.DocRoute{Method: rt.Method, Path: rt.Path, Operation: rt.Operation, Public: rt.Public,
			Signed: !rt.Public && !rt.Unsigned && rt.Method != http.MethodGet && rt.Method != http.MethodHead})
	}
	return out
}

// serveMetrics serves p.Metrics at /metrics on its own plain-HTTP listener
// and returns the function that stops it.
func serveMetrics(p *Parts, log *slog.Logger) (func(), error) {
	ln := p.MetricsListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", p.metricsAddr); err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return func() { srv.Close() }, nil
}

// DebugHandler serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/. It is mounted only on the --debug-listen listener, never
// on the API's: profiles expose memory contents (heap) and cost CPU. The
// package's init also registers on http.DefaultServeMux, which signet
// never serves.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // index and named profiles (heap, goroutine, ...)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// serveDebug listens on addr and serves DebugHandler until stop is called.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           DebugHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: a CPU profile or trace streams for ?seconds=N.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Warn("debug listener serving pprof", "addr", ln.Addr().String())
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// maintain runs the periodic chores of a replica: sweeping expired
// single-use records, expiring timed-out approvals and reloading signing keys, so a key rotated by
// another process becomes the one this replica signs with within a minute.
func maintain(ctx context.Context, p *Parts, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			chores(ctx, p, log)
		}
	}
}

// choreTimeout bounds one round of chores, so that a stalled database
// cannot hold the maintenance loop (and its next rounds) indefinitely.
const choreTimeout = 30 * time.Second

// chores runs one round of maintain's chores within choreTimeout.
func chores(ctx context.Context, p *Parts, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, choreTimeout)
	defer cancel()
	if err := p.Issuer.Refresh(ctx); err != nil {
		log.Error("reloading signing keys failed", "err", err)
	}
	if _, err := p.Service.Checkpoint(ctx, ""); err != nil {
		log.Error("audit checkpoint failed", "err", err)
	}
	// Approvals whose autoRejectTimeout passed (docs/policies.md).
	if n, err := p.Service.ExpireApprovals(ctx); err != nil {
		log.Error("expiring approvals failed", "err", err)
	} else if n > 0 {
		log.Info("expired approvals", "count", n)
	}
	// Approved activities whose run a stopped replica interrupted.
	if n, err := p.Service.FinishInterrupted(ctx); err != nil {
		log.Error("finishing interrupted approvals failed", "err", err)
	} else if n > 0 {
		log.Warn("finished interrupted approvals", "count", n)
	}
	if n, err := p.Store.Sweep(ctx, time.Now()); err != nil {
		log.Error("sweep failed", "err", err)
	} else if n > 0 {
		log.Debug("swept expired records", "rows", n)
	}
}

// withPage puts signet's web page (internal/web) at / and /assets/ in
// front of the API. It matches the raw path itself rather than through a
// ServeMux, whose path cleaning would redirect requests the API must see
// as sent. In gateway mode / belongs to the upstream, so the page is not
// mounted there.
func withPage(api http.Handler, pk web.Passkeys) http.Handler {
	page := web.Handler(pk)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/assets/")) {
			page.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
