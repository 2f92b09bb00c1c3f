// Package httpapi is signet's HTTP surface: the route table, the middleware
// chain every request goes through (bearer token -> principal, user-action
// verification, operation check), the handlers, and the one table that maps
// domain error codes to HTTP statuses. Handlers decode, call internal/auth,
// and encode; they decide nothing about security.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/health"
	"github.com/signet-auth/signet/internal/httpsig"
	"github.com/signet-auth/signet/internal/reqid"
	"github.com/signet-auth/signet/internal/strictjson"
)

// Config holds the Server's dependencies.
type Config struct {
	Service *auth.Service
	Logger  *slog.Logger
	// JWKS returns the current JSON Web Key Set.
	JWKS func() []byte
	// Ping checks the database for /readyz when Readiness is nil.
	Ping func(ctx context.Context) error
	// Readiness answers /readyz (internal/health); nil: a ping only.
	Readiness *health.Readiness
	// MaxBody is the largest request body accepted (default 1 MiB).
	MaxBody int64
	// CORSOrigins are the web origins allowed to call signet from a
	// browser; none by default.
	CORSOrigins []string
	// RequestTimeout is the deadline of each request's work (default 5s):
	// every store call gets it through the request's context, and a
	// dependency that does not answer within it makes a 503 (issue 12).
	RequestTimeout time.Duration
	// Observer, if set, is told of every answered request (metrics).
	Observer Observer
	// DocRoutes are the routes of the gateway's route file, for
	// GET /openapi.json (openapi.go).
	DocRoutes []DocRoute
	// RateLimits are the limits of every route; off when its Limiter is
	// nil.
	RateLimits RateLimits
	// Fence, when set, is the store's auth.Fencer: every route that can
	// change a principal (route.fenced) fences after its handler and
	// before its answer is written, so that a deactivation is in force on
	// every replica when the caller learns of it (spec 12.9); not when the
	// store, an auth.ChangeMarker, says the handler changed nothing.
	Fence auth.Fencer
}

// Observer is told of every request the API answers: the route pattern of
// the route table that matched (or "unmatched"), the method, status, the
// error code when it failed ("" otherwise), whether it spent a user action,
// and how long it took. internal/metrics implements it.
type Observer interface {
	ObserveRequest(route, method string, status int, code string, spent bool, d time.Duration)
}

// Server serves signet's API.
type Server struct {
	svc     *auth.Service
	log     *slog.Logger
	jwks    func() []byte
	ping    func(ctx context.Context) error
	ready   *health.Readiness
	maxBody int64
	timeout time.Duration
	mux     *http.ServeMux
	handler http.Handler

	corsOrigins map[string]bool
	observer    Observer // nil: none
	openapi     []byte   // GET /openapi.json, built once by New
	limits      RateLimits
	fence       auth.Fencer // nil: none
}

// New returns a Server with every route registered.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.JWKS == nil || cfg.Ping == nil {
		return nil, errors.New("httpapi: Service, JWKS and Ping are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if err := cfg.RateLimits.check(); err != nil {
		return nil, err
	}
	s := &Server{svc: cfg.Service, log: cfg.Logger, jwks: cfg.JWKS, ping: cfg.Ping, maxBody: cfg.MaxBody, timeout: cfg.RequestTimeout, ready: cfg.Readiness,
		mux: http.NewServeMux(), corsOrigins: originSet(cfg.CORSOrigins), observer: cfg.Observer, limits: cfg.RateLimits, fence: cfg.Fence}
	s.register()
	doc, err := s.openAPI(cfg.DocRoutes)
	if err != nil {
		return nil, fmt.Errorf("httpapi: OpenAPI document: %w", err)
	}
	s.openapi = doc
	s.handler = s.cors(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// access says who may call a route.
type access int

const (
	public access = iota // no token
	bearer               // a login, PAT or service-account token
)

// noOperation marks a route that deliberately needs no permission: its own
// rules (own credentials, the caller's own session) are enforced in auth.
const noOperation = "-"

// route is one entry of the route table.
type route struct {
	method  string
	pattern string
	access  access
	// op is the operation the principal must hold (spec 5.0, 6), or
	// noOperation. Every bearer route names one.
	op string
	// unsigned exempts a bearer, non-GET route from user action signing;
	// only the routes spec 4.5 lists (action init and sign, logout).
	unsigned bool
	// unsignedQuery names the query parameters a signed route accepts
	// without their being signed (see routes).
	unsignedQuery []string
	// signer marks a route whose handler checks a signature of the
	// principal's (action init lists the credentials, action complete
	// verifies with one): they are read with the principal
	// (auth.Service.AuthenticateSigner).
	signer bool
	// limit is how the route is rate limited (ratelimit.go); public
	// routes must name one.
	limit limitClass
	// unfenced exempts a non-GET route from the fence (Config.Fence): only
	// routes that cannot change what Principal reads of any token, user,
	// credential or org (login, the init routes, action signing), listed
	// in routes.go and proved quiet by TestUnfencedRoutesQuiet. Every
	// other route that is not a GET is fenced: a new one by default.
	unfenced bool
	h        handler
}

// fenced reports whether the route's answer waits for the fence.
func (rt route) fenced() bool {
	return rt.method != http.MethodGet && rt.method != http.MethodHead && !rt.unfenced
}

// signed reports whether the route requires X-DFNS-USERACTION.
func (rt route) signed() bool {
	return rt.access == bearer && rt.method != http.MethodGet && !rt.unsigned
}

// call is what the middleware hands a handler.
type call struct {
	p    *auth.Principal // nil on public routes
	body []byte
	// action is the user action the request spent, on signed routes.
	action *auth.Action
}

type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// register installs the route table: one pattern per path, dispatching on
// method itself so that unknown methods get a JSON 405, not the mux's text.
func (s *Server) register() {
	byPattern := map[string]map[string]route{}
	var order []string
	for _, rt := range s.routes() {
		if (rt.access == public) == (rt.limit == limitByAccess) {
			panic("httpapi: route " + rt.method + " " + rt.pattern + ": a public route names its rate limit class, a bearer route none")
		}
		m, ok := byPattern[rt.pattern]
		if !ok {
			m = map[string]route{}
			byPattern[rt.pattern] = m
			order = append(order, rt.pattern)
		}
		m[rt.method] = rt
	}
	for _, p := range order {
		methods := byPattern[p]
		s.mux.Handle(p, s.observe(p, func(w http.ResponseWriter, r *http.Request) error {
			rt, ok := methods[r.Method]
			if !ok && r.Method == http.MethodHead {
				rt, ok = methods[http.MethodGet]
			}
			if !ok {
				return auth.Errorf(auth.NotAllowed, "method %s not allowed on this path", r.Method)
			}
			return s.serve(rt, w, r)
		}))
	}
	s.mux.Handle("/", s.observe("unmatched", func(w http.ResponseWriter, r *http.Request) error {
		return auth.Errorf(auth.NotFound, "no such endpoint")
	}))
}

// serve runs the middleware chain of one route: body, authentication, user
// action, operation, handler.
func (s *Server) serve(rt route, w http.ResponseWriter, r *http.Request) (err error) {
	c := &call{}
	w.Header().Set("Accept-Signature", acceptSignature) // docs/httpsig.md: discovery
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	c.body = body
	if rt.access == public {
		if err := s.limitPublic(rt, w, r, body); err != nil {
			return err
		}
	}
	if rt.access == bearer {
		tok, ok := bearerToken(r)
		if !ok {
			return s.limitFailedAuth(r, w, auth.Errorf(auth.Unauthenticated, "Not Authorized."))
		}
		authenticate := s.svc.Authenticate
		if rt.signer || (rt.signed() && httpsig.Present(r.Header)) {
			// The handler or the RFC 9421 check signs with the principal's
			// credentials: they are read with it, in one store read.
			authenticate = s.svc.AuthenticateSigner
		}
		if c.p, err = authenticate(r.Context(), tok); err != nil {
			return s.limitFailedAuth(r, w, err)
		}
		setPrincipal(r, c.p)
		if err := s.limitIdentity(r.Context(), w, c.p); err != nil {
			return err
		}
		if rt.signed() {
			if httpsig.Present(r.Header) { // RFC 9421 in place of X-DFNS-USERACTION (docs/httpsig.md)
				c.action, err = spendSignature(s.svc, r, c.p, body)
			} else {
				c.action, err = s.svc.SpendAction(r.Context(), c.p, r.Header.Get("X-DFNS-USERACTION"), &auth.Spend{
					Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, UnsignedQuery: rt.unsignedQuery, Body: body})
			}
			if c.action != nil { // audit: the spent action's entry gets the request's outcome
				setSpent(r)
				defer func() { s.svc.RecordOutcome(r.Context(), c.action, outcomeStatus(w, err)) }()
			}
			if err != nil {
				return err
			}
		}
		if rt.op != noOperation {
			if err := s.svc.Authorize(r.Context(), c.p, rt.op); err != nil {
				return err
			}
		}
	}
	if s.fence != nil && rt.fenced() {
		return s.serveFenced(rt, w, r, c)
	}
	return s.handle(rt, w, r, c)
}

// handle runs the route's handler.
func (s *Server) handle(rt route, w http.ResponseWriter, r *http.Request, c *call) error {
	err := rt.h(w, r, c)
	// A policy held the request for approval (auth.PendingError): 202
	// with its change request, which the SDK raises as PolicyPendingError.
	var pending *auth.PendingError
	if errors.As(err, &pending) {
		writeJSON(w, http.StatusAccepted, changeRequestOut(pending.Approval))
		return nil
	}
	return err
}

// readBody reads the whole body within the size limit. A body must be JSON:
// a non-empty body with another content type is refused.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	size := r.ContentLength // -1 when unknown; net/http ends the body there
	if size > s.maxBody {
		size = -1 // refused by MaxBytesReader, not allocated for
	}
	b, err := readAll(http.MaxBytesReader(w, r.Body, s.maxBody), size)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, auth.Errorf(auth.TooLarge, "request body exceeds %d bytes", s.maxBody)
	}
	if err != nil {
		return nil, auth.Errorf(auth.Invalid, "could not read request body")
	}
	if len(b) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return nil, auth.Errorf(auth.UnsupportedType, "request body must be application/json")
		}
	}
	return b, nil
}

// readAll reads r to its end. With size > 0, the length the request
// declared, it reads into one buffer with room for that size and
// bytes.MinRead more (so the read that meets the end does not grow it)
// instead of growing one from io.ReadAll's 512 bytes; a body longer than
// declared still reads whole.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// decode reads a JSON request body strictly (spec 12.2) into v. An empty
// body decodes as {}.
func decode(c *call, v any) error {
	b := c.body
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := strictjson.Decode(b, v); err != nil {
		return auth.Errorf(auth.Invalid, "invalid JSON body: %v", err)
	}
	return nil
}

// status is the one table from domain error codes to HTTP statuses.
var status = map[auth.Code]int{
	auth.Invalid:         http.StatusBadRequest,
	auth.Unauthenticated: http.StatusUnauthorized,
	auth.Forbidden:       http.StatusForbidden,
	auth.NotFound:        http.StatusNotFound,
	auth.Conflict:        http.StatusConflict,
	auth.RateLimited:     http.StatusTooManyRequests,
	auth.Internal:        http.StatusInternalServerError,
	auth.ActionUsed:      http.StatusBadRequest,
	auth.ActionInvalid:   http.StatusForbidden,
	auth.TooLarge:        http.StatusRequestEntityTooLarge,
	auth.UnsupportedType: http.StatusUnsupportedMediaType,
	auth.NotAllowed:      http.StatusMethodNotAllowed,
	auth.Unavailable:     http.StatusServiceUnavailable,
}

// RetryAfter is the Retry-After (seconds) of a 503 unavailable answer: long
// enough for a stalled database to be noticed by /readyz, short enough for
// a client to come back soon.
const RetryAfter = "2"

// Status returns the HTTP status of a domain error code: the one table,
// shared with the gateway.
func Status(c auth.Code) int {
	if st, ok := status[c]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON of every error response (spec 12.10).
type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// logInfo carries the principal to the access log only; handlers get it
// through call.
type logInfo struct {
	p     *auth.Principal
	spent bool // the request spent a user action (metrics)
}

type logKey struct{}

func setSpent(r *http.Request) {
	if li, ok := r.Context().Value(logKey{}).(*logInfo); ok {
		li.spent = true
	}
}

func setPrincipal(r *http.Request, p *auth.Principal) {
	if li, ok := r.Context().Value(logKey{}).(*logInfo); ok {
		li.p = p
	}
}

// observe adapts a handler that returns an error: it gives the request an
// id, maps the error to its status and JSON body, and logs one line per
// request. Internal errors are logged with their cause and answered with
// "internal error" only; no header, token, body or signature is ever logged.
func (s *Server) observe(route string, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = reqid.New()
		}
		w.Header().Set("X-Request-Id", id)
		li := &logInfo{}
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		r = r.WithContext(context.WithValue(ctx, logKey{}, li))
		rec := &statusRecorder{ResponseWriter: w}
		err := h(rec, r)
		level := slog.LevelInfo
		var code auth.Code
		if err != nil {
			code = auth.ErrorCode(err)
			st, ok := status[code]
			if !ok {
				st = http.StatusInternalServerError
			}
			var body errorBody
			body.Error.Status, body.Error.Code, body.Error.Message = st, string(code), auth.ErrorMessage(err)
			if code == auth.Internal {
				level = slog.LevelError
			}
			if code == auth.Unavailable {
				level = slog.LevelWarn
				rec.Header().Set("Retry-After", RetryAfter)
			}
			if rec.status == 0 {
				writeJSON(rec, st, body)
			}
		}
		dur := time.Since(start)
		// The line is built only when it is logged, as in the gateway: at
		// warn, the level signet is run at under load, a request's
		// attributes cost allocations for nothing.
		if s.log.Enabled(r.Context(), level) {
			attrs := []slog.Attr{
				slog.String("req", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			}
			if li.p != nil {
				attrs = append(attrs, slog.String("org", li.p.OrgID), slog.String("user", li.p.UserID), slog.String("token", li.p.TokenID))
			}
			if err != nil {
				// The cause helps operators; causes never hold secrets.
				attrs = append(attrs, slog.String("err", err.Error()))
			}
			attrs = append(attrs, slog.Int("status", rec.status), slog.Duration("dur", dur))
			s.log.LogAttrs(r.Context(), level, "request", attrs...)
		}
		if s.observer != nil {
			s.observer.ObserveRequest(route, r.Method, rec.status, string(code), li.spent, dur)
		}
	})
}

// acceptSignature advertises RFC 9421 signed requests (RFC 9421 section
// 5.1): the components and parameters signet requires; content-digest when
// there is a body.
const acceptSignature = `sig1=("@method" "@target-uri" "authorization" "content-digest");created;nonce;keyid;alg`

// spendSignature verifies the RFC 9421 signature of r (internal/httpsig)
// and spends it as the request's user action (auth.SpendSignature).
func spendSignature(svc *auth.Service, r *http.Request, p *auth.Principal, body []byte) (*auth.Action, error) {
	sr, err := svc.ParseSignedRequest(httpsig.Request(r), body)
	if err != nil {
		return nil, err
	}
	return svc.SpendSignature(r.Context(), p, sr)
}
