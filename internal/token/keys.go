package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signing algorithms (RFC 7518 §3.4, RFC 8037 §3.1). A key has exactly one,
// told by its public key's encoding; a token must name its key's.
const (
	// EdDSA is Ed25519, what Dfns signs with: the default.
	EdDSA = "EdDSA"
	// ES256 is ECDSA P-256 with SHA-256, for JWKS consumers that know only
	// the RS/PS/ES families (Ory Oathkeeper, Hydra).
	ES256 = "ES256"
)

// ValidAlg reports whether alg is one an Issuer can sign with.
func ValidAlg(alg string) bool { return alg == EdDSA || alg == ES256 }

// StoredKey is a signing key as persisted: the private key sealed (AES-256-GCM
// from crypto/cipher, random nonce, AAD = the key id) under the master key;
// never stored in clear.
//
// The algorithm is told by Public's length, so the schema needs no column
// for it: 32 bytes is an Ed25519 key (EdDSA), 65 an uncompressed P-256
// point (ES256, SEC 1 §2.3.3).
type StoredKey struct {
	ID        string // kid: the RFC 7638 thumbprint of the public key
	Sealed    []byte // nonce || AES-256-GCM(Ed25519 seed or P-256 scalar), AAD = ID
	Public    []byte // raw 32-byte Ed25519 key or 65-byte uncompressed P-256 point
	CreatedAt time.Time
	RetiredAt *time.Time // nil = current signing key
}

// KeyStore persists signing keys; implemented by the sqlite and postgres
// packages.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]StoredKey, error)
	// CreateSigningKey inserts k and, in the same transaction, sets
	// RetiredAt=k.CreatedAt on every key whose RetiredAt is nil.
	CreateSigningKey(ctx context.Context, k StoredKey) error
}

// key is a signing key in memory. Published keys are never mutated: a change
// (retirement) replaces the value in Issuer.keys.
type key struct {
	id        string
	alg       string            // EdDSA or ES256
	method    jwt.SigningMethod // alg's, the only one a token of this key may name
	pub       []byte            // as stored: raw Ed25519 or uncompressed P-256
	verifyKey any               // ed25519.PublicKey or *ecdsa.PublicKey, boxed once so Verify does not allocate it
	priv      crypto.Signer     // ed25519.PrivateKey or *ecdsa.PrivateKey; only for a current key
	sealed    []byte            // the row's Sealed, to see whether it changed
	header    string            // the encoded JOSE header of the tokens it signs (jwtHeader)
	createdAt time.Time
	retiredAt time.Time // zero = current
}

func (k *key) acceptedAt(now time.Time, maxLifetime time.Duration) bool {
	return k.retiredAt.IsZero() || now.Before(k.retiredAt.Add(maxLifetime))
}

// retired returns a copy of k retired at t, without its private key.
func (k *key) retired(t time.Time) *key {
	c := *k
	c.priv = nil
	c.retiredAt = t
	return &c
}

var errNoCurrentKey = errors.New("token: the key store holds no current signing key")

// Refresh reloads the keys from the store, to pick up a rotation done by
// another replica.
func (i *Issuer) Refresh(ctx context.Context) error {
	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	return i.reload(ctx)
}

// Rotate creates and persists a new current signing key, of the configured
// algorithm (Config.Alg), or when none was configured of the current key's.
// Older keys are retired but stay published and accepted for MaxLifetime,
// whatever their algorithm, so the tokens they signed stay valid until they
// expire.
func (i *Issuer) Rotate(ctx context.Context) error {
	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	return i.rotate(ctx, i.newKeyAlg())
}

// newKeyAlg is the algorithm of the next key: the configured one, else the
// current key's, else EdDSA.
func (i *Issuer) newKeyAlg() string {
	if i.alg != "" {
		return i.alg
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.current != nil {
		return i.current.alg
	}
	return EdDSA
}

// Alg returns the algorithm of the current signing key.
func (i *Issuer) Alg() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.alg
}

// EnsureAlg rotates to a key of the configured algorithm if the current key
// has another (an operator changed --token-alg), and reports whether it did.
// Tokens of the old key stay valid until they expire, as after any rotation.
func (i *Issuer) EnsureAlg(ctx context.Context) (bool, error) {
	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	i.mu.RLock()
	same := i.alg == "" || i.current.alg == i.alg
	i.mu.RUnlock()
	if same {
		return false, nil
	}
	return true, i.rotate(ctx, i.alg)
}

// rotate is Rotate for callers holding syncMu.
func (i *Issuer) rotate(ctx context.Context, alg string) error {
	var (
		priv   crypto.Signer
		secret []byte
		pub    []byte
	)
	switch alg {
	case EdDSA:
		_, p, err := ed25519.GenerateKey(nil)
		if err != nil {
			return fmt.Errorf("token: generate signing key: %w", err)
		}
		priv, secret, pub = p, p.Seed(), p.Public().(ed25519.PublicKey)
	case ES256:
		p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("token: generate signing key: %w", err)
		}
		if secret, err = p.Bytes(); err != nil {
			return fmt.Errorf("token: generate signing key: %w", err)
		}
		if pub, err = p.PublicKey.Bytes(); err != nil {
			return fmt.Errorf("token: generate signing key: %w", err)
		}
		priv = p
	default:
		return fmt.Errorf("token: unknown algorithm %q", alg)
	}
	defer clear(secret)
	now := i.now()
	k, err := newKey(pub, now, time.Time{})
	if err != nil {
		return err
	}
	k.priv = priv
	k.sealed = i.aead.Seal(nil, nil, secret, []byte(k.id))
	sk := StoredKey{
		ID:        k.id,
		Sealed:    bytes.Clone(k.sealed),
		Public:    bytes.Clone(k.pub),
		CreatedAt: now,
	}
	if err := i.store.CreateSigningKey(ctx, sk); err != nil {
		return fmt.Errorf("token: store signing key %s: %w", k.id, err)
	}

	i.mu.Lock()
	defer i.mu.Unlock()
	keys := make(map[string]*key, len(i.keys)+1)
	for id, old := range i.keys {
		if old.retiredAt.IsZero() { // as CreateSigningKey did in the store
			old = old.retired(now)
		}
		keys[id] = old
	}
	keys[k.id] = k
	i.keys, i.current = keys, k
	return nil
}

// reload replaces the key set with the store's, dropping keys retired more
// than MaxLifetime ago. A row identical to one already in memory is not
// unsealed again. Every other row is unsealed, which authenticates it: a row written without the
// master key (even one with only a public key) is refused, not trusted.
// The caller holds syncMu. On error the key set is left as it was.
func (i *Issuer) reload(ctx context.Context) error {
	stored, err := i.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
	}
	now := i.now()
	i.mu.RLock()
	old := i.keys
	i.mu.RUnlock()

	keys := make(map[string]*key, len(stored))
	var current *key
	for _, sk := range stored {
		var retiredAt time.Time
		if sk.RetiredAt != nil {
			retiredAt = *sk.RetiredAt
			if !now.Before(retiredAt.Add(i.maxLifetime)) {
				continue
			}
		}
		k := old[sk.ID]
		switch {
		case k == nil || (k.priv == nil && retiredAt.IsZero()) ||
			!bytes.Equal(k.sealed, sk.Sealed) || !bytes.Equal(k.pub, sk.Public):
			if k, err = i.open(sk); err != nil {
				return err
			}
			if !retiredAt.IsZero() {
				k = k.retired(retiredAt)
			}
		case !retiredAt.IsZero() && !k.retiredAt.Equal(retiredAt):
			k = k.retired(retiredAt)
		}
		keys[sk.ID] = k
		// Several current keys only after a race between replicas; the
		// newest wins, the others are accepted until the store retires them.
		if retiredAt.IsZero() && (current == nil || k.createdAt.After(current.createdAt)) {
			current = k
		}
	}
	if current == nil {
		if len(old) > 0 {
			return errNoCurrentKey // keep signing with what we have
		}
		// First load (New): publish what there is; New then creates a key.
		i.mu.Lock()
		i.keys = keys
		i.mu.Unlock()
		return errNoCurrentKey
	}
	i.mu.Lock()
	i.keys, i.current = keys, current
	i.mu.Unlock()
	return nil
}

// open unseals sk and checks its public key; the error names only the kid.
func (i *Issuer) open(sk StoredKey) (*key, error) {
	seed, err := i.aead.Open(nil, nil, sk.Sealed, []byte(sk.ID))
	if err != nil {
		return nil, fmt.Errorf("token: cannot unseal signing key %s (wrong master key or altered record): %w", sk.ID, err)
	}
	defer clear(seed)
	var (
		priv crypto.Signer
		pub  []byte
	)
	switch len(sk.Public) {
	case ed25519.PublicKeySize:
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("token: signing key %s: sealed seed has %d bytes, want %d", sk.ID, len(seed), ed25519.SeedSize)
		}
		p := ed25519.NewKeyFromSeed(seed)
		priv, pub = p, p.Public().(ed25519.PublicKey)
	case p256PointSize:
		p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: sealed P-256 key: %w", sk.ID, err)
		}
		if pub, err = p.PublicKey.Bytes(); err != nil {
			return nil, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
		}
		priv = p
	default:
		return nil, fmt.Errorf("token: signing key %s: public key of %d bytes is neither Ed25519 nor P-256", sk.ID, len(sk.Public))
	}
	if !bytes.Equal(pub, sk.Public) {
		return nil, fmt.Errorf("token: signing key %s: public key does not match the sealed private key", sk.ID)
	}
	k, err := newKey(pub, sk.CreatedAt, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
	}
	if k.id != sk.ID {
		return nil, fmt.Errorf("token: signing key %s: id is not the key's thumbprint", sk.ID)
	}
	k.priv = priv
	k.sealed = bytes.Clone(sk.Sealed)
	return k, nil
}

// p256PointSize is the length of an uncompressed P-256 point.
const p256PointSize = 65

// newKey builds the in-memory key of a stored public key, telling its
// algorithm by its encoding (see StoredKey).
func newKey(pub []byte, createdAt, retiredAt time.Time) (*key, error) {
	k := &key{pub: pub, createdAt: createdAt, retiredAt: retiredAt}
	switch len(pub) {
	case ed25519.PublicKeySize:
		k.alg, k.method, k.verifyKey = EdDSA, jwt.SigningMethodEdDSA, ed25519.PublicKey(pub)
	case p256PointSize:
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
		if err != nil {
			return nil, fmt.Errorf("token: P-256 public key: %w", err)
		}
		k.alg, k.method, k.verifyKey = ES256, jwt.SigningMethodES256, ec
	default:
		return nil, fmt.Errorf("token: public key of %d bytes is neither Ed25519 nor P-256", len(pub))
	}
	k.id = thumbprint(k.jwk())
	k.header = jwtHeader(k.method.Alg(), k.id)
	return k, nil
}

// jwtHeader is the encoded JOSE header (RFC 7515 §4) of a token a key
// signs: the bytes golang-jwt writes for jwt.NewWithClaims with the kid
// added, made once per key instead of once per token.
func jwtHeader(alg, kid string) string {
	h, err := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	if err != nil {
		panic(err) // strings always marshal
	}
	return base64.RawURLEncoding.EncodeToString(h)
}

// jwk returns k's public JWK: OKP Ed25519 (RFC 8037 §2) or EC P-256
// (RFC 7518 §6.2.1).
func (k *key) jwk() jwk {
	if k.alg == ES256 {
		return jwk{Kty: "EC", Crv: "P-256",
			X:   base64.RawURLEncoding.EncodeToString(k.pub[1:33]),
			Y:   base64.RawURLEncoding.EncodeToString(k.pub[33:]),
			Kid: k.id, Use: "sig", Alg: ES256}
	}
	return jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.pub), Kid: k.id, Use: "sig", Alg: EdDSA}
}

// thumbprint is the RFC 7638 thumbprint of a public JWK (only the required
// members, in lexicographic order), used as its kid: stable, unique, and
// derived from the key alone.
func thumbprint(j jwk) string {
	var s string
	if j.Kty == "EC" {
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	} else {
		s = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	}
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// thumbprintEd25519 is thumbprint for a raw Ed25519 key.
func thumbprintEd25519(pub ed25519.PublicKey) string {
	return thumbprint(jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub)})
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5, RFC 8037, RFC 7518 §6.2) of every key
// Verify still accepts, newest first, for GET /.well-known/jwks.json
// (spec 12.6).
func (i *Issuer) JWKS() []byte {
	now := i.now()
	i.mu.RLock()
	keys := make([]*key, 0, len(i.keys))
	for _, k := range i.keys {
		if k.acceptedAt(now, i.maxLifetime) {
			keys = append(keys, k)
		}
	}
	i.mu.RUnlock()
	slices.SortFunc(keys, func(a, b *key) int {
		return cmp.Or(b.createdAt.Compare(a.createdAt), cmp.Compare(a.id, b.id))
	})
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	b, err := json.Marshal(set)
	if err != nil { // only strings: cannot happen
		panic("token: marshal JWKS: " + err.Error())
	}
	return b
}
