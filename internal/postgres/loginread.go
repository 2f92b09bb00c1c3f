package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// The two login reads. A lone caller sends its queries in one pgx batch:
// one round trip where the separate calls (user, credentials, the
// challenge's spent record) took one each. Concurrent callers are
// coalesced into one statement over the arrays of their keys, as
// Principal's are (readbatch.go): a caller only joins a statement not yet
// sent, so it sees every commit acknowledged before its call began (a
// credential deactivated, a challenge spent).

// The login reads' statements ($1 the org; $2 the username or the user's
// id).
const (
	userByNameSQL        = `SELECT ` + userColumns + ` FROM users WHERE org_id = $1 AND username = $2`
	credentialsByNameSQL = `SELECT ` + credentialColumns + ` FROM credentials
		WHERE org_id = $1 AND token_id = ''
		  AND user_id = (SELECT id FROM users WHERE org_id = $1 AND username = $2)
		ORDER BY created_at, uuid`
	userByIDSQL        = `SELECT ` + userColumns + ` FROM users WHERE org_id = $1 AND id = $2`
	userCredentialsSQL = `SELECT ` + credentialColumns + ` FROM credentials
		WHERE org_id = $1 AND user_id = $2 AND token_id = '' ORDER BY created_at, uuid`
)

// loginCredentialsJoin is the user's own credentials (c) of a batch's row,
// u the user, in a lateral subquery the planner keeps whole: looked up by
// credentials_user_idx, whose predicate it repeats. The org is the user's,
// which is the key's. loginCredentialColumns reads them, NULL (c.uuid)
// when the user has none, or there is no user.
const (
	loginCredentialsJoin = `
		LEFT JOIN LATERAL (SELECT ` + credentialColumns + ` FROM credentials
			WHERE org_id = u.org_id AND user_id = u.id AND token_id = '' OFFSET 0) AS c ON true`
	loginCredentialColumns = `
			c.uuid IS NOT NULL, coalesce(c.uuid, ''), coalesce(c.org_id, ''), coalesce(c.user_id, ''),
			coalesce(c.token_id, ''), coalesce(c.cred_id, ''::bytea), coalesce(c.kind, ''), coalesce(c.name, ''),
			coalesce(c.public_key, ''), coalesce(c.algorithm, ''), coalesce(c.is_active, false),
			coalesce(c.sign_count, 0), coalesce(c.rp_id, ''), coalesce(c.origin, ''),
			coalesce(c.created_at, 'epoch'::timestamptz), coalesce(c.encrypted_private_key, '')`
	loginUserColumns = `
			u.id IS NOT NULL, coalesce(u.id, ''), coalesce(u.org_id, ''), coalesce(u.username, ''),
			coalesce(u.kind, ''), coalesce(u.is_active, false), coalesce(u.is_archived, false),
			coalesce(u.is_registered, false), coalesce(u.is_service_account, false),
			coalesce(u.is_sso_required, false), coalesce(u.external_id, ''),
			coalesce(u.created_at, 'epoch'::timestamptz)`
)

// userWithCredentialsBatchSQL is UserWithCredentials' statement for
// several keys ($1 the orgs, $2 the usernames, pairwise): for each pair,
// the user of that org with that name, looked up by the unique index
// (org_id, username) in a lateral subquery the planner keeps whole (both
// equalities are its key: a username asked under another org is not
// found, even when the same batch asks for it under its own), then its
// credentials. One row per credential, or one with a NULL credential; no
// row when there is no such user. The rows carry the pair's position
// (k.i) and come unordered (the caller sorts the few credentials).
const userWithCredentialsBatchSQL = `SELECT k.i,` + loginUserColumns + `,` + loginCredentialColumns + `
		FROM (SELECT $1::text[], $2::text[] OFFSET 0) AS x(orgs, names),
		unnest(x.orgs, x.names) WITH ORDINALITY AS k(org, name, i)
		JOIN LATERAL (SELECT ` + userColumns + ` FROM users
			WHERE org_id = k.org AND username = k.name OFFSET 0) AS u ON true` + loginCredentialsJoin

// loginSubjectBatchSQL is LoginSubject's statement for several keys ($1
// the orgs, $2 the user ids, $3 the challenge ids, by position): for each
// key, whether its challenge was spent (by primary key), and the user of
// its org with its id (by primary key, the org compared with IS NOT
// DISTINCT FROM as principalWhere does, so that no org_id index can serve
// it) with its credentials. At least one row per key: a NULL user (u.id)
// when the org has no such user. The spent record is read in a lateral
// subquery the planner keeps whole: an EXISTS in the select list was
// planned as a hashed subplan, a scan of every spent challenge
// (TestHotPlans).
const loginSubjectBatchSQL = `SELECT k.i, sp.spent IS NOT NULL,` + loginUserColumns + `,` + loginCredentialColumns + `
		FROM (SELECT $1::text[], $2::text[], $3::text[] OFFSET 0) AS x(orgs, users, chs),
		unnest(x.orgs, x.users, x.chs) WITH ORDINALITY AS k(org, uid, ch, i)
		LEFT JOIN LATERAL (SELECT true FROM spent_challenges WHERE id = k.ch OFFSET 0) AS sp(spent) ON true
		LEFT JOIN LATERAL (SELECT ` + userColumns + ` FROM users
			WHERE id = k.uid AND org_id IS NOT DISTINCT FROM k.org OFFSET 0) AS u ON true` + loginCredentialsJoin

// orgName is the key of a UserWithCredentials read.
type orgName struct{ org, name string }

// subjectKey is the key of a LoginSubject read.
type subjectKey struct{ org, user, challenge string }

// userCreds is a user and its own credentials, oldest first.
type userCreds struct {
	u     auth.User
	creds []*auth.Credential
}

// loginSubject is what LoginSubject reads for one key: uc nil when there
// is no such user.
type loginSubject struct {
	spent bool
	uc    *userCreds
}

// copyOut returns the caller's own copies of uc's user and credentials:
// callers of one key share uc.
func (uc *userCreds) copyOut() (*auth.User, []*auth.Credential) {
	u := uc.u
	creds := make([]*auth.Credential, len(uc.creds))
	for i, c := range uc.creds {
		cc := *c
		creds[i] = &cc
	}
	return &u, creds
}

// UserWithCredentials returns the user of orgID named username and its own
// credentials, oldest first. ErrNotFound when there is no such user.
// Concurrent calls are coalesced (readbatch.go).
func (s *Store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	uc, err := s.logins.read(ctx, orgName{orgID, username})
	if err != nil {
		return nil, nil, dbErr("user with credentials", err)
	}
	if uc == nil {
		return nil, nil, notFound("user with credentials")
	}
	u, cs := uc.copyOut()
	return u, cs, nil
}

// LoginSubject reports whether the challenge challengeID was spent and
// returns the user of orgID with id userID and its own credentials, oldest
// first. u is nil when there is no such user. Concurrent calls are
// coalesced (readbatch.go).
func (s *Store) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	r, err := s.subjects.read(ctx, subjectKey{orgID, userID, challengeID})
	if err != nil {
		return false, nil, nil, dbErr("login subject", err)
	}
	if r == nil { // not produced by subjectOne or subjectMany
		return false, nil, nil, errors.New("postgres: login subject: no answer")
	}
	if r.uc == nil {
		return r.spent, nil, nil, nil
	}
	u, cs := r.uc.copyOut()
	return r.spent, u, cs, nil
}

// loginOne reads one key's user and credentials in one round trip; nil
// when there is no such user.
func (s *Store) loginOne(ctx context.Context, k orgName) (*userCreds, error) {
	b := &pgx.Batch{}
	b.Queue(userByNameSQL, k.org, k.name)
	b.Queue(credentialsByNameSQL, k.org, k.name)
	br := s.pool.SendBatch(ctx, b)
	u, cs, err := readUserAndCredentials(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &userCreds{u: *u, creds: cs}, nil
}

// subjectOne reads one key's spent flag, user and credentials in one
// round trip.
func (s *Store) subjectOne(ctx context.Context, k subjectKey) (*loginSubject, error) {
	b := &pgx.Batch{}
	b.Queue(challengeSpentSQL, k.challenge)
	b.Queue(userByIDSQL, k.org, k.user)
	b.Queue(userCredentialsSQL, k.org, k.user)
	br := s.pool.SendBatch(ctx, b)
	r := &loginSubject{}
	err := br.QueryRow().Scan(&r.spent)
	if err == nil {
		var u *auth.User
		var cs []*auth.Credential
		u, cs, err = readUserAndCredentials(br)
		switch {
		case err == nil:
			r.uc = &userCreds{u: *u, creds: cs}
		case errors.Is(err, pgx.ErrNoRows):
			err = nil // no such user: spent is told all the same
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// loginMany reads the users and credentials of keys with one statement,
// aligned with keys; nil where there is no such user.
func (s *Store) loginMany(ctx context.Context, keys []orgName) ([]*userCreds, error) {
	orgs, names := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		orgs[i], names[i] = k.org, k.name
	}
	rows, err := s.pool.Query(ctx, userWithCredentialsBatchSQL, orgs, names)
	if err != nil {
		return nil, err
	}
	return collectLogin(rows, len(keys), false, nil)
}

// subjectMany reads the login subjects of keys with one statement, aligned
// with keys.
func (s *Store) subjectMany(ctx context.Context, keys []subjectKey) ([]*loginSubject, error) {
	orgs, users, chs := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		orgs[i], users[i], chs[i] = k.org, k.user, k.challenge
	}
	rows, err := s.pool.Query(ctx, loginSubjectBatchSQL, orgs, users, chs)
	if err != nil {
		return nil, err
	}
	res := make([]*loginSubject, len(keys))
	ucs, err := collectLogin(rows, len(keys), true, res)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if r == nil {
			return nil, fmt.Errorf("login subject batch: no row for key %d of %d", i+1, len(keys))
		}
		r.uc = ucs[i]
	}
	return res, nil
}

// collectLogin reads rows of userWithCredentialsBatchSQL (or, withSpent,
// of loginSubjectBatchSQL, whose spent flags go into subjects) into a user
// and credentials per key position, nil where there is no user, and
// closes rows.
func collectLogin(rows pgx.Rows, n int, withSpent bool, subjects []*loginSubject) ([]*userCreds, error) {
	defer rows.Close()
	res := make([]*userCreds, n)
	for rows.Next() {
		var i int64
		var spent, hasUser, hasCred bool
		var u auth.User
		var ukind string
		c := &auth.Credential{}
		var ckind string
		var credID []byte
		var count int64
		dest := []any{&i}
		if withSpent {
			dest = append(dest, &spent)
		}
		dest = append(dest, &hasUser, &u.ID, &u.OrgID, &u.Username, &ukind, &u.IsActive, &u.IsArchived,
			&u.IsRegistered, &u.IsServiceAccount, &u.IsSSORequired, &u.ExternalID, &u.CreatedAt,
			&hasCred, &c.UUID, &c.OrgID, &c.UserID, &c.TokenID, &credID, &ckind, &c.Name, &c.PublicKey,
			&c.Algorithm, &c.IsActive, &count, &c.RPID, &c.Origin, &c.CreatedAt, &c.EncryptedPrivateKey)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if i < 1 || i > int64(n) {
			return nil, fmt.Errorf("login batch: unexpected row %d of %d", i, n)
		}
		if withSpent && subjects[i-1] == nil {
			subjects[i-1] = &loginSubject{spent: spent}
		}
		if !hasUser {
			continue
		}
		r := res[i-1]
		if r == nil {
			u.Kind = auth.UserKind(ukind)
			u.CreatedAt = utc(u.CreatedAt)
			r = &userCreds{u: u, creds: []*auth.Credential{}}
			res[i-1] = r
		}
		if !hasCred {
			continue // the user has no credential
		}
		c.CredID = string(credID)
		c.Kind = auth.CredentialKind(ckind)
		c.SignCount = uint32(count) // the column's CHECK keeps it in range
		c.CreatedAt = utc(c.CreatedAt)
		r.creds = append(r.creds, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range res {
		if r == nil {
			continue
		}
		sortCredentials(r.creds)
	}
	return res, nil
}

// readUserAndCredentials reads the next two results of br: a user (or
// pgx.ErrNoRows) and that user's credentials.
func readUserAndCredentials(br pgx.BatchResults) (*auth.User, []*auth.Credential, error) {
	u, uerr := scanUser(br.QueryRow())
	if uerr != nil && !errors.Is(uerr, pgx.ErrNoRows) {
		return nil, nil, uerr
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.Credential, error) {
		return scanCredential(r)
	})
	if err != nil {
		return nil, nil, err
	}
	if uerr != nil {
		return nil, nil, uerr
	}
	return u, cs, nil
}
