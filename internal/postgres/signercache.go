package postgres

import (
	"github.com/signet-auth/signet/internal/auth"
)

// The signer cache: PrincipalSigners (action init and action complete, two
// reads per Dfns signed request) answered from memory under the Principal
// cache's member and generation rule (principalcache.go), so that one
// notification empties both. The read returns, beside Principal's rows,
// the credentials the token signs with; migration 0017 makes the
// credentials trigger count an INSERT and an UPDATE of every column the
// read returns but sign_count, and every route that can change them is
// fenced (internal/httpapi: creating, activating, deactivating a
// credential, a credential code, recovery, registration).
//
// sign_count moves on every passkey signature (auth.verifyFido2, a
// compare-and-set on the column) and fires no notification: a cached count
// would be stale at the next signature, and the clone check compares
// against it. So an answer is cached only when none of its credentials
// has a counter: every one is of a key kind (Key, PasswordProtectedKey,
// RecoveryKey), whose count no path writes. A principal with a passkey (or
// a kind added later) is read every time.

// signerCacheSize is the ceiling of the signer cache: as many tokens as the
// Principal cache. An entry holds the token's credentials (a public key and
// at most an encrypted private key each, about 1 KB); signerCacheMax bounds
// how many.
const signerCacheSize = principalCacheSize

// signerCacheMax is the most credentials an answer may hold to be cached:
// a user with more signs through the database, and the cache's memory
// stays bounded (signerCacheSize entries of at most this many).
const signerCacheMax = 8

// signersCacheable reports whether r may be cached: a found principal that
// passes every state check (principalCacheable: no INSERT of a token, user
// or org can change it) and whose credentials all have no sign counter.
func signersCacheable(r *signers) bool {
	if r == nil || !principalCacheable(&r.p) || len(r.creds) > signerCacheMax {
		return false
	}
	for _, c := range r.creds {
		switch c.Kind {
		case auth.KindKey, auth.KindPasswordProtectedKey, auth.KindRecoveryKey:
		default:
			return false
		}
	}
	return true
}

// keepSigners is the signer cache's keep. The batch reader's answer is
// shared by the callers of one key, and none changes it (PrincipalSigners
// hands out copies), so it is stored as it is.
func keepSigners(r *signers) (*signers, bool) {
	return r, signersCacheable(r)
}
