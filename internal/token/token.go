// Package token owns signet's bearer tokens: it mints and verifies the JWTs
// handed to users, PATs and service accounts (spec 2.1, 12.6), EdDSA as
// Dfns's or ES256 (--token-alg), keeps the signing keys (sealed under a
// master key, rotatable, also from one algorithm to the other, without
// invalidating live tokens) and publishes their public halves as a JWKS.
//
// It decides nothing about who may do what: a token that passes Verify only
// proves that signet issued it and that it has not expired. Revocation
// (deactivation, logout) is checked by the caller against the token id.
package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Kind is the app_metadata.tokenKind of a token (spec 2.1, 12.6).
type Kind string

const (
	KindLogin          Kind = "Token"
	KindTemp           Kind = "Temp"
	KindPAT            Kind = "Pat"
	KindServiceAccount Kind = "ServiceAccount"
)

func (k Kind) valid() bool {
	switch k {
	case KindLogin, KindTemp, KindPAT, KindServiceAccount:
		return true
	}
	return false
}

// Claims are the fields signet puts in and reads from a token (spec 12.6).
type Claims struct {
	ID        string // jti
	OrgID     string // sub and app_metadata.orgId
	UserID    string // app_metadata.userId
	Username  string // https://custom/username; "" for a service account
	Kind      Kind   // app_metadata.tokenKind
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// ErrInvalid is the only error Verify returns (wrapping the cause, for logs):
// callers must not tell one failure from another (spec 12.10).
var ErrInvalid = errors.New("token: invalid")

const (
	// audience is the aud of every Dfns token (spec 2.1).
	audience = "dfns:auth:user"
	// clockSkew is the only leeway granted on exp, iat and nbf.
	clockSkew = 30 * time.Second
	// defaultMaxLifetime is the longest PAT / service-account lifetime (spec 2.2: 730 days).
	defaultMaxLifetime = 730 * 24 * time.Hour
	// missInterval bounds how often a token with an unknown kid makes Verify
	// read the store, so forged kids cannot turn into a database flood.
	missInterval = time.Second
	// missTimeout bounds that read; Verify has no context of its own.
	missTimeout = 5 * time.Second
)

// Config configures an Issuer; New validates it once.
type Config struct {
	// Issuer is the iss claim written and required (spec 12.6).
	Issuer string
	// Store persists the signing keys.
	Store KeyStore
	// MasterKey (32 bytes, AES-256) seals the private keys in Store.
	MasterKey []byte
	// Now is the clock for token times and key retirement; nil means time.Now.
	Now func() time.Time
	// Alg is the algorithm of the keys this Issuer creates (EdDSA or ES256).
	// Empty keeps the current key's algorithm (EdDSA for a first key). The
	// current key signs whatever its algorithm; EnsureAlg rotates to Alg.
	Alg string
	// MaxLifetime is the longest lifetime Mint accepts (730 days when zero).
	// A retired key is still published and accepted until RetiredAt+MaxLifetime,
	// so every token it signed can live out its life.
	MaxLifetime time.Duration
}

// Issuer mints and verifies tokens. It is safe for concurrent use.
type Issuer struct {
	issuer      string
	store       KeyStore
	aead        cipher.AEAD
	now         func() time.Time
	maxLifetime time.Duration
	alg         string // Config.Alg
	parser      *jwt.Parser

	// syncMu serialises everything that reads the store to replace the key
	// set, or writes to it (New, Refresh, Rotate, unknown-kid reloads), so a
	// slow reload can never overwrite a newer rotation.
	syncMu       sync.Mutex
	lastMiss     time.Time     // last unknown-kid reload (monotonic clock); guarded by syncMu
	missInterval time.Duration // tests shorten it

	mu      sync.RWMutex
	keys    map[string]*key // by kid; values are immutable once published
	current *key            // signs new tokens; never nil after New
}

// New validates cfg and loads the signing keys from cfg.Store, creating and
// persisting a first key when the store holds no current one.
func New(ctx context.Context, cfg Config) (*Issuer, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("token: config: Issuer is required")
	case cfg.Store == nil:
		return nil, errors.New("token: config: Store is required")
	case len(cfg.MasterKey) != 32:
		return nil, fmt.Errorf("token: config: MasterKey must be 32 bytes, got %d", len(cfg.MasterKey))
	case cfg.MaxLifetime < 0:
		return nil, errors.New("token: config: MaxLifetime must not be negative")
	case cfg.Alg != "" && !ValidAlg(cfg.Alg):
		return nil, fmt.Errorf("token: config: Alg %q must be EdDSA or ES256", cfg.Alg)
	}
	block, err := aes.NewCipher(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	i := &Issuer{
		issuer:       cfg.Issuer,
		store:        cfg.Store,
		aead:         aead,
		now:          cfg.Now,
		maxLifetime:  cfg.MaxLifetime,
		alg:          cfg.Alg,
		missInterval: missInterval,
		keys:         map[string]*key{},
	}
	if i.now == nil {
		i.now = time.Now
	}
	if i.maxLifetime == 0 {
		i.maxLifetime = defaultMaxLifetime
	}
	// RFC 8725 §3.1: the algorithm is never taken from the token alone:
	// only these two are parsed, and keyFunc requires the one of the key
	// the kid names.
	i.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{EdDSA, ES256}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(i.now),
		// Canonical base64 only, so one token has exactly one spelling.
		jwt.WithStrictDecoding(),
	)

	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	err = i.reload(ctx)
	if errors.Is(err, errNoCurrentKey) {
		alg := cfg.Alg
		if alg == "" {
			alg = EdDSA
		}
		err = i.rotate(ctx, alg)
	}
	if err != nil {
		return nil, err
	}
	return i, nil
}

// payload is a token's claim set as read by Verify. Registered claims come
// from jwt.RegisteredClaims (aud may be a string or an array); the Dfns ones
// are pointers so that absence can be told from "".
type payload struct {
	jwt.RegisteredClaims
	Username *string      `json:"https://custom/username"`
	App      *appMetadata `json:"https://custom/app_metadata"`
}

type appMetadata struct {
	UserID string `json:"userId"`
	OrgID  string `json:"orgId"`
	Kind   Kind   `json:"tokenKind"`
}

// Validate checks the claims the parser options do not (jwt.ClaimsValidator).
func (p *payload) Validate() error {
	switch {
	case p.ID == "":
		return errors.New("missing jti")
	case p.Subject == "":
		return errors.New("missing sub")
	case p.IssuedAt == nil:
		return errors.New("missing iat")
	case p.Username == nil:
		return errors.New("missing https://custom/username")
	case p.App == nil:
		return errors.New("missing https://custom/app_metadata")
	case p.App.UserID == "":
		return errors.New("missing app_metadata.userId")
	case p.App.OrgID != p.Subject:
		// The TS SDK scopes by app_metadata.orgId (spec 2.3), others by sub.
		return errors.New("app_metadata.orgId differs from sub")
	case !p.App.Kind.valid():
		return errors.New("unknown app_metadata.tokenKind")
	}
	return nil
}

// mintPayload is a token's claim set as written by Mint, in the Dfns shape
// (spec 2.1): aud is a single string, times are whole seconds.
type mintPayload struct {
	Issuer    string      `json:"iss"`
	Audience  string      `json:"aud"`
	Subject   string      `json:"sub"`
	ID        string      `json:"jti"`
	IssuedAt  int64       `json:"iat"`
	ExpiresAt int64       `json:"exp"`
	Username  string      `json:"https://custom/username"`
	App       appMetadata `json:"https://custom/app_metadata"`
}

// The jwt.Claims getters, which jwt.NewWithClaims requires; signing only
// marshals the struct.
func (p *mintPayload) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(p.ExpiresAt, 0)), nil
}
func (p *mintPayload) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(p.IssuedAt, 0)), nil
}
func (p *mintPayload) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (p *mintPayload) GetIssuer() (string, error)              { return p.Issuer, nil }
func (p *mintPayload) GetSubject() (string, error)             { return p.Subject, nil }
func (p *mintPayload) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{p.Audience}, nil
}

// Mint signs c with the current key. A zero c.IssuedAt means now. Times are
// truncated to whole seconds. The lifetime must be positive and at most
// Config.MaxLifetime: key retirement relies on that bound.
func (i *Issuer) Mint(c Claims) (string, error) {
	switch {
	case c.ID == "":
		return "", errors.New("token: mint: ID is required")
	case c.OrgID == "":
		return "", errors.New("token: mint: OrgID is required")
	case c.UserID == "":
		return "", errors.New("token: mint: UserID is required")
	case !c.Kind.valid():
		return "", fmt.Errorf("token: mint: unknown kind %q", c.Kind)
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = i.now()
	}
	p := &mintPayload{
		Issuer:    i.issuer,
		Audience:  audience,
		Subject:   c.OrgID,
		ID:        c.ID,
		IssuedAt:  iat.Unix(),
		ExpiresAt: c.ExpiresAt.Unix(),
		Username:  c.Username,
		App:       appMetadata{UserID: c.UserID, OrgID: c.OrgID, Kind: c.Kind},
	}
	// On the whole seconds written; time.Sub saturates instead of overflowing.
	if life := time.Unix(p.ExpiresAt, 0).Sub(time.Unix(p.IssuedAt, 0)); life <= 0 || life > i.maxLifetime {
		return "", fmt.Errorf("token: mint: lifetime %v outside (0, %v]", life, i.maxLifetime)
	}

	i.mu.RLock()
	k := i.current
	i.mu.RUnlock()

	// What jwt.Token.SignedString does, with the key's header encoded once
	// (TestMintSameAsJWT holds the two to the same bytes).
	claims, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("token: mint: %w", err)
	}
	ss := k.header + "." + base64.RawURLEncoding.EncodeToString(claims)
	sig, err := k.method.Sign(ss, k.priv)
	if err != nil {
		return "", fmt.Errorf("token: mint: %w", err)
	}
	return ss + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Verify checks tok and returns its claims. It accepts only a kid of a key
// still accepted, with that key's algorithm (EdDSA or ES256; RFC 8725 §3.1,
// so a token cannot pick another algorithm than its key's), a valid signature, our iss,
// aud dfns:auth:user, an exp not passed and an iat not in the future (30s
// clock skew), and every claim of spec 12.6. An unknown kid makes it reload
// the keys from the store (at most once per second), in case another replica
// rotated. Every failure is ErrInvalid, wrapping the cause for logs.
func (i *Issuer) Verify(tok string) (*Claims, error) {
	var p payload
	if _, err := i.parser.ParseWithClaims(tok, &p, i.keyFunc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &Claims{
		ID:        p.ID,
		OrgID:     p.Subject,
		UserID:    p.App.UserID,
		Username:  *p.Username,
		Kind:      p.App.Kind,
		IssuedAt:  p.IssuedAt.UTC(),
		ExpiresAt: p.ExpiresAt.UTC(),
	}, nil
}

var (
	errNoKid       = errors.New("no kid in header")
	errUnknownKid  = errors.New("unknown kid")
	errKeyExpired  = errors.New("signing key retired too long ago")
	errAlgMismatch = errors.New("alg is not the algorithm of the key kid names")
)

// keyFunc picks the verification key by kid; it never trusts the header's
// alg: the token must name the algorithm of the key it names.
func (i *Issuer) keyFunc(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodEdDSA && t.Method != jwt.SigningMethodES256 {
		return nil, errors.New("alg is neither EdDSA nor ES256")
	}
	// RFC 7515 §4.1.11: unknown critical extensions must be rejected; the
	// library ignores crit, and we understand none.
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header not supported")
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errNoKid
	}
	k, err := i.lookup(kid)
	if errors.Is(err, errUnknownKid) {
		if err = i.reloadForKid(kid); err == nil {
			k, err = i.lookup(kid)
		}
	}
	if err != nil {
		return nil, err
	}
	if t.Method != k.method {
		return nil, errAlgMismatch
	}
	return k.verifyKey, nil
}

func (i *Issuer) lookup(kid string) (*key, error) {
	i.mu.RLock()
	k := i.keys[kid]
	i.mu.RUnlock()
	if k == nil {
		return nil, errUnknownKid
	}
	if !k.acceptedAt(i.now(), i.maxLifetime) {
		return nil, errKeyExpired
	}
	return k, nil
}

// reloadForKid reloads the key set for a token with an unseen kid, unless a
// reload for that reason already happened within missInterval.
func (i *Issuer) reloadForKid(kid string) error {
	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	i.mu.RLock()
	_, ok := i.keys[kid]
	i.mu.RUnlock()
	if ok { // loaded while we waited for syncMu
		return nil
	}
	if !i.lastMiss.IsZero() && time.Since(i.lastMiss) < i.missInterval {
		return errUnknownKid
	}
	i.lastMiss = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), missTimeout)
	defer cancel()
	if err := i.reload(ctx); err != nil {
		return fmt.Errorf("%w (reload failed: %w)", errUnknownKid, err)
	}
	return nil
}
