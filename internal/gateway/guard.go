package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpsig"
)

// observe runs guard for one request bound for the upstream: it gives the
// request an id, answers an error with the JSON body of signet's own API,
// and logs one line. No header, token, body or signature is ever logged.
func (g *Gateway) observe(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{id: requestID(r), in: r.Context()}
	x.rec.ResponseWriter = w
	rec := &x.rec
	// The exchange joins the request's context in forward, where the
	// ReverseProxy hooks that read it run: a refused request never copies
	// its Request for it.
	var err error
	// Deferred, so the line is written even when ReverseProxy aborts a
	// response whose body failed half-way (http.ErrAbortHandler).
	defer func() {
		if x.action != nil {
			// The audit entry of the spent action gets the outcome.
			g.svc.RecordOutcome(r.Context(), x.action, rec.status)
		}
		level := slog.LevelInfo
		if x.upstreamErr != nil {
			level = slog.LevelWarn
		}
		if err != nil && auth.ErrorCode(err) == auth.Internal {
			level = slog.LevelError
		}
		dur := time.Since(start)
		// The line is built only when it is logged (issue 13: at warn, a
		// request's attributes cost allocations for nothing).
		if g.log.Enabled(r.Context(), level) {
			attrs := []slog.Attr{
				slog.String("req", x.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Bool("gateway", true),
			}
			if x.route != nil {
				attrs = append(attrs, slog.String("route", x.route.String()))
			}
			if x.p != nil {
				attrs = append(attrs, slog.String("org", x.p.OrgID), slog.String("user", x.p.UserID), slog.String("token", x.p.TokenID))
			}
			if x.action != nil {
				attrs = append(attrs, slog.String("action", x.action.ID))
			}
			if x.upstreamErr != nil {
				attrs = append(attrs, slog.String("upstream_err", x.upstreamErr.Error()))
			}
			if err != nil {
				// Causes help operators and never hold secrets.
				attrs = append(attrs, slog.String("err", err.Error()))
			}
			attrs = append(attrs, slog.Int("status", rec.status), slog.Duration("dur", dur))
			g.log.LogAttrs(r.Context(), level, "request", attrs...)
		}
		if g.observer != nil {
			route, code := "upstream unmatched", ""
			if x.route != nil {
				route = x.route.metric
			}
			if err != nil {
				code = string(auth.ErrorCode(err))
			}
			g.observer.ObserveRequest(route, r.Method, rec.status, code, x.action != nil, dur)
		}
	}()
	if err = g.guard(rec, r, x); err != nil && rec.status == 0 {
		rec.Header().Set("X-Request-Id", x.id)
		code := auth.ErrorCode(err)
		if code == auth.Unavailable {
			rec.Header().Set("Retry-After", "2")
		}
		writeError(rec, g.status(code), string(code), auth.ErrorMessage(err))
	}
}

// guard decides whether r may reach the upstream and forwards it. The
// order is that of signet's own routes (internal/httpapi): body limit,
// bearer token, user action, operation.
func (g *Gateway) guard(w http.ResponseWriter, r *http.Request, x *exchange) error {
	if err := checkTarget(r); err != nil {
		return err
	}
	rt := g.routes.match(r)
	x.route = rt
	if err := checkUpgrade(r, rt); err != nil {
		return err
	}
	if limit := g.limit(r, rt); r.ContentLength > limit {
		return auth.Errorf(auth.TooLarge, "request body exceeds %d bytes", limit)
	}
	if rt != nil && rt.Public {
		// A public route asks nothing: a spelling of a guarded path must
		// not get through under it.
		if la := g.routes.lookalike(r, rt); la != nil {
			return lookalikeError(r, la)
		}
		if err := g.limits.LimitPublic(w, r); err != nil {
			return err
		}
		return g.forward(w, r, x)
	}

	tok, ok := bearerToken(r)
	if !ok {
		return g.limits.LimitFailedAuth(w, r, auth.Errorf(auth.Unauthenticated, "Not Authorized."))
	}
	// signet's checks are bounded (a stalled database makes a 503); the
	// forward below is not: it has the upstream's own timeout. The bound
	// arms a timer only when a check waits (checkctx.go).
	ctx := x.check.start(r.Context(), g.checks)
	defer ctx.release()
	signed := g.signed(r, rt)
	httpSigned := signed && httpsig.Present(r.Header) // RFC 9421 in place of X-DFNS-USERACTION (docs/httpsig.md)
	authenticate := g.svc.Authenticate
	if httpSigned {
		// The credentials its signature is checked against are read with
		// the principal, in one store read.
		authenticate = g.svc.AuthenticateSigner
	}
	p, err := authenticate(ctx, tok)
	if err != nil {
		return g.limits.LimitFailedAuth(w, r, err)
	}
	x.p = p
	// One budget per identity, shared with signet's own routes.
	if err := g.limits.LimitIdentity(ctx, w, p); err != nil {
		return err
	}
	// An authenticated caller may learn that a path is not open; an
	// anonymous one learns nothing about the route table.
	if rt == nil && g.routes.fallback == Deny {
		return auth.Errorf(auth.Forbidden, "%s %s is not authorized to call %s %s through the gateway", p.UserKind, p.UserID, r.Method, r.URL.Path)
	}
	// "default": "authenticated" forwards without an operation, and a
	// route may ask less than another: a spelling of a declared route's
	// path must not get through that way.
	if la := g.routes.lookalike(r, rt); la != nil {
		return lookalikeError(r, la)
	}
	var body []byte
	if signed {
		body, err = g.readBody(r)
		if err != nil {
			return err
		}
		sp := &auth.Spend{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: body}
		if rt != nil {
			sp.UnsignedQuery = rt.UnsignedQuery
		}
		if httpSigned {
			x.action, err = g.spendSignature(ctx, r, p, body)
		} else {
			x.action, err = g.svc.SpendAction(ctx, p, r.Header.Get("X-DFNS-USERACTION"), sp)
		}
		if err != nil {
			return err
		}
		// Replay exactly the bytes that were verified.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	if rt != nil && rt.Operation != "" {
		if err := g.svc.Authorize(ctx, p, rt.Operation); err != nil {
			return err
		}
		// The org's policies over the operation (docs/policies.md,
		// "Gateway mode"): one cache lookup when there are none.
		if err := g.svc.GateRequest(ctx, p, rt.Operation, body, signed, func() *auth.HeldRequest { return held(r, x, body) }); err != nil {
			return g.gated(w, x, err)
		}
	}
	return g.forward(w, r, x)
}

// gated answers a request a policy refused or held: a held one gets 202
// with its change request and goes no further.
func (g *Gateway) gated(w http.ResponseWriter, x *exchange, err error) error {
	var pending *auth.PendingError
	if !errors.As(err, &pending) {
		return err
	}
	w.Header().Set("X-Request-Id", x.id)
	g.pending(w, pending.Approval)
	return nil
}

// lookalikeError refuses r, a look-alike of la.
func lookalikeError(r *http.Request, la *Route) error {
	return auth.Errorf(auth.Forbidden, "%s differs from the route %s only by letter case or a trailing slash; use the route's exact path", r.URL.Path, la.Path)
}

// signed reports whether r must carry a user action: every request but GET
// and HEAD, unless its route is public or explicitly unsigned.
func (g *Gateway) signed(r *http.Request, rt *Route) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	return rt == nil || (!rt.Public && !rt.Unsigned)
}

// limit is the largest body r may have: signed bodies are held in memory.
func (g *Gateway) limit(r *http.Request, rt *Route) int64 {
	if g.signed(r, rt) {
		return g.maxBody
	}
	return g.maxStream
}

// readBody reads the body of a signed request whole, within MaxBody. Like
// signet's own routes, a non-empty body must be JSON (spec 12.2): it is
// compared with the signed payload as JSON.
func (g *Gateway) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	lb := &limitedBody{r: r.Body, n: g.maxBody}
	b, err := io.ReadAll(lb)
	if lb.tooLarge {
		return nil, auth.Errorf(auth.TooLarge, "request body exceeds %d bytes", g.maxBody)
	}
	if err != nil {
		return nil, auth.Errorf(auth.Invalid, "could not read request body")
	}
	if len(b) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return nil, auth.Errorf(auth.UnsupportedType, "a user-action signed request body must be application/json")
		}
	}
	return b, nil
}

// forward sends r to the upstream. A streamed body is cut off at
// MaxStreamBody; the upstream call is cancelled if its response headers
// have not arrived within the timeout.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, x *exchange) error {
	if x.action == nil && r.Body != nil && r.Body != http.NoBody {
		x.body = &limitedBody{r: r.Body, n: g.maxStream}
		r.Body = x.body
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(r.Context(), exchangeKey{}, x))
	defer cancel(nil)
	x.timer = time.AfterFunc(g.timeout, func() { cancel(errUpstreamTimeout) })
	defer x.timer.Stop()
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
	return nil
}

// checkTarget refuses request targets that the route table and the
// upstream could read differently, so that no spelling of a path reaches
// the upstream under another route's rules: dot segments, empty segments,
// backslashes and encoded slashes (all of which some servers normalise
// away), ';' path parameters (Tomcat, Jetty and Spring read
// /public/..;/admin/x as /admin/x), control characters, and query strings
// the proxy would rewrite. It also refuses method-override headers, with
// which an upstream that honours them would run another method than the
// one the gateway checked.
func checkTarget(r *http.Request) error {
	if r.Method == http.MethodConnect || r.Method == "TRACE" {
		return auth.Errorf(auth.NotAllowed, "method %s not allowed through the gateway", r.Method)
	}
	for name := range r.Header {
		if equalFold(name, "x-http-method-override") || equalFold(name, "x-method-override") || equalFold(name, "x-http-method") {
			return auth.Errorf(auth.Invalid, "method-override headers (%s) are not accepted through the gateway: send the method itself", name)
		}
	}
	if strings.ContainsRune(r.URL.Path, ';') {
		return auth.Errorf(auth.Invalid, "request path must not contain ';' (path parameters), raw or encoded")
	}
	p := r.URL.Path
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	raw := strings.ToLower(r.URL.RawPath)
	if p == "" || p[0] != '/' || clean != p || strings.ContainsRune(p, '\\') ||
		strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") ||
		strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return auth.Errorf(auth.Invalid, "request path must be canonical: no dot or empty segments, backslashes, encoded slashes or control characters")
	}
	if r.URL.RawQuery != "" {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			return auth.Errorf(auth.Invalid, "malformed query string")
		}
	}
	return nil
}

// checkUpgrade refuses a protocol upgrade unless r's route opts in with
// "upgrade": "websocket" (a GET route that requires an operation, checked
// when the route file was loaded) and r asks for exactly that protocol:
// after the upstream's 101, nothing sent on the connection passes through
// any check.
func checkUpgrade(r *http.Request, rt *Route) error {
	up, ok := r.Header["Upgrade"]
	if !ok {
		return nil
	}
	if rt == nil || rt.Upgrade == "" || r.Method != http.MethodGet {
		return auth.Errorf(auth.Invalid, "protocol upgrades are not accepted on this route")
	}
	if len(up) != 1 || !strings.EqualFold(strings.TrimSpace(up[0]), rt.Upgrade) {
		return auth.Errorf(auth.Invalid, "this route accepts upgrades to %s only", rt.Upgrade)
	}
	return nil
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// limitedBody reads at most n bytes and remembers whether the body was
// longer, so that a failed upstream call can be told apart from an
// oversized body (413, not 502).
type limitedBody struct {
	r        io.ReadCloser
	n        int64
	tooLarge bool
}

var errTooLarge = errors.New("request body too large")

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.tooLarge {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.n {
		l.tooLarge = true
		return int(l.n), errTooLarge
	}
	l.n -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.r.Close() }

// recorder remembers the status written, for the access log. It unwraps,
// so ReverseProxy can still flush and hijack (protocol upgrades) through it.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// errorBody is the JSON of every error response, the shape of signet's own
// API (spec 12.10).
type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var body errorBody
	body.Error.Status, body.Error.Code, body.Error.Message = status, code, msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// spendSignature verifies the RFC 9421 signature of r and spends it as the
// request's user action, like signet's own routes (internal/httpapi).
func (g *Gateway) spendSignature(ctx context.Context, r *http.Request, p *auth.Principal, body []byte) (*auth.Action, error) {
	sr, err := g.svc.ParseSignedRequest(httpsig.Request(r), body)
	if err != nil {
		return nil, err
	}
	return g.svc.SpendSignature(ctx, p, sr)
}
