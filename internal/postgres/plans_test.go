package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// TestHotPlans: every statement a request runs under load (authenticated
// GET, login, action init and complete, the signed POST's spend and append
// and outcome, the RFC 9421 spend) reads a handful of rows, whatever the
// statistics were when its plan was made. pgx prepares each statement once
// per connection, and after five executions PostgreSQL keeps a generic
// plan made with the statistics of that moment, until the table is next
// analyzed: a plan that picked an index on org_id while the org was small
// then reads the whole org on every request (Principal's did: 3.3 ms at
// 20,000 tokens, docs/performance.md "pgdfns").
//
// In each scenario, on a schema of its own, every statement is prepared
// and run past the five custom plans at one moment of the org's growth
// (thousands of users, tokens, credentials, actions, spent challenges,
// audit entries, permissions, assignments and policies, and a second org
// by some), and the plan the server runs once the org has grown is read
// with EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE. Checked on the plan itself
// (the rows each node returns and removes), not on time; and each
// statement must keep its generic plan (not be planned anew every time).
// Writes run in a transaction that is rolled back.
func TestHotPlans(t *testing.T) {
	for _, sc := range []struct {
		name string
		// before runs before the statements are planned, after once they
		// are; grow(1) and grow(2) are the two halves of the growth.
		before, after func(grow func(stage int), analyze func(...string))
		// replanned: after analyzes, so the plan is made again (and
		// PostgreSQL may try a custom plan once more before it keeps a
		// generic one): the plans are not counted.
		replanned bool
	}{
		// A new deployment: planned on its small tables, never analyzed
		// (the planner then assumes ten pages a table, so index paths).
		{"new", func(func(int), func(...string)) {}, func(grow func(int), _ func(...string)) { grow(1); grow(2) }, false},
		// Planned on small tables that an ANALYZE counted (a few rows: a
		// sequential scan of one page is the cheapest plan of every
		// lookup), then the org grows and the tables are analyzed again, as
		// autovacuum does once 50 rows and 10% changed: the connection's
		// plan is made again, on the new counts.
		{"small, then analyzed", func(_ func(int), analyze func(...string)) { analyze(hotTables...) },
			func(grow func(int), analyze func(...string)) { grow(1); grow(2); analyze(hotTables...) }, true},
		// Planned while growing: users and permissions counted by an
		// ANALYZE, the tables that reference them small; then analyzed.
		{"growing, then analyzed", func(grow func(int), analyze func(...string)) { grow(1); analyze(hotTables...) },
			func(grow func(int), analyze func(...string)) { grow(2); analyze(hotTables...) }, true},
		// The steady state: planned on analyzed tables.
		{"analyzed", func(grow func(int), analyze func(...string)) { grow(1); grow(2); analyze(hotTables...) },
			func(func(int), func(...string)) {}, false},
	} {
		t.Run(sc.name, func(t *testing.T) { hotPlans(t, sc.before, sc.after, !sc.replanned) })
	}
}

// hotTables are the tables TestHotPlans grows and reads.
var hotTables = []string{"users", "access_tokens", "credentials", "actions", "spent_challenges", "audit_entries",
	"audit_heads", "audit_outcomes", "permissions", "assignments", "policies", "orgs", "action_evidence"}

// hotPlans is one scenario of TestHotPlans.
func hotPlans(t *testing.T, before, after func(grow func(stage int), analyze func(...string)), countPlans bool) {
	s := openTest(t)
	ctx := t.Context()
	f := newFixture(t, s, "a")
	g := newFixture(t, s, "b")
	now := t0.Add(time.Minute)
	act := action("hot", t0.Add(time.Hour))
	if err := s.CreateAction(ctx, act); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAuditEntry(ctx, &audit.Entry{ID: "en-hot", OrgID: f.org.ID, UserID: f.user.ID, Method: "POST", Path: "/x"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO policies (id, org_id, name, activity_kind, status, spec, created_at, updated_at)
		VALUES ('po-hot', $1, 'hot', 'Wallets:Sign', $2, '{}', $3, $3)`, f.org.ID, auth.PolicyActive, t0); err != nil {
		t.Fatal(err)
	}
	org, tok, user, ch := f.org.ID, f.token.ID, f.user.ID, "ch-hot"
	rows := []struct {
		name  string
		sql   string
		args  []any
		write bool // run in a transaction rolled back
	}{
		{"Principal", principalSQL, []any{org, tok}, false},
		{"Principal batch", principalBatchSQL, []any{[]string{org, g.org.ID, org}, []string{tok, g.token.ID, g.token.ID}}, false},
		{"PrincipalSigners", principalSignersSQL, []any{org, tok}, false},
		{"PrincipalSigners batch", principalSignersBatchSQL, []any{[]string{org, g.org.ID, org}, []string{tok, g.token.ID, g.token.ID}}, false},
		{"Operations", operationsSQL, []any{org, user}, false},
		{"ActivePolicies", activePoliciesSQL, []any{org, "Wallets:Sign", string(auth.PolicyActive)}, false},
		{"ChallengeSpent", challengeSpentSQL, []any{ch}, false},
		{"UserWithCredentials user", userByNameSQL, []any{org, f.user.Username}, false},
		{"UserWithCredentials credentials", credentialsByNameSQL, []any{org, f.user.Username}, false},
		{"LoginSubject user", userByIDSQL, []any{org, user}, false},
		{"LoginSubject credentials", userCredentialsSQL, []any{org, user}, false},
		{"UserWithCredentials batch", userWithCredentialsBatchSQL, []any{[]string{org, g.org.ID, org},
			[]string{f.user.Username, g.user.Username, g.user.Username}}, false},
		{"LoginSubject batch", loginSubjectBatchSQL, []any{[]string{org, g.org.ID, org}, []string{user, g.user.ID, g.user.ID},
			[]string{ch, "ch-b-1", ch}}, false},
		{"Action", actionSQL, []any{org, act.ID}, false},
		{"UseAction recheck", actionUsedSQL, []any{act.TokenHash, now}, false},
		{"UseAuditedAction spend", useAuditedSpendSQL, []any{now, act.TokenHash, audit.Genesis}, true},
		{"UseAuditedAction group spend", useActionGroupSpendSQL, []any{now, act.TokenHash}, true},
		{"SpendActionForChallenge spend", spendAndLockHeadSQL, []any{ch, now, org, audit.Genesis}, true},
		{"group head lock", lockHeadsSQL, []any{[][]byte{act.TokenHash}, []string{org}, audit.Genesis}, true},
		{"append", appendSQL, []any{org, int64(2), "en-next", now, user, f.user.Username, "", "POST", "/x", "{}", []byte{1}, "/x"}, true},
		{"outcome", outcomeSQL, []any{"en-hot", int32(200), now}, true},
	}
	// No autovacuum while the test runs: its ANALYZE would replan the
	// statements with the grown statistics and hide what a connection
	// keeps meanwhile (the scenarios analyze where they mean to).
	for _, table := range hotTables {
		if _, err := s.pool.Exec(ctx, `ALTER TABLE `+table+` SET (autovacuum_enabled = off)`); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// run executes the prepared statement name, with row i's arguments,
	// or EXPLAIN of it into explain when explain is not nil.
	run := func(name string, i int, explain *[]struct{ Plan planNode }) error {
		r := rows[i]
		q := `EXECUTE ` + name + ` (`
		for j := range r.args {
			if j > 0 {
				q += ", "
			}
			q += fmt.Sprintf("$%d", j+1)
		}
		q += ")"
		if explain != nil {
			q = `EXPLAIN (ANALYZE, FORMAT JSON) ` + q
		}
		args := append([]any{pgx.QueryExecModeSimpleProtocol}, r.args...)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			if explain != nil {
				err = tx.QueryRow(ctx, q, args...).Scan(explain)
			} else {
				_, err = tx.Exec(ctx, q, args...)
			}
			if err == nil && r.write {
				err = errRollback
			}
			return err
		})
		if err == errRollback {
			return nil
		}
		return err
	}
	// prepare prepares every row's statement as <phase><i> and runs it
	// past the five custom plans PostgreSQL tries first, to its generic
	// plan.
	prepare := func(phase string) {
		for i, r := range rows {
			name := fmt.Sprint(phase, i)
			if _, err := conn.Exec(ctx, `PREPARE `+name+` AS `+r.sql); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			for range 7 {
				if err := run(name, i, nil); err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
			}
		}
	}
	// check reads the plan the server runs for each statement of phase.
	check := func(phase string) {
		for i, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				name := fmt.Sprint(phase, i)
				var plan []struct{ Plan planNode }
				if err := run(name, i, &plan); err != nil {
					t.Fatal(err)
				}
				if len(plan) != 1 {
					t.Fatalf("EXPLAIN returned %d plans", len(plan))
				}
				plan[0].Plan.walk(func(n *planNode) {
					removed := n.RowsRemovedByFilter + n.RowsRemovedByJoinFilter + n.RowsRemovedByIndexRecheck
					if read := n.ActualRows * n.ActualLoops; read+removed > handful {
						t.Errorf("%s on %s (%s) returned %.0f rows and removed %.0f: the plan reads the org", n.NodeType,
							n.RelationName, n.IndexName, read, removed)
					}
				})
				if !countPlans {
					return
				}
				var generic, custom int64
				if err := conn.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1`,
					name).Scan(&generic, &custom); err != nil {
					t.Fatal(err)
				}
				if custom > 5 { // plan_cache_mode auto tries five custom plans, then keeps a generic one if it is no dearer
					t.Errorf("planned anew on every execution: %d custom plans, %d generic", custom, generic)
				}
			})
		}
	}
	growBoth := func(stage int) {
		grow(t, conn, f, 3000, stage)
		grow(t, conn, g, 500, stage)
	}
	analyze := func(tables ...string) {
		if _, err := conn.Exec(ctx, `ANALYZE `+strings.Join(tables, ", ")); err != nil {
			t.Fatal(err)
		}
	}
	before(growBoth, analyze)
	prepare("p")
	after(growBoth, analyze)
	check("p")
}

// handful is the most rows a node of a hot statement's plan may return or
// remove (TestHotPlans): the fixture's org has one or two of each row a
// request reads, and thousands of the others.
const handful = 10

// errRollback rolls TestHotPlans' writes back.
var errRollback = fmt.Errorf("rolled back")

// grow adds n users to f's org, each with a session token, a credential of
// its own and one of its token, an unused action, a spent challenge, an
// audit entry, a permission assigned to it and a policy (of another
// activity kind, or archived): rows a request of f's user must not read.
func grow(t *testing.T, conn *pgxpool.Conn, f fixture, n, stage int) {
	t.Helper()
	for i, q := range []string{
		`INSERT INTO users (id, org_id, username, kind, is_active, is_archived, is_registered, is_service_account, is_sso_required, external_id, created_at)
			SELECT id || '-' || g, org_id, g || '-' || username, kind, is_active, is_archived, is_registered,
				is_service_account, is_sso_required, external_id || g, created_at
			FROM users, generate_series(1, $2) g WHERE id = $1`,
		`INSERT INTO spent_challenges (id, expires_at) SELECT 'ch-' || $1 || '-' || g, now() + interval '1 hour'
			FROM generate_series(1, $2) g`,
		`INSERT INTO permissions (id, org_id, name, operations, is_immutable, is_archived, created_at, updated_at)
			SELECT 'pm-' || $1 || '-' || g, org_id, 'p' || g, ARRAY['Auth:Users:Read'], false, false, created_at, created_at
			FROM users, generate_series(1, $2) g WHERE id = $1`,
		`INSERT INTO policies (id, org_id, name, activity_kind, status, spec, created_at, updated_at)
			SELECT 'po-' || $1 || '-' || g, org_id, 'p' || g, CASE WHEN g % 2 = 0 THEN 'Wallets:Sign' ELSE 'Kind' || g % 7 END,
				CASE WHEN g % 2 = 0 THEN 'Archived' ELSE 'Active' END, '{}', created_at, created_at
			FROM users, generate_series(1, $2) g WHERE id = $1`,
		`INSERT INTO access_tokens (id, org_id, user_id, kind, name, credential_uuid, permission_id, external_id, is_active, is_archived, expires_at, created_at)
			SELECT id || '-' || g, org_id, user_id || '-' || g, kind, name || g, credential_uuid || '-' || g, permission_id, external_id,
				is_active, is_archived, expires_at, created_at
			FROM access_tokens, generate_series(1, $2) g WHERE user_id = $1`,
		`INSERT INTO credentials (uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm, is_active,
				sign_count, rp_id, origin, created_at, encrypted_private_key)
			SELECT uuid || '-' || g || t.k, org_id, user_id || '-' || g, CASE t.k WHEN 'u' THEN '' ELSE 'to-x-' || g END,
				cred_id || convert_to('-' || g || t.k, 'UTF8'), kind, name, public_key, algorithm, is_active,
				sign_count, rp_id, origin, created_at, encrypted_private_key
			FROM credentials, generate_series(1, $2) g, (VALUES ('u'), ('t')) t(k) WHERE user_id = $1 AND token_id = ''`,
		`INSERT INTO actions (id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
				payload_hash, expires_at, created_at, used_at)
			SELECT 'uj-' || $1 || '-' || g, convert_to($1 || '-' || g, 'UTF8'), org_id, id, '', '', 'POST', '/x', '',
				NULL, created_at + interval '1 hour', created_at, NULL
			FROM users, generate_series(1, $2) g WHERE id = $1`,
		`INSERT INTO audit_entries (org_id, seq, id, time, user_id, username, credential_uuid, method, path, entry, hash, target)
			SELECT org_id, 1000 + g, 'en-' || $1 || '-' || g, created_at, id, username, '', 'POST', '/x', '{}', '\x01', '/x'
			FROM users, generate_series(1, $2) g WHERE id = $1`,
		`INSERT INTO assignments (id, org_id, permission_id, identity_id, is_immutable, created_at, updated_at)
			SELECT 'as-' || $1 || '-' || g, org_id, 'pm-' || $1 || '-' || g, id || '-' || g, false, created_at, created_at
			FROM users, generate_series(1, $2) g WHERE id = $1`,
	} {
		if (i < 4) != (stage == 1) { // stage 1: users, spent challenges, permissions, policies
			continue
		}
		if _, err := conn.Exec(t.Context(), q, f.user.ID, n); err != nil {
			t.Fatalf("grow %s: %v\n%s", f.org.ID, err, q)
		}
	}
}

// planNode is a node of EXPLAIN (ANALYZE, FORMAT JSON), the fields the
// tests read.
type planNode struct {
	NodeType                  string     `json:"Node Type"`
	RelationName              string     `json:"Relation Name"`
	IndexName                 string     `json:"Index Name"`
	ActualRows                float64    `json:"Actual Rows"`
	ActualLoops               float64    `json:"Actual Loops"`
	RowsRemovedByFilter       float64    `json:"Rows Removed by Filter"`
	RowsRemovedByJoinFilter   float64    `json:"Rows Removed by Join Filter"`
	RowsRemovedByIndexRecheck float64    `json:"Rows Removed by Index Recheck"`
	Plans                     []planNode `json:"Plans"`
}

func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for i := range n.Plans {
		n.Plans[i].walk(f)
	}
}
