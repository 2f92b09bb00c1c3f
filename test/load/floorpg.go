package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The floor on PostgreSQL: with -postgres, a second floor process marks
// every single-use thing in PostgreSQL as well, each in a commit of its own
// (synchronous_commit as the server has it), before it answers: the RFC
// 9421 nonce, the challenge when it is answered, the user action when it is
// used. That is the least a server must write for single use across
// replicas with acknowledged writes durable (issue 13): one durable write
// per RFC 9421 request, two per Dfns flow. It keeps no audit and checks no
// token.
const floorPGEnv = "SIGNET_LOAD_FLOOR_PG" // the URL, confined to the run's schema

// floorDurable opens the floor's database and returns the function that
// marks an id used, once: a second mark of the same id fails.
func floorDurable(ctx context.Context) (func(context.Context, string) error, error) {
	cfg, err := pgxpool.ParseConfig(os.Getenv(floorPGEnv))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", floorPGEnv, err)
	}
	cfg.MaxConns = 16 // one per client at 16 clients: the pool is never what waits
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS floor_spent (id text PRIMARY KEY)`); err != nil {
		pool.Close()
		return nil, err
	}
	return func(ctx context.Context, id string) error {
		_, err := pool.Exec(ctx, `INSERT INTO floor_spent (id) VALUES ($1)`, id)
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
			return errors.New("already used")
		}
		return err
	}, nil
}
