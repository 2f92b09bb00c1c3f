package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/reqid"
)

// Config holds a Gateway's dependencies and settings.
type Config struct {
	Service *auth.Service
	// API serves signet's own endpoints (internal/httpapi).
	API http.Handler
	// Status maps a domain error code to its HTTP status: the one table of
	// internal/httpapi, so that both surfaces answer alike.
	Status func(auth.Code) int
	// Upstream is the API the gateway guards: http or https, optionally
	// with a base path the request paths are appended to.
	Upstream *url.URL
	Routes   *Routes
	Logger   *slog.Logger
	// Timeout bounds the wait from forwarding a request to the upstream's
	// response headers (default 30s); past it the caller gets a 504.
	Timeout time.Duration
	// MaxBody is the largest body of a user-action signed request, which is
	// held in memory (default 1 MiB, as signet's own routes).
	MaxBody int64
	// MaxStreamBody is the largest body streamed to the upstream (default
	// 10 MiB).
	MaxStreamBody int64
	// CheckTimeout bounds signet's own checks of a guarded request (token,
	// user action, operation: store calls) before it is forwarded (default
	// 5s); a database that does not answer within it makes a 503.
	CheckTimeout time.Duration
	// Transport reaches the upstream; nil means a tuned clone of
	// http.DefaultTransport (NewTransport), in front of which an http://
	// upstream's bodiless GETs and HEADs are sent on the calling goroutine
	// (direct.go).
	Transport http.RoundTripper
	// Observer, if set, is told of every request bound for the upstream
	// (metrics); signet's own paths are observed by the API.
	Observer Observer
	// Pending answers a request a policy held for approval: 202 with the
	// change request, the JSON of signet's own API (httpapi.WritePending).
	Pending func(w http.ResponseWriter, a *auth.Approval)
	// Limits, if set, rate limits requests bound for the upstream before
	// it is contacted: httpapi.RateLimits, the limiter and budgets of
	// signet's own routes (docs/abuse.md). Nil means no limits.
	Limits Limits
}

// Limits rate limits the requests bound for the upstream. Each method
// returns nil to let the request go on, or a refusal (auth.RateLimited,
// with Retry-After set on w). httpapi.RateLimits implements it.
type Limits interface {
	// LimitPublic charges the client address of a request on a public
	// route.
	LimitPublic(w http.ResponseWriter, r *http.Request) error
	// LimitFailedAuth charges the client address of a request whose
	// credential is missing or failed; it returns the refusal, or authErr.
	LimitFailedAuth(w http.ResponseWriter, r *http.Request, authErr error) error
	// LimitIdentity charges an authenticated caller.
	LimitIdentity(ctx context.Context, w http.ResponseWriter, p *auth.Principal) error
}

// noLimits is the Limits of a gateway configured without any.
type noLimits struct{}

func (noLimits) LimitPublic(http.ResponseWriter, *http.Request) error { return nil }
func (noLimits) LimitFailedAuth(_ http.ResponseWriter, _ *http.Request, err error) error {
	return err
}
func (noLimits) LimitIdentity(context.Context, http.ResponseWriter, *auth.Principal) error {
	return nil
}

// Observer is told of every request the gateway answers: route is
// "upstream " plus the matching route file path pattern, or
// "upstream unmatched"; code is the error code when signet refused it.
// internal/metrics implements it.
type Observer interface {
	ObserveRequest(route, method string, status int, code string, spent bool, d time.Duration)
}

// Gateway is an http.Handler: signet's API for signet's paths, the guarded
// upstream for the rest.
type Gateway struct {
	svc       *auth.Service
	api       http.Handler
	status    func(auth.Code) int
	routes    *Routes
	log       *slog.Logger
	timeout   time.Duration
	checks    time.Duration // CheckTimeout
	maxBody   int64
	maxStream int64
	proxy     *httputil.ReverseProxy
	observer  Observer // nil: none
	limits    Limits   // noLimits{}: none
	pending   func(http.ResponseWriter, *auth.Approval)
	target    url.URL           // the upstream
	transport http.RoundTripper // to the upstream
}

// New validates cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Service == nil || cfg.API == nil || cfg.Status == nil || cfg.Routes == nil || cfg.Pending == nil {
		return nil, errors.New("gateway: Service, API, Status, Pending and Routes are required")
	}
	if u := cfg.Upstream; u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("gateway: Upstream must be an http:// or https:// URL with a host")
	}
	// The route file was checked against signet's operations when it was
	// parsed; this checks that the Service was built with its declarations.
	for _, rt := range cfg.Routes.routes {
		if rt.Operation != "" && !cfg.Service.IsOperation(rt.Operation) {
			return nil, errors.New("gateway: operation " + rt.Operation + " of the route file is unknown to the auth service (pass Routes.Operations() as auth.Config.ExtraOperations)")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxStreamBody <= 0 {
		cfg.MaxStreamBody = 10 << 20
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 5 * time.Second
	}
	if cfg.Transport == nil {
		t := NewTransport()
		cfg.Transport = t
		if cfg.Upstream.Scheme == "http" {
			// Bodiless GETs and HEADs without goroutine hand-offs
			// (direct.go); the rest on t.
			cfg.Transport = newDirectTransport(cfg.Upstream, t)
		}
	}
	g := &Gateway{
		svc: cfg.Service, api: cfg.API, status: cfg.Status, routes: cfg.Routes, log: cfg.Logger, observer: cfg.Observer,
		timeout: cfg.Timeout, maxBody: cfg.MaxBody, maxStream: cfg.MaxStreamBody,
	}
	g.checks = cfg.CheckTimeout
	g.limits = cfg.Limits
	if g.limits == nil {
		g.limits = noLimits{}
	}
	target := *cfg.Upstream
	g.pending, g.target, g.transport = cfg.Pending, target, cfg.Transport
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { g.rewrite(pr, &target) },
		Transport:      cfg.Transport,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Approved held requests are forwarded by this gateway (held.go).
	cfg.Service.SetForwarder(g.forwardHeld, g.timeout)
	return g, nil
}

// NewTransport returns the transport the gateway uses by default: the
// defaults of http.DefaultTransport, without an outgoing proxy taken from
// the environment (the upstream is named explicitly), and keeping enough
// idle connections that a busy gateway reuses them instead of opening one
// per request (DefaultTransport keeps 2 per host).
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	return t
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isOwn(r.URL.Path) {
		g.api.ServeHTTP(w, r)
		return
	}
	g.observe(w, r)
}

// bufferPool recycles the 32 KiB buffers ReverseProxy copies response
// bodies with (it allocates one per request otherwise). The pool holds
// array pointers, which a returned slice converts back to without an
// allocation (a *[]byte would cost one per Put).
type bufferPool struct{}

const bufferSize = 32 << 10

var buffers = sync.Pool{New: func() any { return new([bufferSize]byte) }}

func (bufferPool) Get() []byte { return buffers.Get().(*[bufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) < bufferSize {
		return // not one of ours
	}
	buffers.Put((*[bufferSize]byte)(b[:bufferSize]))
}

// requestID returns the client's X-Request-Id if it is reasonable, or a new
// one, like internal/httpapi.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		return reqid.New()
	}
	return id
}

// exchange is the state of one forwarded request, shared by the middleware
// and the ReverseProxy hooks through the request context. It holds the
// response recorder and the checks' context too: one allocation per
// request for all three.
type exchange struct {
	id       string
	idHeader []string // X-Request-Id's value as sent upstream (rewrite)
	rec      recorder
	check    checkContext
	p        *auth.Principal
	action   *auth.Action
	route    *Route
	body     *limitedBody // the streamed body, if any
	timer    *time.Timer  // cancels the upstream call at the timeout
	in       context.Context
	// upstreamErr is why the upstream call failed, for the log.
	upstreamErr error
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// errUpstreamTimeout is the cancel cause of an upstream call that ran out
// of time.
var errUpstreamTimeout = errors.New("upstream timeout")
