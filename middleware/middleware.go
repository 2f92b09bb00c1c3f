// Package middleware lets a Go service behind or beside signet accept
// signet's bearer tokens. It verifies them offline against signet's public
// keys (the JWKS at <signet>/.well-known/jwks.json, cached and refetched when
// a token names a key it has not seen, at most once per RefreshInterval),
// accepting only EdDSA (Ed25519) and ES256 (P-256) tokens signed with the
// algorithm of the key their kid names, signet's issuer, the audience dfns:auth:user and an
// unexpired token, and puts the caller's Principal in the request context.
//
// Offline verification cannot see revocation: a deactivated PAT or a logged
// out session stays valid here until it expires. For state-changing calls,
// VerifyActions makes the middleware also require a user-action token
// (X-DFNS-USERACTION) and have signet confirm and consume it, which checks
// the caller is still active and keeps every action single use.
package middleware

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token kinds (app_metadata.tokenKind).
const (
	KindLogin          = "Token"
	KindTemp           = "Temp"
	KindPAT            = "Pat"
	KindServiceAccount = "ServiceAccount"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	OrgID     string
	UserID    string
	Username  string // "" for a service account
	TokenID   string // jti
	Kind      string // Token (login), Pat or ServiceAccount
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Token is the bearer token itself, e.g. to call signet on the
	// caller's behalf.
	Token string
	// Action is the user action signet confirmed for this request, when
	// VerifyActions is on and the request is not a GET.
	Action *Action
}

type ctxKey struct{}

// PrincipalFrom returns the principal Handler put in ctx.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// NewContext returns ctx carrying p (for tests of handlers).
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// Config configures a Verifier; New validates it.
type Config struct {
	// URL is signet's base URL, e.g. https://signet.example.com.
	URL string
	// JWKSURL overrides where the keys are read (default
	// URL + "/.well-known/jwks.json").
	JWKSURL string
	// Issuer is the iss signet writes (its --issuer setting). Required.
	Issuer string
	// Audience is the required aud (default "dfns:auth:user").
	Audience string
	// Kinds are the token kinds accepted (default Token, Pat and
	// ServiceAccount; a Temp registration token is never a session).
	Kinds []string
	// HTTPClient fetches keys and verifies actions (default: 10 s timeout).
	HTTPClient *http.Client
	// CacheTTL is how long fetched keys are used before they are fetched
	// again (default 5 minutes). Stale keys stay in use when a fetch fails.
	CacheTTL time.Duration
	// RefreshInterval is the least time between two fetches caused by a
	// token with an unknown kid (default 5 s), so forged kids cannot turn
	// into a flood of requests to signet. It is also the longest a token of
	// a freshly rotated signing key can be refused.
	RefreshInterval time.Duration
	// Leeway is the clock skew allowed on exp and iat (default 30 s).
	Leeway time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// VerifyActions makes Handler require, on every request other than
	// GET, HEAD and OPTIONS, an X-DFNS-USERACTION header that signet
	// confirms is bound to this caller, method, path and body, and
	// consumes, at ActionVerifyPath.
	VerifyActions bool
	// ActionVerifyPath is signet's action verification endpoint (default
	// "/auth/action/verify").
	ActionVerifyPath string
	// MaxBody bounds the body Handler reads to verify an action (default
	// 1 MiB).
	MaxBody int64
	// Logger receives verification failures at debug level (default:
	// none). Tokens are never logged.
	Logger *slog.Logger
}

// Verifier verifies signet tokens. It is safe for concurrent use.
type Verifier struct {
	cfg       Config
	jwksURL   string
	verifyURL string
	kinds     map[string]bool
	parser    *jwt.Parser

	fetchMu sync.Mutex // serialises fetches

	mu          sync.RWMutex
	keys        map[string]pubKey
	fetchedAt   time.Time // last successful fetch
	attemptedAt time.Time // last fetch attempt
}

// New validates cfg and returns a Verifier. Keys are fetched on first use,
// so a service may start before signet.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("middleware: Issuer is required (signet's --issuer)")
	}
	if cfg.URL == "" && cfg.JWKSURL == "" {
		return nil, errors.New("middleware: URL (or JWKSURL) is required")
	}
	if cfg.VerifyActions && cfg.URL == "" {
		return nil, errors.New("middleware: VerifyActions needs URL")
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	for _, u := range []string{cfg.URL, cfg.JWKSURL} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("middleware: %q is not an http(s) URL", u)
		}
	}
	if cfg.Audience == "" {
		cfg.Audience = "dfns:auth:user"
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []string{KindLogin, KindPAT, KindServiceAccount}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Second
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ActionVerifyPath == "" {
		cfg.ActionVerifyPath = "/auth/action/verify"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{cfg: cfg, jwksURL: cfg.JWKSURL, verifyURL: base + cfg.ActionVerifyPath, kinds: map[string]bool{}}
	if v.jwksURL == "" {
		v.jwksURL = base + "/.well-known/jwks.json"
	}
	for _, k := range cfg.Kinds {
		v.kinds[k] = true
	}
	// RFC 8725 §3.1: the algorithm is never taken from the token alone:
	// only these two parse, and the key's must match.
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	)
	return v, nil
}

// ErrInvalidToken is returned (wrapped, with the cause) for every token
// that fails verification.
var ErrInvalidToken = errors.New("middleware: invalid token")

// claims is the payload of a signet token (spec 2.1).
type claims struct {
	jwt.RegisteredClaims
	Username *string `json:"https://custom/username"`
	App      *struct {
		UserID string `json:"userId"`
		OrgID  string `json:"orgId"`
		Kind   string `json:"tokenKind"`
	} `json:"https://custom/app_metadata"`
}

func (c *claims) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("missing jti")
	case c.Subject == "":
		return errors.New("missing sub")
	case c.App == nil || c.App.UserID == "":
		return errors.New("missing app_metadata.userId")
	case c.App.OrgID != c.Subject:
		return errors.New("app_metadata.orgId differs from sub")
	}
	return nil
}

// Verify checks a bearer token and returns its principal.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodEdDSA && t.Method != jwt.SigningMethodES256 {
			return nil, errors.New("alg is neither EdDSA nor ES256")
		}
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit header not supported")
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		k, err := v.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		if t.Method != k.method {
			return nil, errors.New("alg is not the algorithm of the key kid names")
		}
		return k.key, nil
	})
	if err != nil {
		v.cfg.Logger.DebugContext(ctx, "token rejected", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !v.kinds[c.App.Kind] {
		return nil, fmt.Errorf("%w: token kind %q not accepted", ErrInvalidToken, c.App.Kind)
	}
	p := &Principal{
		OrgID: c.Subject, UserID: c.App.UserID, TokenID: c.ID, Kind: c.App.Kind, Token: token,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time,
	}
	if c.Username != nil {
		p.Username = *c.Username
	}
	return p, nil
}

var errUnknownKid = errors.New("unknown kid")

// pubKey is a verification key with the one algorithm it verifies.
type pubKey struct {
	method jwt.SigningMethod
	key    any // ed25519.PublicKey or *ecdsa.PublicKey
}

// key returns the public key kid names, fetching the key set when it is
// stale or when kid is unknown (at most once per RefreshInterval).
func (v *Verifier) key(ctx context.Context, kid string) (*pubKey, error) {
	k, fresh := v.lookup(kid)
	if k != nil && fresh {
		return k, nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	// Another goroutine may have fetched while we waited.
	k, fresh = v.lookup(kid)
	if k != nil && fresh {
		return k, nil
	}
	v.mu.RLock()
	since := v.cfg.Now().Sub(v.attemptedAt)
	never := v.attemptedAt.IsZero()
	v.mu.RUnlock()
	if never || since >= v.cfg.RefreshInterval {
		if err := v.fetch(ctx); err != nil {
			v.cfg.Logger.WarnContext(ctx, "fetching signet's keys failed", "url", v.jwksURL, "err", err)
			if k == nil {
				return nil, fmt.Errorf("%w (fetching keys: %w)", errUnknownKid, err)
			}
		}
		k, _ = v.lookup(kid)
	}
	if k == nil {
		return nil, errUnknownKid
	}
	return k, nil
}

// lookup returns the cached key for kid and whether the cache is fresh.
func (v *Verifier) lookup(kid string) (*pubKey, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	fresh := !v.fetchedAt.IsZero() && v.cfg.Now().Sub(v.fetchedAt) < v.cfg.CacheTTL
	k, ok := v.keys[kid]
	if !ok {
		return nil, fresh
	}
	return &k, fresh
}

// jwks is RFC 7517's key set; only Ed25519 keys (RFC 8037) for EdDSA and
// P-256 keys (RFC 7518 §6.2) for ES256 are kept.
type jwks struct {
	Keys []struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	} `json:"keys"`
}

// fetch replaces the key set with signet's current one. Callers hold fetchMu.
func (v *Verifier) fetch(ctx context.Context) error {
	v.mu.Lock()
	v.attemptedAt = v.cfg.Now()
	v.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", v.jwksURL, res.StatusCode)
	}
	var set jwks
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("GET %s: %w", v.jwksURL, err)
	}
	keys := map[string]pubKey{}
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch {
		case k.Kty == "OKP" && k.Crv == "Ed25519" && (k.Alg == "" || k.Alg == "EdDSA"):
			x, err := base64.RawURLEncoding.DecodeString(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				continue
			}
			keys[k.Kid] = pubKey{jwt.SigningMethodEdDSA, ed25519.PublicKey(x)}
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
			x, errX := base64.RawURLEncoding.DecodeString(k.X)
			y, errY := base64.RawURLEncoding.DecodeString(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
				continue
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil { // not on the curve
				continue
			}
			keys[k.Kid] = pubKey{jwt.SigningMethodES256, pub}
		}
	}
	v.mu.Lock()
	v.keys, v.fetchedAt = keys, v.cfg.Now()
	v.mu.Unlock()
	return nil
}

// Handler returns middleware that lets through only requests with a valid
// signet bearer token (and, with VerifyActions, a confirmed user action on
// every request but GET, HEAD and OPTIONS), with the Principal in the
// request context. Failures are answered in signet's error shape.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "Not Authorized.")
			return
		}
		p, err := v.Verify(r.Context(), tok)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "Not Authorized.")
			return
		}
		if v.cfg.VerifyActions && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			body, err := readBody(w, r, v.cfg.MaxBody)
			if err != nil {
				writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", err.Error())
				return
			}
			a, err := v.VerifyAction(r.Context(), tok, r.Header.Get("X-DFNS-USERACTION"), r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body)
			if err != nil {
				var ae *ActionError
				if errors.As(err, &ae) {
					writeError(w, ae.Status, ae.Code, ae.Message)
				} else {
					v.cfg.Logger.ErrorContext(r.Context(), "verifying a user action failed", "err", err)
					writeError(w, http.StatusBadGateway, "internal", "user action could not be verified")
				}
				return
			}
			p.Action = a
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// readBody reads the body within max and puts it back for the handler.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, fmt.Errorf("request body exceeds %d bytes", max)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Status, body.Error.Code, body.Error.Message = status, code, msg
	_ = json.NewEncoder(w).Encode(body)
}
