package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/audit"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// CreateAccessToken records an issued bearer token (never the token
// itself). ErrDuplicate when its id is taken, or it is a PAT named like
// another unarchived PAT of its user; ErrNotFound when its user is not in
// its org.
func (s *Store) CreateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	return dbErr("create access token", insertAccessToken(ctx, s.pool, t))
}

// CreateAccessTokenForChallenge records the challenge challengeID as spent
// and inserts t in one statement: the insert selects from the spent
// record's INSERT ... ON CONFLICT DO NOTHING RETURNING, so when the
// challenge was spent before (or a concurrent answer is spending it, in
// this transaction or another: the second insert of one key waits for the
// first to commit, then does nothing) nothing is inserted and ErrUsed is
// returned. The statement is committed alone when nothing is committing,
// or in a group with the other writes that gathered meanwhile (group.go),
// as CreateActionForChallenge's is: the caller is answered only after the
// group's COMMIT.
func (s *Store) CreateAccessTokenForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken) error {
	args := []any{challengeID, expiresAt,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID,
		t.ExternalID, t.IsActive, t.IsArchived, t.ExpiresAt, t.CreatedAt}
	err := s.appendAudited(ctx, &appendReq{
		single: func() error {
			_, err := scanCreated(s.pool.QueryRow(ctx, createTokenForChallengeSQL, args...))
			return err
		},
		spendSQL:  createTokenForChallengeSQL,
		spendArgs: args,
		scan:      scanCreated,
		noHead:    true,
	})
	if errors.Is(err, errSpent) {
		return used("create access token for challenge")
	}
	return dbErr("create access token for challenge", err)
}

// createTokenForChallengeSQL spends challenge $1 (expiring at $2) and, when
// it was not spent before, inserts the token record $3-$14; it returns the
// number of records inserted.
const createTokenForChallengeSQL = `WITH spent AS (` + spendChallengeSQL + ` RETURNING id),
		created AS (INSERT INTO access_tokens
			(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active,
			 is_archived, expires_at, created_at)
			SELECT $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::boolean,
				$12::boolean, $13::timestamptz, $14::timestamptz FROM spent
			RETURNING 1)
		SELECT count(*) FROM created`

// CreateLoginForChallenge records the challenge challengeID as spent and
// inserts the login record t only when its user and credential pass the
// login's checks (auth.TokenStore), in one statement
// (createLoginForChallengeSQL): the spend is made whatever they are, the
// insert selects from the spend joined with the user and the credential
// that pass, and the user's name is read in the same statement (one
// snapshot). ErrUsed, nothing written, when the challenge was spent
// before; auth.ErrRefused, the challenge spent, when the checks failed.
// It commits alone or in a group (group.go), as
// CreateAccessTokenForChallenge does; a refused write's spend is committed
// with the group (errRefused).
func (s *Store) CreateLoginForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken, kind auth.CredentialKind) (string, error) {
	args := []any{challengeID, expiresAt,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID,
		t.ExternalID, t.IsActive, t.IsArchived, t.ExpiresAt, t.CreatedAt, string(kind)}
	// The scan's result, read once the request is done (appendAudited
	// returns after it ran alone, or after its group closed done).
	var username string
	scan := func(r pgx.Row) (*audit.Entry, error) {
		var spent, created int64
		var name *string
		if err := r.Scan(&spent, &created, &name); err != nil {
			return nil, err
		}
		switch {
		case spent != 1:
			return nil, errSpent
		case created != 1 || name == nil:
			return nil, errRefused
		}
		username = *name
		return nil, nil
	}
	err := s.appendAudited(ctx, &appendReq{
		single: func() error {
			_, err := scan(s.pool.QueryRow(ctx, createLoginForChallengeSQL, args...))
			return err
		},
		spendSQL:  createLoginForChallengeSQL,
		spendArgs: args,
		scan:      scan,
		noHead:    true,
	})
	switch {
	case errors.Is(err, errSpent):
		return "", used("create login for challenge")
	case errors.Is(err, errRefused):
		return "", fmt.Errorf("postgres: create login for challenge: %w", auth.ErrRefused)
	case err != nil:
		return "", dbErr("create login for challenge", err)
	}
	return username, nil
}

// createLoginForChallengeSQL spends challenge $1 (expiring at $2) and, when
// it was not spent before and the user $5 of org $4 and the credential $8
// pass every check of a login (auth.TokenStore, CreateLoginForChallenge;
// $15 the credential's kind), inserts the token record $3-$14. It returns
// how many challenges it spent, how many records it inserted and the
// user's name, all of one snapshot (one statement). The spend is a
// data-modifying WITH: it runs once, whether or not the insert selects
// anything.
const createLoginForChallengeSQL = `WITH spent AS (` + spendChallengeSQL + ` RETURNING id),
		created AS (INSERT INTO access_tokens
			(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active,
			 is_archived, expires_at, created_at)
			SELECT $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::boolean,
				$12::boolean, $13::timestamptz, $14::timestamptz
			FROM spent
			JOIN users u ON u.org_id = $4::text AND u.id = $5::text
			JOIN credentials c ON c.uuid = $8::text
			WHERE u.is_active AND NOT u.is_archived AND u.is_registered
			  AND NOT u.is_service_account AND NOT u.is_sso_required
			  AND c.org_id = u.org_id AND c.user_id = u.id AND c.token_id = '' AND c.is_active
			  AND c.kind = $15::text
			RETURNING 1)
		SELECT (SELECT count(*) FROM spent), (SELECT count(*) FROM created),
			(SELECT username FROM users WHERE org_id = $4::text AND id = $5::text)`

// errRefused: a login write spent its challenge and inserted nothing, its
// precondition failing. Unlike errSpent it has an effect, which a group
// commits with the others' (group.go).
var errRefused = errors.New("login refused by its precondition")

// scanCreated reads the count a creation for a challenge returns: errSpent
// when it created nothing (the challenge was spent), a nil entry (it
// appends nothing) otherwise.
func scanCreated(r pgx.Row) (*audit.Entry, error) {
	var n int64
	if err := r.Scan(&n); err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, errSpent
	}
	return nil, nil
}

func insertAccessToken(ctx context.Context, db execer, t *auth.AccessToken) error {
	_, err := db.Exec(ctx, `INSERT INTO access_tokens
		(id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active,
		 is_archived, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.OrgID, t.UserID, string(t.Kind), t.Name, t.CredentialUUID, t.PermissionID,
		t.ExternalID, t.IsActive, t.IsArchived, t.ExpiresAt, t.CreatedAt)
	return err
}

const tokenColumns = `id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id,
	is_active, is_archived, expires_at, created_at`

func scanToken(row rowScanner) (*auth.AccessToken, error) {
	var t auth.AccessToken
	var kind string
	if err := row.Scan(&t.ID, &t.OrgID, &t.UserID, &kind, &t.Name, &t.CredentialUUID, &t.PermissionID,
		&t.ExternalID, &t.IsActive, &t.IsArchived, &t.ExpiresAt, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.Kind = token.Kind(kind)
	t.ExpiresAt, t.CreatedAt = utc(t.ExpiresAt), utc(t.CreatedAt)
	return &t, nil
}

// Principal reads the token's state, its user's, its credential's and its
// org's authorization version with one query; it runs on every
// authenticated request, so it reads only the columns the check needs
// (auth.PrincipalState). The token and the user must both belong to orgID:
// the ids it does not read are the ones the WHERE and JOIN clauses make
// equal to its arguments and to t.user_id. CredentialActive is true when
// the token names no credential, and false when it names one that is
// inactive or gone.
//
// Concurrent calls are coalesced (readbatch.go): a call that arrives while
// others' statements are out joins the next statement, which reads every
// key gathered (principalBatchSQL). It never joins a statement already
// sent, so it sees every commit acknowledged before it was made.
//
// With the Principal cache on (principalcache.go) a found principal is
// answered from memory while no change it depends on can have happened.
func (s *Store) Principal(ctx context.Context, orgID, tokenID string) (*auth.PrincipalState, error) {
	k := orgToken{orgID, tokenID}
	if s.pc != nil {
		p, hit, err := s.pc.get(ctx, k, func() (*auth.PrincipalState, error) { return s.readPrincipal(ctx, k) }, keepPrincipal)
		switch {
		case err != nil && hit:
			return nil, dbErr("principal", err)
		case err != nil:
			return nil, err
		case hit:
			c := *p // the entry is shared
			return &c, nil
		}
		return p, nil
	}
	return s.readPrincipal(ctx, k)
}

// readPrincipal reads k's principal from the database (coalesced).
func (s *Store) readPrincipal(ctx context.Context, k orgToken) (*auth.PrincipalState, error) {
	p, err := s.principals.read(ctx, k)
	if err != nil {
		return nil, dbErr("principal", err)
	}
	if p == nil {
		return nil, notFound("principal")
	}
	c := *p // callers of one key share the row
	return &c, nil
}

// orgToken is the key of a principal read: a token id is looked up in its
// org only.
type orgToken struct{ org, token string }

// principalSQL is Principal's statement for one key.
const principalSQL = `SELECT ` + principalColumns + principalFrom + principalWhere

// principalBatchSQL is Principal's statement for several keys ($1 the
// orgs, $2 the token ids, pairwise): for each pair, Principal's own query
// (its org compared with IS NOT DISTINCT FROM, see below) in a lateral
// subquery that the planner keeps whole (OFFSET 0), so that every pair is
// looked up by primary key, and only in its own org: a token asked under
// another org is not found even when the same batch asks for it under its
// own. The rows carry the pair's position (k.i); a pair without a row is
// not found. The arrays are unnested from a subquery the planner keeps too,
// so that a custom plan estimates them as the generic one does (group.go's
// lockHeadsSQL says why).
const principalBatchSQL = `SELECT k.i, p.* FROM (SELECT $1::text[], $2::text[] OFFSET 0) AS x(orgs, toks),
		unnest(x.orgs, x.toks) WITH ORDINALITY AS k(org, tok, i),
		LATERAL (SELECT ` + principalColumns + principalFrom + `
			WHERE t.id = k.tok AND t.org_id IS NOT DISTINCT FROM k.org OFFSET 0) AS p`

// principalOne reads one key's principal; nil when there is none.
func (s *Store) principalOne(ctx context.Context, k orgToken) (*auth.PrincipalState, error) {
	var p auth.PrincipalState
	var sc principalScan
	err := s.pool.QueryRow(ctx, principalSQL, k.org, k.token).Scan(sc.dest(&p)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sc.finish(&p, k.org, k.token)
	return &p, nil
}

// principalMany reads the principals of keys with one statement, aligned
// with keys; nil where there is none.
func (s *Store) principalMany(ctx context.Context, keys []orgToken) ([]*auth.PrincipalState, error) {
	orgs, toks := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		orgs[i], toks[i] = k.org, k.token
	}
	rows, err := s.pool.Query(ctx, principalBatchSQL, orgs, toks)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := make([]*auth.PrincipalState, len(keys))
	for rows.Next() {
		var i int64
		var p auth.PrincipalState
		var sc principalScan
		if err := rows.Scan(append([]any{&i}, sc.dest(&p)...)...); err != nil {
			return nil, err
		}
		if i < 1 || i > int64(len(keys)) || res[i-1] != nil {
			return nil, fmt.Errorf("principal batch: unexpected row %d of %d", i, len(keys))
		}
		sc.finish(&p, keys[i-1].org, keys[i-1].token)
		res[i-1] = &p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// principalColumns, principalFrom and principalWhere are the select list,
// the joins and the condition of Principal (t: the token, u: its user, o:
// its org, c: its credential; $1 the org, $2 the token), shared with
// PrincipalSigners; principalScan reads the list.
//
// Every row is found by its primary key (the token's id, then its user's,
// its org's and its credential's), and the org is compared with IS NOT
// DISTINCT FROM (the columns are NOT NULL, so it is equality) so that no
// index on org_id can serve the lookup instead. With = the org id is a
// constant of every table of the query, and the generic plan PostgreSQL
// caches per connection could pick an org_id index when the tables were
// small at planning time: it then read every token, user and credential
// of the org on each request, for the life of the connection or until the
// table's next ANALYZE (3.3 ms a request for an org of 20,000 tokens,
// TestPrincipalPlan).
const (
	principalColumns = `
			t.user_id, t.kind, t.credential_uuid, t.permission_id, t.is_active, t.is_archived, t.expires_at,
			u.username, u.kind, u.is_active, u.is_archived,
			t.credential_uuid = '' OR coalesce(c.is_active, false), o.authz_version`
	principalFrom = `
		FROM access_tokens t
		JOIN users u ON u.id = t.user_id AND u.org_id IS NOT DISTINCT FROM t.org_id
		JOIN orgs o ON o.id = t.org_id
		LEFT JOIN credentials c ON c.uuid = t.credential_uuid AND c.org_id IS NOT DISTINCT FROM t.org_id`
	principalWhere = `
		WHERE t.id = $2 AND t.org_id IS NOT DISTINCT FROM $1`
)

// principalScan holds the kinds principalColumns reads as text until
// finish converts them.
type principalScan struct{ tkind, ukind string }

// dest returns the scan destinations of principalColumns, into p.
func (sc *principalScan) dest(p *auth.PrincipalState) []any {
	t, u := &p.Token, &p.User
	return []any{&t.UserID, &sc.tkind, &t.CredentialUUID, &t.PermissionID, &t.IsActive, &t.IsArchived, &t.ExpiresAt,
		&u.Username, &sc.ukind, &u.IsActive, &u.IsArchived,
		&p.CredentialActive, &p.AuthzVersion}
}

// finish fills in what principalColumns does not read: the ids the WHERE
// and JOIN clauses make equal to the arguments, and the kinds.
func (sc *principalScan) finish(p *auth.PrincipalState, orgID, tokenID string) {
	t, u := &p.Token, &p.User
	t.ID, t.OrgID, t.Kind, t.ExpiresAt = tokenID, orgID, token.Kind(sc.tkind), utc(t.ExpiresAt)
	u.ID, u.OrgID, u.Kind = t.UserID, orgID, auth.UserKind(sc.ukind)
}

// RevokeAccessToken deactivates one token of the user; revoking a revoked
// token succeeds. ErrNotFound when the user has no such token in orgID.
func (s *Store) RevokeAccessToken(ctx context.Context, orgID, userID, tokenID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE access_tokens SET is_active = false
		WHERE org_id = $1 AND user_id = $2 AND id = $3`, orgID, userID, tokenID)
	if err != nil {
		return dbErr("revoke access token", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke access token")
	}
	return nil
}

// RevokeSessions deactivates every login session (kind Token) of the user;
// PATs and service-account tokens are left alone.
func (s *Store) RevokeSessions(ctx context.Context, orgID, userID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE access_tokens SET is_active = false
		WHERE org_id = $1 AND user_id = $2 AND kind = 'Token' AND is_active`, orgID, userID)
	return dbErr("revoke sessions", err)
}

// CreateLongLived writes a PAT or a service account in one transaction, in
// this order: the service account's user (when l.User is set), the token
// record, its key credential, the first assignment (when l.Assignment is
// set). Any failure rolls all of it back. ErrDuplicate when the service
// account's username is taken in the org, the PAT's name among its user's
// unarchived PATs, or the credential's CredID in the org; ErrNotFound when
// the token's user or the assignment's permission is not in the org.
func (s *Store) CreateLongLived(ctx context.Context, l auth.LongLived) error {
	if err := checkLongLived(l); err != nil {
		return fmt.Errorf("postgres: create long-lived token: %w", err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if l.User != nil {
			if err := insertUser(ctx, tx, l.User); err != nil {
				return err
			}
		}
		if err := insertAccessToken(ctx, tx, l.Token); err != nil {
			return err
		}
		if err := insertCredential(ctx, tx, l.Credential); err != nil {
			return err
		}
		if l.Assignment != nil {
			return insertAssignment(ctx, tx, l.Assignment)
		}
		return nil
	})
	return dbErr("create long-lived token", err)
}

// checkLongLived refuses a LongLived whose parts do not belong together:
// the foreign keys alone would accept a credential of another token of the
// same user, or an assignment in another org.
func checkLongLived(l auth.LongLived) error {
	t, c := l.Token, l.Credential
	switch {
	case t == nil || c == nil:
		return errors.New("token and credential are required")
	case c.TokenID != t.ID || c.UserID != t.UserID || c.OrgID != t.OrgID:
		return fmt.Errorf("credential %s is not the key of token %s", c.UUID, t.ID)
	case t.CredentialUUID != c.UUID:
		return fmt.Errorf("token %s names credential %q, not %s", t.ID, t.CredentialUUID, c.UUID)
	case l.User != nil && (l.User.ID != t.UserID || l.User.OrgID != t.OrgID):
		return fmt.Errorf("token %s does not belong to service account %s", t.ID, l.User.ID)
	case l.Assignment != nil && l.Assignment.OrgID != t.OrgID:
		return fmt.Errorf("assignment %s is not in the token's org", l.Assignment.ID)
	}
	return nil
}

// AccessToken returns the token record id of orgID.
func (s *Store) AccessToken(ctx context.Context, orgID, id string) (*auth.AccessToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM access_tokens
		WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, dbErr("access token", err)
	}
	return t, nil
}

// AccessTokens lists every token record of one kind of the user, archived
// ones included, oldest first.
func (s *Store) AccessTokens(ctx context.Context, orgID, userID string, kind token.Kind) ([]*auth.AccessToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM access_tokens
		WHERE org_id = $1 AND user_id = $2 AND kind = $3 ORDER BY created_at, id`, orgID, userID, string(kind))
	if err != nil {
		return nil, dbErr("access tokens", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.AccessToken, error) { return scanToken(r) })
	if err != nil {
		return nil, dbErr("access tokens", err)
	}
	return ts, nil
}

// UpdateAccessToken writes t's mutable fields: Name, ExternalID, IsActive
// and IsArchived. ErrNotFound when t is not in t.OrgID; ErrDuplicate when t
// is a PAT that would share its name with another unarchived PAT of its
// user (renamed, or unarchived while its name was reused).
func (s *Store) UpdateAccessToken(ctx context.Context, t *auth.AccessToken) error {
	tag, err := s.pool.Exec(ctx, `UPDATE access_tokens
		SET name = $3, external_id = $4, is_active = $5, is_archived = $6
		WHERE org_id = $1 AND id = $2`, t.OrgID, t.ID, t.Name, t.ExternalID, t.IsActive, t.IsArchived)
	if err != nil {
		return dbErr("update access token", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update access token")
	}
	return nil
}

// SigningKeys returns every token signing key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, sealed, public, created_at, retired_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (token.StoredKey, error) {
		var k token.StoredKey
		err := r.Scan(&k.ID, &k.Sealed, &k.Public, &k.CreatedAt, &k.RetiredAt)
		k.CreatedAt, k.RetiredAt = utc(k.CreatedAt), utcPtr(k.RetiredAt)
		return k, err
	})
	if err != nil {
		return nil, dbErr("signing keys", err)
	}
	return keys, nil
}

// CreateSigningKey retires every current key at k.CreatedAt and inserts k,
// in one transaction. A transaction-scoped advisory lock serialises
// rotations, so two replicas rotating at once leave one current key, not two.
func (s *Store) CreateSigningKey(ctx context.Context, k token.StoredKey) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(5458247, hashtext('signing_keys.' || coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, k.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, sealed, public, created_at, retired_at)
			VALUES ($1, $2, $3, $4, $5)`, k.ID, k.Sealed, k.Public, k.CreatedAt, k.RetiredAt)
		return err
	})
	return dbErr("create signing key", err)
}
