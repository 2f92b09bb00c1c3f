// Package server assembles signet's server side from its parts: it opens the
// store named by the configuration, loads the signing keys, builds the
// auth.Service and the HTTP API, and runs them until the context ends. The
// server-side subcommands of cmd/signet (serve, bootstrap, rotate-key) are
// thin calls into this package.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/gateway"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/mail"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/sqlite"
	"github.com/signet-auth/signet/internal/token"
	"github.com/signet-auth/signet/internal/web"
)

// OpenStore opens the store a --database value names, running migrations.
// sqliteSync is the --sqlite-synchronous setting ("" means full).
func OpenStore(ctx context.Context, dsn, sqliteSync string) (auth.Store, error) {
	if err := config.ValidateDatabase(dsn); err != nil {
		return nil, err
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		mode := sqlite.SyncFull
		if sqliteSync == "normal" {
			mode = sqlite.SyncNormal
		}
		return sqlite.Open(ctx, path, sqlite.Synchronous(mode))
	}
	return postgres.Open(ctx, dsn)
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
	// writeTimeout bounds writing one response; a gateway waits longer for
	// its upstream.
	writeTimeout time.Duration
	// debugListen is --debug-listen: where Serve also serves pprof ("" = off).
	debugListen string
}

// Close releases the store.
func (p *Parts) Close() error { return p.Store.Close() }

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
	master, err := token.LoadOrCreateMasterKey(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	st, err := OpenStore(ctx, cfg.Database, cfg.SQLiteSync)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	iss, err := token.New(ctx, token.Config{Issuer: cfg.Issuer, Store: st, MasterKey: master})
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
	svc, err := auth.New(auth.Config{
		Store: st, Tokens: iss, Logger: log, Delivery: delivery,
		ChallengeTTL: cfg.ChallengeTTL, ActionTTL: cfg.ActionTTL, LoginTTL: cfg.LoginTTL,
		CodeTTL: cfg.CodeTTL, RecoveryCodeTTL: cfg.RecoveryCodeTTL,
		RPID: cfg.RPID, Origins: cfg.Origins, ExtraOperations: routes.Operations(),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, Logger: log, JWKS: iss.JWKS, Ping: st.Ping, MaxBody: cfg.MaxBody, CORSOrigins: cfg.CORS})
	if err != nil {
		st.Close()
		return nil, err
	}
	parts := &Parts{Store: st, Issuer: iss, Service: svc, API: api, Handler: withPage(api), writeTimeout: 30 * time.Second}
	parts.debugListen = cfg.DebugListen
	if routes != nil {
		upstream, _ := url.Parse(cfg.Upstream) // checked by Validate
		gw, err := gateway.New(gateway.Config{
			Service: svc, API: api, Status: httpapi.Status, Upstream: upstream, Routes: routes, Logger: log,
			Timeout: cfg.UpstreamTimeout, MaxBody: cfg.MaxBody, MaxStreamBody: cfg.UpstreamMaxStream,
		})
		if err != nil {
			st.Close()
			return nil, err
		}
		parts.Handler = gw
		parts.writeTimeout = cfg.UpstreamTimeout + 30*time.Second
	}
	return parts, nil
}

// Serve runs the API on ln until ctx ends, then shuts down gracefully. It
// also sweeps expired challenges and user actions every minute, and with
// --debug-listen serves pprof on that second address until ctx ends.
func Serve(ctx context.Context, ln net.Listener, p *Parts, log *slog.Logger) error {
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
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go maintain(ctx, p, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
// single-use records and reloading signing keys, so a key rotated by
// another process becomes the one this replica signs with within a minute.
func maintain(ctx context.Context, p *Parts, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Issuer.Refresh(ctx); err != nil {
				log.Error("reloading signing keys failed", "err", err)
			}
			if _, err := p.Service.Checkpoint(ctx, ""); err != nil {
				log.Error("audit checkpoint failed", "err", err)
			}
			if n, err := p.Store.Sweep(ctx, time.Now()); err != nil {
				log.Error("sweep failed", "err", err)
			} else if n > 0 {
				log.Debug("swept expired records", "rows", n)
			}
		}
	}
}

// withPage puts signet's web page (internal/web) at / and /assets/ in
// front of the API. It matches the raw path itself rather than through a
// ServeMux, whose path cleaning would redirect requests the API must see
// as sent. In gateway mode / belongs to the upstream, so the page is not
// mounted there.
func withPage(api http.Handler) http.Handler {
	page := web.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/assets/")) {
			page.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
