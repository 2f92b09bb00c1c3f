package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The floor on PostgreSQL: with -postgres, a second floor process keeps in
// PostgreSQL what a server of several replicas must share, and nothing
// else, each statement in a commit of its own (synchronous_commit as the
// server has it):
//
//   - every single-use thing is marked before the floor answers: the RFC
//     9421 nonce, the challenge when it is answered, the user action when
//     it is used. That is the least a server must write for single use
//     across replicas with acknowledged writes durable (issue 13): one
//     durable write per RFC 9421 request, two per Dfns flow;
//   - an authenticated GET reads its bearer token's state by the token's
//     hash, one primary-key read: the least a server must read for
//     revocation to be immediate on every replica (spec 12.9).
//
// It keeps no audit and reads no user, credential or permission.
const floorPGEnv = "SIGNET_LOAD_FLOOR_PG" // the URL, confined to the run's schema

// floorToken is the bearer token of every floor cell.
const floorToken = "floor-token"

// floorDB is the floor's PostgreSQL.
type floorDB struct{ pool *pgxpool.Pool }

// openFloorDB opens the floor's database and makes its two tables, with
// floorToken active.
func openFloorDB(ctx context.Context) (*floorDB, error) {
	cfg, err := pgxpool.ParseConfig(os.Getenv(floorPGEnv))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", floorPGEnv, err)
	}
	cfg.MaxConns = 16 // one per client at 16 clients: the pool is never what waits
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(floorToken))
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS floor_spent (id text PRIMARY KEY);
		CREATE TABLE IF NOT EXISTS floor_tokens (hash bytea PRIMARY KEY, active boolean NOT NULL)`); err == nil {
		_, err = pool.Exec(ctx, `INSERT INTO floor_tokens (hash, active) VALUES ($1, true) ON CONFLICT DO NOTHING`, h[:])
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &floorDB{pool: pool}, nil
}

// mark makes id used, once: a second mark of the same id fails.
func (d *floorDB) mark(ctx context.Context, id string) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO floor_spent (id) VALUES ($1)`, id)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return errors.New("already used")
	}
	return err
}

// token reads the state of the bearer token tok.
func (d *floorDB) token(ctx context.Context, tok string) error {
	h := sha256.Sum256([]byte(tok))
	var active bool
	err := d.pool.QueryRow(ctx, `SELECT active FROM floor_tokens WHERE hash = $1`, h[:]).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
		return errors.New("unknown or revoked token")
	}
	return err
}
