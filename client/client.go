package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Version is the SDK version, sent in the default User-Agent.
const Version = "0.1.0"

// maxResponse bounds the body read from the server, so a misbehaving
// endpoint cannot exhaust memory.
const maxResponse = 16 << 20

// Client calls a signet server. It is safe for concurrent use; With returns
// a copy with other settings, so one Client per credential is cheap.
type Client struct {
	base      *url.URL
	token     string
	signer    Signer
	hc        *http.Client
	userAgent string
	insecure  bool
	// advertised is set once a response of the server carried
	// Accept-Signature (RFC 9421 section 5.1); shared by With's copies.
	advertised *atomic.Bool
	httpsig    httpsigMode
}

// httpsigMode says when a Key signer signs requests with RFC 9421.
type httpsigMode int

const (
	httpsigAuto   httpsigMode = iota // when the server advertises it
	httpsigAlways                    // always
	httpsigNever                     // never: the Dfns user-action flow only
)

// WithHTTPSignatures chooses how non-GET calls are signed when the Signer
// is a *KeySigner: on (true), every call is signed with RFC 9421 HTTP
// Message Signatures in one round trip (docs/httpsig.md); off (false), the
// Dfns user-action flow only. Without this option the client uses RFC 9421
// once a response of the server has advertised it (Accept-Signature), and
// the Dfns flow until then.
func WithHTTPSignatures(on bool) Option {
	return func(c *Client) {
		c.httpsig = httpsigNever
		if on {
			c.httpsig = httpsigAlways
		}
	}
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token sent as Authorization: a login token, a
// personal access token or a service-account token.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithSigner sets the Signer that signs user-action challenges for every
// non-GET call. With a PAT or service-account token it must hold that
// token's key.
func WithSigner(s Signer) Option { return func(c *Client) { c.signer = s } }

// WithHTTPClient sets the HTTP client used for every request (timeouts,
// proxies, TLS roots). The default has a 30 second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// AllowInsecureHTTP lets New accept a plain http:// URL whose host is not a
// loopback address. Tokens then cross the network in clear text: use it only
// on a network you trust (e.g. between containers of one host).
func AllowInsecureHTTP() Option { return func(c *Client) { c.insecure = true } }

// New returns a Client for the signet server at baseURL, e.g.
// "https://signet.example.com" or "http://127.0.0.1:8080". signet serves its
// API at the root of its origin (spec 1.1), so baseURL may not carry a path.
// Plain http is accepted for loopback hosts only, unless AllowInsecureHTTP
// is given.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q must be http(s)://host[:port]", baseURL)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: base URL %q must be an origin only (scheme, host, port): signet serves at the root", baseURL)
	}
	u.Path, u.RawPath = "", ""
	c := &Client{
		base:       u,
		hc:         &http.Client{Timeout: 30 * time.Second},
		userAgent:  "signet-go/" + Version,
		advertised: new(atomic.Bool),
	}
	for _, o := range opts {
		o(c)
	}
	if u.Scheme == "http" && !c.insecure && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("client: base URL %q: plain http is only allowed for loopback hosts (tokens would travel in clear text); use https or AllowInsecureHTTP", baseURL)
	}
	return c, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// With returns a copy of c with opts applied, e.g. c.With(WithToken(t)) after
// a login. c itself is unchanged.
func (c *Client) With(opts ...Option) *Client {
	cp := *c
	for _, o := range opts {
		o(&cp)
	}
	return &cp
}

// BaseURL returns the server's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Token returns the bearer token the Client sends, if any.
func (c *Client) Token() string { return c.token }

// ErrNoSigner is returned by calls that need user action signing when the
// Client has no Signer.
var ErrNoSigner = errors.New("client: this call needs user action signing: configure a Signer (WithSigner)")

// ErrNoToken is returned by calls that need a bearer token when the Client
// has none.
var ErrNoToken = errors.New("client: this call needs a bearer token: configure one (WithToken)")

// auth says which bearer token a request carries.
type auth int

const (
	authClient auth = iota // the Client's token (required)
	authNone               // no Authorization header
	authGiven              // request.token (a temporary token)
)

// request is one API call.
type request struct {
	method string
	path   string // escaped path, beginning with "/"
	query  url.Values
	// rawQuery is sent verbatim when query is nil.
	rawQuery string
	// body is nil (no body), json.RawMessage or []byte (sent verbatim) or a
	// value encoded as JSON.
	body any
	auth auth
	// token is the bearer token when auth is authGiven.
	token string
	// unsigned exempts a non-GET call from user action signing.
	unsigned bool
	// out receives the decoded JSON response, if not nil; a
	// *json.RawMessage receives it verbatim.
	out any
}

// empty is the body of calls the TypeScript SDK sends as "{}" (spec 1.2).
var empty = json.RawMessage(`{}`)

// encode serialises a body once, the way JSON.stringify would (no HTML
// escaping), so the same bytes are signed and sent.
func encode(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return b, nil
	case []byte:
		return b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// do runs one call: user action signing first when the call needs it, then
// the request itself.
func (c *Client) do(ctx context.Context, r *request) error {
	body, err := encode(r.body)
	if err != nil {
		return err
	}
	u := *c.base
	u.Path, u.RawPath = "", ""
	ref, err := url.Parse(r.path)
	if err != nil || ref.IsAbs() || ref.Host != "" || !strings.HasPrefix(r.path, "/") || strings.HasPrefix(r.path, "//") {
		return fmt.Errorf("client: path %q must be an absolute path on the server", r.path)
	}
	full := u.ResolveReference(ref)
	if r.query != nil {
		full.RawQuery = r.query.Encode()
	} else {
		full.RawQuery = r.rawQuery
	}

	var tok string
	switch r.auth {
	case authClient:
		if c.token == "" {
			return ErrNoToken
		}
		tok = c.token
	case authGiven:
		tok = r.token
	}

	var userAction string
	var signRequest *KeySigner
	if r.method != http.MethodGet && r.method != http.MethodHead && !r.unsigned {
		if tok == "" {
			return ErrNoToken
		}
		// The signed path is what the server sees: the escaped path, and
		// the query when there is one (spec 12.1 binds both then).
		signedPath := full.EscapedPath()
		if full.RawQuery != "" {
			signedPath += "?" + full.RawQuery
		}
		if ks, ok := c.signer.(*KeySigner); ok && c.useHTTPSig() {
			signRequest = ks
		} else if userAction, err = c.SignAction(ctx, r.method, signedPath, string(body)); err != nil {
			return err
		}
	}

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, full.String(), rd)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if userAction != "" {
		req.Header.Set("X-DFNS-USERACTION", userAction)
	}
	if signRequest != nil {
		if err := signRequest.SignRequest(req, body, time.Now()); err != nil {
			return err
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer res.Body.Close()
	if res.Header.Get(AcceptSignature) != "" && c.advertised != nil {
		c.advertised.Store(true)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading response: %w", r.method, r.path, err)
	}
	if len(raw) > maxResponse {
		return fmt.Errorf("client: %s %s: response larger than %d bytes", r.method, r.path, maxResponse)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 || res.StatusCode == http.StatusAccepted {
		return newError(res, raw)
	}
	if r.out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if rm, ok := r.out.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	if err := json.Unmarshal(raw, r.out); err != nil {
		return fmt.Errorf("client: %s %s: decoding response: %w", r.method, r.path, err)
	}
	return nil
}

// Do calls any endpoint: signet's own or, through signet's gateway, an API
// signet guards. path is an absolute path, optionally with a query. body is
// nil (no body), a json.RawMessage or []byte sent verbatim, or a value
// encoded as JSON. out, if not nil, receives the JSON response (verbatim for
// a *json.RawMessage). Non-GET calls are user-action signed, except the ones
// the contract leaves unsigned (login, registration, recovery, the action
// calls, logout, credential challenges).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	method = strings.ToUpper(method)
	p, q, _ := strings.Cut(path, "?")
	r := &request{method: method, path: p, body: body, out: out, unsigned: isUnsigned(method, p)}
	if q != "" {
		if _, err := url.ParseQuery(q); err != nil {
			return fmt.Errorf("client: query %q: %w", q, err)
		}
		r.rawQuery = q
	}
	if c.token == "" {
		if !r.unsigned && method != http.MethodGet {
			return ErrNoToken
		}
		r.auth = authNone
	}
	return c.do(ctx, r)
}

// unsignedPaths are the non-GET endpoints the contract exempts from user
// action signing (spec 4.5, 5.0).
var unsignedPaths = map[string]bool{
	"POST /auth/login/init":              true,
	"POST /auth/login":                   true,
	"POST /auth/login/code":              true,
	"POST /auth/login/social":            true,
	"POST /auth/login/sso/init":          true,
	"POST /auth/login/sso":               true,
	"PUT /auth/logout":                   true,
	"POST /auth/registration/init":       true,
	"POST /auth/registration":            true,
	"POST /auth/registration/enduser":    true,
	"PUT /auth/registration/code":        true,
	"POST /auth/registration/social":     true,
	"POST /auth/recover/user/init":       true,
	"POST /auth/recover/user":            true,
	"POST /auth/recover/user/code":       true,
	"POST /auth/action/init":             true,
	"POST /auth/action":                  true,
	"POST /auth/credentials/init":        true,
	"POST /auth/credentials/code/init":   true,
	"POST /auth/credentials/code/verify": true,
}

func isUnsigned(method, path string) bool {
	return method == http.MethodGet || method == http.MethodHead ||
		unsignedPaths[method+" "+strings.TrimSuffix(path, "/")]
}

// pathf builds an escaped path from a format whose %s verbs are path
// segments (ids), escaping each.
func pathf(format string, segs ...string) string {
	args := make([]any, len(segs))
	for i, s := range segs {
		args[i] = url.PathEscape(s)
	}
	return fmt.Sprintf(format, args...)
}

// useHTTPSig reports whether a Key signer signs this call with RFC 9421.
func (c *Client) useHTTPSig() bool {
	switch c.httpsig {
	case httpsigAlways:
		return true
	case httpsigNever:
		return false
	}
	return c.advertised != nil && c.advertised.Load()
}
