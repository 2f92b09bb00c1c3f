package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ProbeWrite proves the database accepts a durable write now: it commits
// this replica's row of readiness_probe (/readyz, issue 12).
func (s *Store) ProbeWrite(ctx context.Context, replica string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO readiness_probe (replica, probed_at) VALUES ($1, $2)
		ON CONFLICT (replica) DO UPDATE SET probed_at = excluded.probed_at`, replica, now)
	return dbErr("probe write", err)
}

// PendingMigrations returns the versions of the embedded migrations the
// database has not applied.
func (s *Store) PendingMigrations(ctx context.Context) ([]int, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, dbErr("pending migrations", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	var pending []int
	for _, m := range ms {
		if !done[m.version] {
			pending = append(pending, m.version)
		}
	}
	return pending, nil
}
