package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/server"
)

// fenceWrites makes what a command wrote straight to the database in force
// on every running replica before the command reports success: on
// PostgreSQL replicas answer each request's token state from a cache
// (internal/postgres, docs/production.md "PostgreSQL replicas"), and a change is acknowledged only
// after the store's fence (auth.Fencer). A command is not a cache member:
// its store listens for the replicas' acknowledgements on a connection of
// its own. SQLite stores cache nothing another process can change, and
// have no fence. None of today's commands changes what a token's state is
// read from (they insert orgs and users, registration codes, signing keys,
// OIDC providers); fencing every writing command keeps the next one safe.
func fenceWrites(ctx context.Context, parts *server.Parts) error {
	f, ok := parts.Store.(auth.Fencer)
	if !ok {
		return nil
	}
	if err := f.Fence(ctx); err != nil {
		return fmt.Errorf("the change is committed, but running replicas could not be confirmed to see it yet (they do within one cache lease): %w", err)
	}
	return nil
}

// cacheStarter is a store whose cache starts on demand (the PostgreSQL
// store's Principal cache).
type cacheStarter interface {
	StartCache(ctx context.Context) error
}

// startCache makes a serving replica a cache member before it takes
// requests, so that it answers from memory from the first one and every
// fence knows it. If the database does not answer in time the replica
// serves anyway, reading every token's state, and joins when it can.
func startCache(ctx context.Context, st any, log *slog.Logger) {
	c, ok := st.(cacheStarter)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.StartCache(ctx); err != nil {
		log.Warn("the token state cache has not started yet; requests read the database until it has", "err", err)
	}
}
