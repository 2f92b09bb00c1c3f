package sqlite

import "testing"

// TestPendingMigrations: a migration missing from the database (restored
// from an older backup behind a running binary, say) is reported, so
// /readyz can say unready.
func TestPendingMigrations(t *testing.T) {
	s := open(t)
	if _, err := s.write.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version = 9`); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingMigrations(t.Context())
	if err != nil || len(got) != 1 || got[0] != 9 {
		t.Fatalf("PendingMigrations = %v, %v; want [9]", got, err)
	}
}
