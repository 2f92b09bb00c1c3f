package sqlite

import (
	"context"

	"github.com/signet-auth/signet/internal/auth"
)

// The subject cache: the user's own credentials that every signing request
// of a login session reads (Credentials, at action init and complete and at
// every RFC 9421 signed request: 8% of signet's CPU in that flow at 16
// clients, docs/performance.md "subjcache") are answered from memory while
// no row of users or credentials changed. readcache.go says how, and why no
// lookup that starts after a writing call returned can use an answer read
// before that write.
//
// What the read reads: users (every column, by (org_id, id)) and
// credentials (every column, the user's own: token_id = ''). So every
// INSERT, UPDATE and DELETE of a row of either table counts
// (subjectTables): a new user or credential, a rename, a user's flags, a
// credential's activation, and its sign count. The sign count is part of
// the answer (verifyPasskey compares the assertion's counter with it and
// moves it with a compare-and-set on the value read): a stale one would
// refuse the next assertion of that passkey. So a passkey signature whose
// counter moves empties the cache (not the Principal cache, which does not
// read the column); Key credentials and passkeys that report no counter (0)
// write nothing. The hot writes of a login and a signed request (login
// token, spent challenge, nonce, action, audit entry and outcome inserts
// and updates) touch neither table and leave the cache alone.
//
// Only reads made for a caller who has already proven a token are cached.
// The two reads of the login itself, UserWithCredentials at login init and
// LoginSubject at login (loginread.go), stay store work on every call: a
// known user, an unknown name and a decoy challenge cost the same read
// there (docs/abuse.md), and an answer from memory for a user someone read
// a moment ago would tell an unauthenticated caller that the name is real
// and in use. The cache keeps only a user it found: its key (a user id)
// comes from a token.

// subjectCacheSize is the ceiling of each subject cache. An entry holds a
// user and its credentials (~0.5-1 KB each, a Key's PEM most of it).
const subjectCacheSize = 4096

// subjectTables are the tables the subject read reads and the changes to
// them that count: all. Keep it in step with subjectSQL.
var subjectTables = map[string]watchedTable{
	"users":       {inserts: true},
	"credentials": {inserts: true},
}

// subject is a user (nil: there is none) and its own credentials, oldest
// first.
type subject struct {
	u  *auth.User
	cs []*auth.Credential
}

// subjectKey is an org and a user id.
type subjectKey struct{ org, user string }

type subjectCache = readCache[subjectKey, subject]

// subjectCaches is the subject cache with its watch.
type subjectCaches struct {
	w    *watch
	byID *subjectCache // Credentials
}

func newSubjectCaches() subjectCaches {
	w := &watch{name: "subject", tables: subjectTables}
	return subjectCaches{w: w, byID: newReadCache[subjectKey](w, subjectCacheSize, cloneSubject)}
}

// cloneSubject returns a copy of s that shares nothing mutable with it.
func cloneSubject(s subject) subject {
	out := subject{}
	if s.u != nil {
		u := *s.u
		out.u = &u
	}
	if s.cs != nil {
		cs := make([]auth.Credential, len(s.cs))
		out.cs = make([]*auth.Credential, len(s.cs))
		for i, c := range s.cs {
			cs[i] = *c
			out.cs[i] = &cs[i]
		}
	}
	return out
}

// found keeps answers that found a user.
func found(s subject) bool { return s.u != nil }

// subjectSQL is a user of an org by id with its own credentials: the
// Credentials read, joined with the user so that an unknown user is not
// cached (a user's credentials are cached only while the user exists). A credential cannot exist without its
// user (foreign key), so the credentials are those credentialsSQL lists.
var subjectSQL = `SELECT ` + loginUserColumns + `, ` + loginCredentialColumns + `
		FROM users u LEFT JOIN credentials c ON c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = ''
		WHERE u.org_id = ?1 AND u.id = ?2
		ORDER BY c.created_at, c.uuid`

// Credentials lists the user's own credentials, oldest first.
func (s *Store) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	const op = "credentials"
	sub, err := s.sc.byID.get(ctx, op, subjectKey{orgID, userID}, func() (subject, error) {
		_, u, cs, err := loginRead(ctx, s.stmts.subject, false, orgID, userID)
		return subject{u, cs}, wrap(op, err)
	}, found)
	return sub.cs, err
}

// SubjectCacheStats returns the subject cache's counters (tests and
// benchmarks check with them that hot writes leave the cache alone and
// that the login reads never use it).
func (s *Store) SubjectCacheStats() CacheStats {
	return CacheStats{Hits: s.sc.byID.hits.Load(), Misses: s.sc.byID.misses.Load(), Changes: s.sc.w.changes.Load()}
}
