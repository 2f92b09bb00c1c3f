package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// StoredKey is a signing key as persisted: the private key sealed (AES-256-GCM
// from crypto/cipher, random nonce, AAD = the key id) under the master key;
// never stored in clear.
type StoredKey struct {
	ID        string // kid: the RFC 7638 thumbprint of the public key
	Sealed    []byte // nonce || AES-256-GCM(Ed25519 seed), AAD = ID
	Public    []byte // raw 32-byte Ed25519 public key
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
	pub       ed25519.PublicKey
	verifyKey any                // pub, boxed once so Verify does not allocate it
	priv      ed25519.PrivateKey // only for a current key
	sealed    []byte             // the row's Sealed, to see whether it changed
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

// Rotate creates and persists a new current signing key. Older keys are
// retired but stay published and accepted for MaxLifetime, so the tokens they
// signed stay valid until they expire.
func (i *Issuer) Rotate(ctx context.Context) error {
	i.syncMu.Lock()
	defer i.syncMu.Unlock()
	return i.rotate(ctx)
}

// rotate is Rotate for callers holding syncMu.
func (i *Issuer) rotate(ctx context.Context) error {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return fmt.Errorf("token: generate signing key: %w", err)
	}
	now := i.now()
	k := newKey(priv.Public().(ed25519.PublicKey), now, time.Time{})
	k.priv = priv
	k.sealed = i.aead.Seal(nil, nil, priv.Seed(), []byte(k.id))
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
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("token: signing key %s: sealed seed has %d bytes, want %d", sk.ID, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, sk.Public) {
		return nil, fmt.Errorf("token: signing key %s: public key does not match the sealed private key", sk.ID)
	}
	k := newKey(pub, sk.CreatedAt, time.Time{})
	if k.id != sk.ID {
		return nil, fmt.Errorf("token: signing key %s: id is not the key's thumbprint", sk.ID)
	}
	k.priv = priv
	k.sealed = bytes.Clone(sk.Sealed)
	return k, nil
}

func newKey(pub ed25519.PublicKey, createdAt, retiredAt time.Time) *key {
	return &key{
		id:        thumbprint(pub),
		pub:       pub,
		verifyKey: pub,
		createdAt: createdAt,
		retiredAt: retiredAt,
	}
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 key (RFC 8037
// §2), used as its kid: stable, unique, and derived from the key alone.
func thumbprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5, RFC 8037) of every key
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
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(k.pub),
			Kid: k.id,
			Use: "sig",
			Alg: "EdDSA",
		})
	}
	b, err := json.Marshal(set)
	if err != nil { // only strings: cannot happen
		panic("token: marshal JWKS: " + err.Error())
	}
	return b
}
