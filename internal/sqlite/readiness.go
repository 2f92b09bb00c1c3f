package sqlite

import (
	"context"
	"time"
)

// ProbeWrite proves the database accepts a durable write now: it commits
// one row of readiness_probe through the writer connection, as every other
// write does (/readyz, issue 12).
func (s *Store) ProbeWrite(ctx context.Context, replica string, now time.Time) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO readiness_probe (replica, probed_at) VALUES (?, ?)
		ON CONFLICT (replica) DO UPDATE SET probed_at = excluded.probed_at`, replica, millis(now))
	return wrap("probe write", err)
}

// PendingMigrations returns the versions of the embedded migrations the
// database has not applied.
func (s *Store) PendingMigrations(ctx context.Context) ([]int, error) {
	ms, err := migrationList()
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, wrap("pending migrations", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, wrap("pending migrations", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("pending migrations", err)
	}
	var pending []int
	for _, m := range ms {
		if !done[m.version] {
			pending = append(pending, m.version)
		}
	}
	return pending, nil
}
