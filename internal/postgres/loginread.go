package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
)

// The two login reads send their queries in one batch: one round trip
// where the separate calls (user, credentials, the challenge's spent
// record) took one each.

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

// UserWithCredentials returns the user of orgID named username and its own
// credentials, oldest first, in one round trip. ErrNotFound when there is
// no such user.
func (s *Store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	b := &pgx.Batch{}
	b.Queue(userByNameSQL, orgID, username)
	b.Queue(credentialsByNameSQL, orgID, username)
	br := s.pool.SendBatch(ctx, b)
	u, cs, err := readUserAndCredentials(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, dbErr("user with credentials", err)
	}
	return u, cs, nil
}

// LoginSubject reports whether the challenge challengeID was spent and
// returns the user of orgID with id userID and its own credentials, oldest
// first, in one round trip. u is nil when there is no such user.
func (s *Store) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	b := &pgx.Batch{}
	b.Queue(challengeSpentSQL, challengeID)
	b.Queue(userByIDSQL, orgID, userID)
	b.Queue(userCredentialsSQL, orgID, userID)
	br := s.pool.SendBatch(ctx, b)
	var spent bool
	err := br.QueryRow().Scan(&spent)
	var u *auth.User
	var cs []*auth.Credential
	if err == nil {
		u, cs, err = readUserAndCredentials(br)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil // no such user: spent is told all the same
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, nil, nil, dbErr("login subject", err)
	}
	return spent, u, cs, nil
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
