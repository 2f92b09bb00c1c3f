package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPrincipalPlan: the plan PostgreSQL caches for Principal's and
// PrincipalSigners' statements while the tables are small still finds the
// token, its user and its credential by their keys once the org has grown:
// no scan of the plan reads the org's other rows. pgx prepares each
// statement once per connection, and after five executions PostgreSQL
// keeps a generic plan, made with the statistics of that moment, until
// the table is next analyzed: with the org compared by = that plan read
// every token and user of the org (an org_id index ties with the primary
// key while the tables are small). Checked on the plan itself (EXPLAIN
// ANALYZE of the prepared statement: rows removed by a filter), not on
// time.
func TestPrincipalPlan(t *testing.T) {
	for _, c := range []struct{ name, sql string }{
		{"Principal", `SELECT ` + principalColumns + principalFrom + principalWhere},
		{"PrincipalSigners", principalSignersSQL},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openTest(t) // small tables of its own
			f := newFixture(t, s, "a")
			ctx := t.Context()
			conn, err := s.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, `PREPARE p (text, text) AS `+c.sql); err != nil {
				t.Fatal(err)
			}
			defer conn.Exec(ctx, `DEALLOCATE p`)
			for range 7 { // past the five custom plans: the generic plan of the small tables
				if _, err := conn.Exec(ctx, `EXECUTE p ($1, $2)`, pgx.QueryExecModeSimpleProtocol, f.org.ID, f.token.ID); err != nil {
					t.Fatal(err)
				}
			}
			// The org grows: 2,000 more users, each with a token.
			for _, q := range []struct{ sql, from string }{
				{`INSERT INTO users (id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account, is_sso_required, external_id, created_at)
					SELECT 'us-g' || g || '-' || $2, org_id, 'g' || g || '-' || $2 || '@example.com', kind, is_active, is_archived, is_registered,
						is_service_account, is_sso_required, 'ext-g' || g || '-' || $2, created_at
					FROM users, generate_series(1, 2000) g WHERE id = $1`, f.user.ID},
				{`INSERT INTO access_tokens (id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active, is_archived, expires_at, created_at)
					SELECT 'to-g' || g || '-' || $2, org_id, 'us-g' || g || '-' || $2, kind, 'n' || g, credential_uuid, permission_id, external_id,
						is_active, is_archived, expires_at, created_at
					FROM access_tokens, generate_series(1, 2000) g WHERE id = $1`, f.token.ID},
			} {
				if _, err := conn.Exec(ctx, q.sql, q.from, "x"); err != nil {
					t.Fatal(err)
				}
			}
			var plan []struct{ Plan planNode }
			if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE p ($1, $2)`, pgx.QueryExecModeSimpleProtocol, f.org.ID, f.token.ID).Scan(&plan); err != nil {
				t.Fatal(err)
			}
			if len(plan) != 1 {
				t.Fatalf("EXPLAIN returned %d plans", len(plan))
			}
			plan[0].Plan.walk(func(n *planNode) {
				if n.RowsRemovedByFilter+n.RowsRemovedByJoinFilter > 0 {
					t.Errorf("%s on %s (%s) read %.0f rows of the org to find one", n.NodeType, n.RelationName, n.IndexName,
						n.RowsRemovedByFilter+n.RowsRemovedByJoinFilter)
				}
			})
		})
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON), the fields the test reads.
type planNode struct {
	NodeType                string     `json:"Node Type"`
	RelationName            string     `json:"Relation Name"`
	IndexName               string     `json:"Index Name"`
	RowsRemovedByFilter     float64    `json:"Rows Removed by Filter"`
	RowsRemovedByJoinFilter float64    `json:"Rows Removed by Join Filter"`
	Plans                   []planNode `json:"Plans"`
}

func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for i := range n.Plans {
		n.Plans[i].walk(f)
	}
}
