package server

import (
	"testing"

	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
)

// TestOpenStorePostgresCache: --postgres-cache decides whether a
// PostgreSQL store answers token state from its cache (a member of the
// replica-coherent cache) or reads it on every request.
func TestOpenStorePostgresCache(t *testing.T) {
	url := pgtest.URL(t)
	for _, tc := range []struct {
		setting string
		member  bool
	}{{"on", true}, {"off", false}} {
		t.Run(tc.setting, func(t *testing.T) {
			cfg := config.Default()
			cfg.Database, cfg.PostgresCache = url, tc.setting
			st, err := OpenStore(t.Context(), &cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pg, ok := st.(*postgres.Store)
			if !ok {
				t.Fatalf("OpenStore(%q) = %T, want the PostgreSQL store", url, st)
			}
			if err := pg.StartCache(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := pg.PrincipalCacheStats().Sessions > 0; got != tc.member {
				t.Errorf("--postgres-cache %s: cache member %v, want %v", tc.setting, got, tc.member)
			}
		})
	}
}
