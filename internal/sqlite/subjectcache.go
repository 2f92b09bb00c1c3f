package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-auth/signet/internal/auth"
)

// The subject caches: the login and signing reads, a user with its own
// credentials (UserWithCredentials at login init, LoginSubject at login
// and action completion, Credentials at action init and at every RFC 9421
// signed request: 19% and 8% of signet's CPU in those flows at 16
// clients, docs/performance.md "subjcache"), are answered from memory
// while no row of users or credentials changed. readcache.go says how, and
// why no lookup that starts after a writing call returned can use an
// answer read before that write.
//
// What the reads read: users (every column, by (org_id, username) or
// (org_id, id)) and credentials (every column, the user's own: token_id =
// ''). So every INSERT, UPDATE and DELETE of a row of either table counts
// (subjectTables): a new user or credential, a rename, a user's flags, a
// credential's activation, and its sign count. The sign count is part of
// the answer (verifyPasskey compares the assertion's counter with it and
// moves it with a compare-and-set on the value read): a stale one would
// refuse the next assertion of that passkey. So a passkey signature whose
// counter moves empties these caches (not the Principal cache, which
// does not read the column); Key credentials and passkeys that report no
// counter (0) write nothing. The spent-challenge flag LoginSubject also
// returns is never cached: a hit reads it alone (one primary-key lookup)
// instead of the join. The hot writes of a login and a signed request
// (login token, spent challenge, nonce, action, audit entry and outcome
// inserts and updates) touch neither table and leave the caches alone.
//
// Because INSERTs count, the login init read also caches "no such user"
// (keyed by org and username): a known and an unknown name are then
// answered alike, from memory when asked again within the TTL. The other
// read caches only a user it found: its key (a user id) comes from a
// sealed challenge or a token, and a decoy's id is new every time.

// subjectCacheSize is the ceiling of each subject cache. An entry holds a
// user and its credentials (~0.5-1 KB each, a Key's PEM most of it).
const subjectCacheSize = 4096

// subjectTables are the tables the subject reads read and the changes to
// them that count: all. Keep it in step with userWithCredentialsSQL,
// loginSubjectSQL and subjectSQL.
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

// subjectKey is an org and a username (byName) or a user id (byID).
type subjectKey struct{ org, user string }

type subjectCache = readCache[subjectKey, subject]

// subjectCaches are the two subject caches, on one watch.
type subjectCaches struct {
	w      *watch
	byName *subjectCache // UserWithCredentials
	byID   *subjectCache // LoginSubject, Credentials
}

func newSubjectCaches() subjectCaches {
	w := &watch{name: "subject", tables: subjectTables}
	return subjectCaches{
		w:      w,
		byName: newReadCache[subjectKey](w, subjectCacheSize, cloneSubject),
		byID:   newReadCache[subjectKey](w, subjectCacheSize, cloneSubject),
	}
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

// anyAnswer keeps every answer, "no such user" included.
func anyAnswer(subject) bool { return true }

// subjectSQL is a user of an org by id with its own credentials: the
// Credentials read, joined with the user so that its answer fills the
// same entry LoginSubject reads. A credential cannot exist without its
// user (foreign key), so the credentials are those credentialsSQL lists.
var subjectSQL = `SELECT ` + loginUserColumns + `, ` + loginCredentialColumns + `
		FROM users u LEFT JOIN credentials c ON c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = ''
		WHERE u.org_id = ?1 AND u.id = ?2
		ORDER BY c.created_at, c.uuid`

// UserWithCredentials returns the user of orgID named username and its own
// credentials, oldest first, in one statement or from memory. ErrNotFound
// when there is no such user.
func (s *Store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	const op = "user with credentials"
	sub, err := s.sc.byName.get(ctx, op, subjectKey{orgID, username}, func() (subject, error) {
		_, u, cs, err := loginRead(ctx, s.stmts.userWithCredentials, false, orgID, username)
		return subject{u, cs}, wrap(op, err)
	}, anyAnswer)
	if err != nil {
		return nil, nil, err
	}
	if sub.u == nil {
		return nil, nil, wrap(op, sql.ErrNoRows)
	}
	return sub.u, sub.cs, nil
}

// LoginSubject reports whether the challenge challengeID was spent and
// returns the user of orgID with id userID and its own credentials, oldest
// first: in one statement, or the user and credentials from memory and the
// spent flag alone. u is nil when there is no such user.
func (s *Store) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	const op = "login subject"
	if err := ctx.Err(); err != nil {
		return false, nil, nil, wrap(op, err)
	}
	key := subjectKey{orgID, userID}
	sub, gen, now, ok := s.sc.byID.lookup(key)
	if ok {
		var spent bool
		if err := s.stmts.challengeSpent.QueryRowContext(ctx, challengeID).Scan(&spent); err != nil {
			return false, nil, nil, wrap(op, err)
		}
		return spent, sub.u, sub.cs, nil
	}
	spent, u, cs, err := loginRead(ctx, s.stmts.loginSubject, true, orgID, userID, challengeID)
	if err != nil {
		return false, nil, nil, wrap(op, err)
	}
	if u != nil {
		s.sc.byID.store(key, gen, now, subject{u, cs})
	}
	return spent, u, cs, nil
}

// Credentials lists the user's own credentials, oldest first.
func (s *Store) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	const op = "credentials"
	sub, err := s.sc.byID.get(ctx, op, subjectKey{orgID, userID}, func() (subject, error) {
		_, u, cs, err := loginRead(ctx, s.stmts.subject, false, orgID, userID)
		return subject{u, cs}, wrap(op, err)
	}, found)
	return sub.cs, err
}

// SubjectCacheStats returns the subject caches' counters, both caches
// together (tests and benchmarks check with them that hot writes leave the
// caches alone).
func (s *Store) SubjectCacheStats() CacheStats {
	return CacheStats{
		Hits:    s.sc.byName.hits.Load() + s.sc.byID.hits.Load(),
		Misses:  s.sc.byName.misses.Load() + s.sc.byID.misses.Load(),
		Changes: s.sc.w.changes.Load(),
	}
}
