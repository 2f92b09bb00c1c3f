package storetest

import (
	"sort"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// signingKeys returns the stored keys oldest first: list order is not pinned.
func signingKeys(t *testing.T, s auth.Store) []token.StoredKey {
	t.Helper()
	keys, err := s.SigningKeys(t.Context())
	check(t, "SigningKeys", err, nil)
	sort.Slice(keys, func(i, j int) bool { return keys[i].CreatedAt.Before(keys[j].CreatedAt) })
	return keys
}

func newKey(id string, created time.Time) token.StoredKey {
	return token.StoredKey{
		ID:        id,
		Sealed:    []byte("sealed-" + id + "\x00\xff"),
		Public:    []byte("public-" + id),
		CreatedAt: created,
	}
}

// testSigningKeys: each new key retires the current one, at the new key's
// creation time, and SigningKeys returns them all.
func testSigningKeys(t *testing.T, s auth.Store) {
	ctx := t.Context()
	if keys := signingKeys(t, s); len(keys) != 0 {
		t.Fatalf("SigningKeys of an empty store = %d keys, want none", len(keys))
	}

	k1 := newKey("k1", at(0))
	k2 := newKey("k2", at(time.Hour+time.Millisecond))
	k3 := newKey("k3", at(2*time.Hour))
	retired1, retired2 := k2.CreatedAt, k3.CreatedAt

	check(t, "CreateSigningKey k1", s.CreateSigningKey(ctx, k1), nil)
	diff(t, "keys after k1", signingKeys(t, s), []token.StoredKey{k1})

	check(t, "CreateSigningKey k2", s.CreateSigningKey(ctx, k2), nil)
	r1 := k1
	r1.RetiredAt = &retired1
	diff(t, "keys after k2", signingKeys(t, s), []token.StoredKey{r1, k2})

	check(t, "CreateSigningKey k3", s.CreateSigningKey(ctx, k3), nil)
	r2 := k2
	r2.RetiredAt = &retired2
	keys := signingKeys(t, s)
	diff(t, "keys after k3", keys, []token.StoredKey{r1, r2, k3})
	for _, k := range keys {
		inUTC(t, "StoredKey.CreatedAt", k.CreatedAt)
		if k.RetiredAt != nil {
			inUTC(t, "StoredKey.RetiredAt", *k.RetiredAt)
		}
	}
}

// testCreateSigningKeyAtomic: a key that cannot be inserted retires nothing.
func testCreateSigningKeyAtomic(t *testing.T, s auth.Store) {
	ctx := t.Context()
	k1 := newKey("k1", at(0))
	check(t, "CreateSigningKey k1", s.CreateSigningKey(ctx, k1), nil)

	dup := newKey("k1", at(time.Hour))
	dup.Public = []byte("another public key")
	check(t, "CreateSigningKey(duplicate id)", s.CreateSigningKey(ctx, dup), auth.ErrDuplicate)
	diff(t, "keys after a failed CreateSigningKey", signingKeys(t, s), []token.StoredKey{k1})
}
