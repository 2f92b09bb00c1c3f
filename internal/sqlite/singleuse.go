package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// A challenge or an action is expired when its expiry is not after now
// (expires_at <= now): ConsumeChallenge and UseAction refuse it from that
// instant, and Sweep removes it.

// createChallengeSQL is prepared once in Open.
const createChallengeSQL = `INSERT INTO challenges
		(id, org_id, user_id, token_id, purpose, challenge, method, path, query, payload_hash, credential_kind,
		 expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateChallenge inserts c. ErrDuplicate when its id is taken.
func (s *Store) CreateChallenge(ctx context.Context, c *auth.Challenge) error {
	_, err := s.stmts.createChallenge.ExecContext(ctx,
		c.ID, c.OrgID, c.UserID, c.TokenID, string(c.Purpose), c.Challenge, c.Method, c.Path, c.Query,
		c.PayloadHash, string(c.CredentialKind), millis(c.ExpiresAt), millis(c.CreatedAt))
	return wrap("create challenge", err)
}

// consumeChallengeSQL is prepared once in Open.
const consumeChallengeSQL = `DELETE FROM challenges WHERE id = ? RETURNING
		id, org_id, user_id, token_id, purpose, challenge, method, path, query, payload_hash, credential_kind,
		expires_at, created_at`

// ConsumeChallenge deletes the challenge and returns it, in one DELETE …
// RETURNING: of any number of concurrent calls exactly one gets the row. An
// expired challenge is deleted all the same (it is of no more use) and
// reported as ErrNotFound.
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) (*auth.Challenge, error) {
	var c auth.Challenge
	var expires, created int64
	rows, err := s.stmts.consumeChallenge.QueryContext(ctx, id)
	err = one(rows, err, func(sc scanner) error {
		return sc.Scan(&c.ID, &c.OrgID, &c.UserID, &c.TokenID, &c.Purpose, &c.Challenge, &c.Method, &c.Path,
			&c.Query, &c.PayloadHash, &c.CredentialKind, &expires, &created)
	})
	if err != nil {
		return nil, wrap("consume challenge", err)
	}
	if expires <= millis(now) {
		return nil, wrap("consume challenge", auth.ErrNotFound)
	}
	c.ExpiresAt, c.CreatedAt = fromMillis(expires), fromMillis(created)
	return &c, nil
}

// challengeSQL is prepared once in Open (read pool).
const challengeSQL = `SELECT
		id, org_id, user_id, token_id, purpose, challenge, method, path, query, payload_hash, credential_kind,
		expires_at, created_at
		FROM challenges WHERE id = ? AND expires_at > ?`

// Challenge returns the challenge without consuming it. ErrNotFound when
// there is none or it expired at or before now.
func (s *Store) Challenge(ctx context.Context, id string, now time.Time) (*auth.Challenge, error) {
	var c auth.Challenge
	var expires, created int64
	err := s.stmts.challenge.QueryRowContext(ctx, id, millis(now)).Scan(
		&c.ID, &c.OrgID, &c.UserID, &c.TokenID, &c.Purpose, &c.Challenge, &c.Method, &c.Path,
		&c.Query, &c.PayloadHash, &c.CredentialKind, &expires, &created)
	if err != nil {
		return nil, wrap("challenge", err)
	}
	c.ExpiresAt, c.CreatedAt = fromMillis(expires), fromMillis(created)
	return &c, nil
}

// spendChallengeSQL is prepared once in Open.
const spendChallengeSQL = `DELETE FROM challenges WHERE id = ? AND expires_at > ?`

// spendChallenge deletes the unexpired challenge id in tx: ErrNotFound when
// no row matched (absent, expired, or another answer spent it first; the
// single writer serialises the transactions, so exactly one finds it).
func (s *Store) spendChallenge(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	res, err := tx.StmtContext(ctx, s.stmts.spendChallenge).ExecContext(ctx, id, millis(now))
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return auth.ErrNotFound
	}
	return nil
}

// CreateActionForChallenge deletes the unexpired challenge challengeID and
// inserts a and, unless pending is nil, its pending audit entry, in one
// write transaction. ErrNotFound, and nothing inserted, when the challenge
// is not there.
func (s *Store) CreateActionForChallenge(ctx context.Context, challengeID string, now time.Time, a *auth.Action, pending *audit.Entry) error {
	var blob []byte
	if pending != nil {
		var err error
		if blob, err = json.Marshal(pending); err != nil {
			return wrap("create action for challenge", err)
		}
	}
	return wrap("create action for challenge", s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, challengeID, now); err != nil {
			return err
		}
		if err := s.insertAction(ctx, tx, a); err != nil {
			return err
		}
		if pending == nil {
			return nil
		}
		_, err := in(ctx, tx, s.stmts.insertEvidence).ExecContext(ctx, a.ID, string(blob))
		return err
	}))
}

// CreateAccessTokenForChallenge deletes the unexpired challenge
// challengeID and inserts t, in one write transaction. ErrNotFound, and
// nothing inserted, when the challenge is not there.
func (s *Store) CreateAccessTokenForChallenge(ctx context.Context, challengeID string, now time.Time, t *auth.AccessToken) error {
	return wrap("create access token for challenge", s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.spendChallenge(ctx, tx, challengeID, now); err != nil {
			return err
		}
		return s.insertAccessToken(ctx, tx, t)
	}))
}

// CreateAction inserts a. ErrDuplicate when its id or token hash is taken;
// ErrNotFound when its user is not in its org.
func (s *Store) CreateAction(ctx context.Context, a *auth.Action) error {
	return wrap("create action", s.insertAction(ctx, nil, a))
}

// insertActionSQL is prepared once in Open.
const insertActionSQL = `INSERT INTO actions
		(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
		 expires_at, created_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertAction inserts a, in tx unless it is nil.
func (s *Store) insertAction(ctx context.Context, tx *sql.Tx, a *auth.Action) error {
	_, err := in(ctx, tx, s.stmts.insertAction).ExecContext(ctx,
		a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path, a.Query,
		a.PayloadHash, millis(a.ExpiresAt), millis(a.CreatedAt), nullMillis(a.UsedAt))
	return err
}

// useActionSQL is prepared once in Open.
const useActionSQL = `UPDATE actions SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
			expires_at, created_at, used_at`

// UseAction marks the unused, unexpired action with this token hash used at
// now and returns it, in one UPDATE … RETURNING: of any number of concurrent
// calls exactly one gets the row. Only when nothing matched does a second
// query tell ErrUsed (the action is there, unexpired, used) from ErrNotFound.
func (s *Store) UseAction(ctx context.Context, tokenHash []byte, now time.Time) (*auth.Action, error) {
	var a auth.Action
	var expires, created int64
	var used sql.NullInt64
	rows, err := s.stmts.useAction.QueryContext(ctx, millis(now), tokenHash)
	err = one(rows, err, func(sc scanner) error {
		return sc.Scan(&a.ID, &a.TokenHash, &a.OrgID, &a.UserID, &a.TokenID, &a.CredentialUUID, &a.Method,
			&a.Path, &a.Query, &a.PayloadHash, &expires, &created, &used)
	})
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM actions
			WHERE token_hash = ? AND used_at IS NOT NULL AND expires_at > ?`, tokenHash, millis(now)).Scan(&n)
		if err == nil {
			err = auth.ErrNotFound
			if n > 0 {
				err = auth.ErrUsed
			}
		}
	}
	if err != nil {
		return nil, wrap("use action", err)
	}
	a.ExpiresAt, a.CreatedAt, a.UsedAt = fromMillis(expires), fromMillis(created), fromNullMillis(used)
	return &a, nil
}

// Sweep deletes the challenges and actions (used or not) that expired at or
// before now, in one transaction, and returns how many it deleted.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM challenges WHERE expires_at <= ?`,
			`DELETE FROM actions WHERE expires_at <= ?`,
		} {
			res, err := tx.ExecContext(ctx, q, millis(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, wrap("sweep", err)
	}
	return total, nil
}
