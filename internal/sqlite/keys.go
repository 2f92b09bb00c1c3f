package sqlite

import (
	"context"
	"database/sql"

	"github.com/signet-auth/signet/internal/token"
)

// SigningKeys returns every token signing key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, sealed, public, created_at, retired_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	defer rows.Close()
	var keys []token.StoredKey
	for rows.Next() {
		var k token.StoredKey
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Sealed, &k.Public, &created, &retired); err != nil {
			return nil, wrap("signing keys", err)
		}
		k.CreatedAt, k.RetiredAt = fromMillis(created), fromNullMillis(retired)
		keys = append(keys, k)
	}
	return keys, wrap("signing keys", rows.Err())
}

// CreateSigningKey retires the current key (RetiredAt = k.CreatedAt) and
// inserts k, in one transaction: if k cannot be inserted nothing is retired.
func (s *Store) CreateSigningKey(ctx context.Context, k token.StoredKey) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`,
			millis(k.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, sealed, public, created_at, retired_at)
			VALUES (?, ?, ?, ?, ?)`, k.ID, k.Sealed, k.Public, millis(k.CreatedAt), nullMillis(k.RetiredAt))
		return err
	})
	return wrap("create signing key", err)
}
