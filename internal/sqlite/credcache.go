package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// The credentials cache: the user's own credentials that every signing
// request of a login session reads (Credentials, at action init and
// complete and at every RFC 9421 signed request: 8% of signet's CPU in
// that flow at 16 clients, docs/performance.md "subjcache") are answered
// from memory while no row of credentials changed. readcache.go says how,
// and why no lookup that starts after a writing call returned can use an
// answer read before that write.
//
// The read reads credentials alone (every column, the user's own:
// token_id = ''), so every INSERT, UPDATE and DELETE of a credentials row
// counts (credTables): a new credential, its activation, and its sign
// count. The sign count is part of the answer (verifyPasskey compares the
// assertion's counter with it and moves it with a compare-and-set on the
// value read): a stale one would refuse the next assertion of that
// passkey. So a passkey signature whose counter moves empties the cache
// (not the Principal cache, which does not read the column); Key
// credentials and passkeys that report no counter (0) write nothing. The
// hot writes of a login and a signed request (login token, spent
// challenge, nonce, action, audit entry and outcome) leave it alone. Only
// non-empty lists are kept: a user with no credential (or no user) is read
// each time, so a credential another process adds is seen at once.
//
// Only this read, made for a caller who has already proven a token, is
// cached. The two reads of the login itself, UserWithCredentials at login
// init and LoginSubject at login (loginread.go), stay store work on every
// call: a known user, an unknown name and a decoy challenge cost the same
// read there (docs/abuse.md), and an answer from memory for a user someone
// read a moment ago would tell an unauthenticated caller that the name is
// real and in use.

// credCacheSize is the ceiling of the credentials cache. An entry holds a
// user's credentials (~0.5-1 KB each, a Key's PEM most of it).
const credCacheSize = 4096

// credTables is the table Credentials reads and the changes to it that
// count: all. Keep it in step with credentialsSQL.
var credTables = map[string]watchedTable{"credentials": {inserts: true}}

// credKey is an org and a user id.
type credKey struct{ org, user string }

type credCache = readCache[credKey, []*auth.Credential]

func newCredCache() *credCache {
	return newReadCache[credKey](&watch{name: "credentials", tables: credTables}, credCacheSize, cloneCredentials)
}

// cloneCredentials returns a copy of cs that shares nothing mutable with it.
func cloneCredentials(cs []*auth.Credential) []*auth.Credential {
	vals := make([]auth.Credential, len(cs))
	out := make([]*auth.Credential, len(cs))
	for i, c := range cs {
		vals[i] = *c
		out[i] = &vals[i]
	}
	return out
}

// credentialsSQL is prepared once in Open (read pool).
const credentialsSQL = `SELECT ` + credentialColumns + ` FROM credentials
		WHERE org_id = ? AND user_id = ? AND token_id = '' ORDER BY created_at, uuid`

// Credentials lists the user's own credentials, oldest first.
func (s *Store) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	const op = "credentials"
	return s.cc.get(ctx, op, credKey{orgID, userID}, func() ([]*auth.Credential, error) {
		cs, err := listCredentials(ctx, s.stmts.credentials, orgID, userID)
		return cs, wrap(op, err)
	}, func(cs []*auth.Credential) bool { return len(cs) > 0 })
}

// CredentialCacheStats returns the credentials cache's counters (tests and
// benchmarks check with them that hot writes leave the cache alone and
// that the login reads never use it).
func (s *Store) CredentialCacheStats() CacheStats {
	return CacheStats{Hits: s.cc.hits.Load(), Misses: s.cc.misses.Load(), Changes: s.cc.w.changes.Load()}
}
