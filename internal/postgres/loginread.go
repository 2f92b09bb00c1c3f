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

// UserWithCredentials returns the user of orgID named username and its own
// credentials, oldest first, in one round trip. ErrNotFound when there is
// no such user.
func (s *Store) UserWithCredentials(ctx context.Context, orgID, username string) (*auth.User, []*auth.Credential, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND username = $2`, orgID, username)
	b.Queue(`SELECT `+credentialColumns+` FROM credentials
		WHERE org_id = $1 AND token_id = ''
		  AND user_id = (SELECT id FROM users WHERE org_id = $1 AND username = $2)
		ORDER BY created_at, uuid`, orgID, username)
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
	b.Queue(`SELECT EXISTS (SELECT 1 FROM spent_challenges WHERE id = $1)`, challengeID)
	b.Queue(`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, userID)
	b.Queue(`SELECT `+credentialColumns+` FROM credentials
		WHERE org_id = $1 AND user_id = $2 AND token_id = '' ORDER BY created_at, uuid`, orgID, userID)
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
