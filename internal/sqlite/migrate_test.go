package sqlite

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// migrateUpTo makes Open apply the migrations up to version v only.
func migrateUpTo(v int) Option { return func(o *options) { o.upTo = v } }

// TestMigration0016 writes actions (pending with their entry, used, spent
// at creation), audit entries and an outcome with the schema before 0016,
// migrates, and reads every row back unchanged: the rebuilt table keeps
// its rows, a pending action still finds its entry, the chain continues,
// the append-only trigger and the cascade from actions to action_evidence
// still hold.
func TestMigration0016(t *testing.T) {
	old, path := openAt(t, 15)
	org := seed(t, old)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	action := func(id string, exp time.Duration) *auth.Action {
		return &auth.Action{ID: id, TokenHash: []byte("th-" + id), OrgID: org.Org.ID, UserID: org.User.ID, TokenID: "to-1",
			CredentialUUID: "cr-1", Method: "POST", Path: "/wallets", Query: "a=1", PayloadHash: []byte{1, 2},
			ExpiresAt: now.Add(exp), CreatedAt: now}
	}
	entry := func(a *auth.Action) *audit.Entry {
		return &audit.Entry{ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, Username: "admin@example.com", TokenID: a.TokenID,
			TokenKind: "Token", CredentialUUID: a.CredentialUUID, CredID: "cid-1", CredentialKind: "Key", PublicKey: "pem",
			Method: a.Method, Path: a.Path, Query: a.Query, PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash,
			Challenge: "ch", ClientData: "cd", Signature: "sig"}
	}
	spent, used, pending, short := action("uj-1", time.Hour), action("uj-2", time.Hour), action("uj-3", time.Hour), action("uj-4", time.Minute)
	// Spent at creation: audited, an entry and no row; not audited, a row
	// and no entry.
	signed := action("uj-5", time.Hour)
	if err := old.SpendActionForChallenge(ctx, "hs-5", now.Add(time.Minute), signed, entry(signed), "/wallets?a=1", now); err != nil {
		t.Fatal(err)
	}
	if err := old.SpendActionForChallenge(ctx, "hs-1", now.Add(time.Minute), spent, nil, "/wallets?a=1", now); err != nil {
		t.Fatal(err)
	}
	for i, a := range []*auth.Action{used, pending, short} {
		if err := old.CreateActionForChallenge(ctx, "ch-"+a.ID, now.Add(time.Minute), a, entry(a)); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, _, err := old.UseAuditedAction(ctx, used.TokenHash, "/wallets?a=1", now); err != nil {
		t.Fatal(err)
	}
	if err := old.RecordOutcome(ctx, &audit.Outcome{EntryID: used.ID, Status: 201, Time: now}); err != nil {
		t.Fatal(err)
	}
	wantActions := map[string]*auth.Action{}
	for _, a := range []*auth.Action{spent, used, pending, short} {
		got, err := old.Action(ctx, org.Org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantActions[a.ID] = got
	}
	wantRecords, err := old.AuditRecords(ctx, org.Org.ID, 0, 0)
	if err != nil || len(wantRecords) != 2 || wantRecords[1].Outcome == nil {
		t.Fatalf("records before: %v, %v", wantRecords, err)
	}
	s := upgrade(t, old, path)
	for _, table := range []string{"audit_outcomes"} {
		var sql string
		if err := s.read.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = ?`, table).Scan(&sql); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sql, "WITHOUT ROWID") {
			t.Errorf("%s: %s, want WITHOUT ROWID", table, sql)
		}
	}
	var fkErrors int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkErrors); err != nil || fkErrors != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fkErrors, err)
	}
	for id, want := range wantActions {
		got, err := s.Action(ctx, org.Org.ID, id)
		if err != nil {
			t.Fatal(id, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("action %s after 0016 (-before +after):\n%s", id, d)
		}
	}
	gotRecords, err := s.AuditRecords(ctx, org.Org.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantRecords, gotRecords); d != "" {
		t.Errorf("audit records after 0016 (-before +after):\n%s", d)
	}
	// The pending action's entry moved with it: its use appends it.
	_, e, err := s.UseAuditedAction(ctx, pending.TokenHash, "/wallets?a=1", now)
	if err != nil {
		t.Fatalf("UseAuditedAction(pending before 0016): %v", err)
	}
	if e.Seq != 3 || !bytes.Equal(e.PrevHash, gotRecords[1].Entry.Hash) {
		t.Errorf("entry after 0016: seq %d, prev %x, want 3 after %x", e.Seq, e.PrevHash, gotRecords[1].Entry.Hash)
	}
	if _, err := s.UseAction(ctx, used.TokenHash, now); !errors.Is(err, auth.ErrUsed) {
		t.Errorf("UseAction(used before 0016) = %v, want ErrUsed", err)
	}
	if err := s.RecordOutcome(ctx, &audit.Outcome{EntryID: used.ID, Status: 500, Time: now}); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("RecordOutcome(again) = %v, want ErrDuplicate", err)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE audit_outcomes SET status = 500`); err == nil {
		t.Error("UPDATE audit_outcomes succeeded after 0016, want the append-only trigger")
	}
	// The sweep's delete of an action takes its entry with it.
	if _, err := s.Sweep(ctx, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var evidence int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM action_evidence WHERE action_id = ?`, short.ID).Scan(&evidence); err != nil || evidence != 0 {
		t.Errorf("evidence of a swept action: %d rows, %v; want the cascade", evidence, err)
	}
}

// TestMigration0017: a database with chains and their head rows, as signet
// wrote them before 0017, loses the audit_heads table and keeps every
// entry; the chains go on from their last entries and verify, and the
// uncheckpointed heads are those entries.
func TestMigration0017(t *testing.T) {
	old, path := openAt(t, 16)
	ctx := t.Context()
	o1 := seed(t, old).Org.ID
	o2 := seedSecondOrg(t, old)
	now := time.Now()
	for _, e := range []*audit.Entry{approvalEntry(o1, "uj-1"), approvalEntry(o2, "uj-b1"), approvalEntry(o1, "uj-2")} {
		if err := old.AppendAuditEntry(ctx, e, now); err != nil {
			t.Fatal(err)
		}
	}
	// The head rows the appends before 0017 moved.
	if _, err := old.write.ExecContext(ctx, `INSERT INTO audit_heads (org_id, seq, hash)
		SELECT org_id, seq, hash FROM audit_entries e WHERE seq = (SELECT max(seq) FROM audit_entries WHERE org_id = e.org_id)`); err != nil {
		t.Fatal(err)
	}
	s := upgrade(t, old, path)
	checkDropped(t, s, "audit_heads")
	for _, e := range []*audit.Entry{approvalEntry(o2, "uj-b2"), approvalEntry(o1, "uj-3")} {
		if err := s.AppendAuditEntry(ctx, e, now); err != nil {
			t.Fatal(err)
		}
	}
	verifyChain(t, s, o1, []string{"uj-1", "uj-2", "uj-3"})
	verifyChain(t, s, o2, []string{"uj-b1", "uj-b2"})
}

// openAt creates a database file whose schema stops at migration version,
// for a test to write what signet wrote then, and returns it with its path.
func openAt(t *testing.T, version int) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signet.db")
	old, err := Open(t.Context(), path, migrateUpTo(version))
	if err != nil {
		t.Fatal(err)
	}
	return old, path
}

// upgrade closes old and opens its file again with every migration, as a
// new signet does on an operator's database; the store is closed with t.
func upgrade(t *testing.T, old *Store, path string) *Store {
	t.Helper()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkDropped fails t unless the schema of s no longer has an object
// called name (a table or an index a migration dropped).
func checkDropped(t *testing.T, s *Store, name string) {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = ?`, name).Scan(&n); err != nil || n != 0 {
		t.Errorf("%s after its migration: %d, %v; want gone", name, n, err)
	}
}
