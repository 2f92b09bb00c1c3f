package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
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
	spent.UsedAt = &now
	writeOldAction(t, old, spent, nil)
	spent.UsedAt = nil
	for _, a := range []*auth.Action{used, pending, short} {
		writeOldAction(t, old, a, entry(a))
	}
	useOldAction(t, old, used, entry(used), "/wallets?a=1", now)
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
	// The sweep's delete of an action takes its entry with it (since 0019
	// a column of its row).
	if _, err := s.Sweep(ctx, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Action(ctx, org.Org.ID, short.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("swept action: %v, want ErrNotFound", err)
	}
}

// writeOldAction writes a, with its pending entry unless e is nil, as a
// schema before 0019 held them: the entry's JSON in action_evidence.
func writeOldAction(t *testing.T, s *Store, a *auth.Action, e *audit.Entry) {
	t.Helper()
	err := s.tx(t.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO actions
			(id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query, payload_hash,
			 expires_at, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TokenHash, a.OrgID, a.UserID, a.TokenID, a.CredentialUUID, a.Method, a.Path, a.Query,
			a.PayloadHash, millis(a.ExpiresAt), millis(a.CreatedAt), nullMillis(a.UsedAt)); err != nil || e == nil {
			return err
		}
		blob, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(t.Context(), `INSERT INTO action_evidence (action_id, entry) VALUES (?, ?)`, a.ID, string(blob))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// useOldAction spends a written by writeOldAction at now and appends its
// entry e with target, as UseAuditedAction did before 0019.
func useOldAction(t *testing.T, s *Store, a *auth.Action, e *audit.Entry, target string, now time.Time) {
	t.Helper()
	err := s.tx(t.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(t.Context(), `UPDATE actions SET used_at = ? WHERE id = ?`, millis(now), a.ID); err != nil {
			return err
		}
		return s.sealAndAppend(t.Context(), tx, e, target, now)
	})
	if err != nil {
		t.Fatal(err)
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

// TestMigration0019: a database at 0018 holding actions with their pending
// entries in action_evidence, as signet wrote them before 0019, moves each
// entry into its action's row and drops the table: a pending action's use
// appends exactly the entry written at its completion, an action that had
// none is still refused by an audited use and left unspent, a used one
// stays used, and every action reads back unchanged.
func TestMigration0019(t *testing.T) {
	old, path := openAt(t, 18)
	org := seed(t, old)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	action := func(id string) *auth.Action {
		return &auth.Action{ID: id, TokenHash: []byte("th-" + id), OrgID: org.Org.ID, UserID: org.User.ID, TokenID: "to-1",
			CredentialUUID: "cr-1", Method: "POST", Path: "/wallets", Query: "a=1", PayloadHash: []byte{1, 2},
			ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	}
	entry := func(a *auth.Action, kind string) *audit.Entry {
		return &audit.Entry{ID: a.ID, OrgID: a.OrgID, UserID: a.UserID, Username: "admin@example.com", TokenID: a.TokenID,
			TokenKind: "Token", CredentialUUID: a.CredentialUUID, CredID: "cid-" + a.ID, CredentialKind: kind,
			PublicKey: "pem-" + a.ID, RPID: "rp.example", Method: a.Method, Path: a.Path, Query: a.Query,
			PayloadHash: a.PayloadHash, ActionTokenHash: a.TokenHash, Challenge: "ch-" + a.ID, ClientData: "cd-" + a.ID,
			AuthenticatorData: "ad-" + a.ID, Signature: "sig-" + a.ID, UserHandle: "uh", Algorithm: "ES256"}
	}
	used, bare := action("uj-1"), action("uj-2")
	pending := []*auth.Action{action("uj-3"), action("uj-4")}
	writeOldAction(t, old, used, entry(used, "Key"))
	useOldAction(t, old, used, entry(used, "Key"), "/wallets?a=1", now)
	writeOldAction(t, old, bare, nil)
	for i, a := range pending {
		writeOldAction(t, old, a, entry(a, []string{"Key", "Fido2"}[i]))
	}
	want := map[string]*auth.Action{}
	for _, a := range append([]*auth.Action{used, bare}, pending...) {
		got, err := old.Action(ctx, org.Org.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want[a.ID] = got
	}

	s := upgrade(t, old, path)
	checkDropped(t, s, "action_evidence")
	var fkErrors int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkErrors); err != nil || fkErrors != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fkErrors, err)
	}
	for id, w := range want {
		got, err := s.Action(ctx, org.Org.ID, id)
		if err != nil {
			t.Fatal(id, err)
		}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("action %s after 0019 (-before +after):\n%s", id, d)
		}
	}
	for i, a := range pending {
		_, e, err := s.UseAuditedAction(ctx, a.TokenHash, "/wallets?a=1", now)
		if err != nil {
			t.Fatalf("UseAuditedAction(%s, pending before 0019): %v", a.ID, err)
		}
		w := entry(a, []string{"Key", "Fido2"}[i])
		w.Target = "/wallets?a=1"
		audit.Seal(w, &audit.Head{Seq: e.Seq - 1, Hash: e.PrevHash}, now)
		if d := cmp.Diff(w, e); d != "" || e.Seq != int64(i+2) {
			t.Errorf("entry of %s after 0019 at seq %d (-written +appended):\n%s", a.ID, e.Seq, d)
		}
	}
	if _, _, err := s.UseAuditedAction(ctx, bare.TokenHash, "/wallets?a=1", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseAuditedAction(no entry before 0019) = %v, want ErrNotFound", err)
	}
	if _, err := s.UseAction(ctx, bare.TokenHash, now); err != nil {
		t.Errorf("UseAction(no entry before 0019, after the refused audited use) = %v, want it unspent", err)
	}
	if _, _, err := s.UseAuditedAction(ctx, used.TokenHash, "/wallets?a=1", now); !errors.Is(err, auth.ErrUsed) {
		t.Errorf("UseAuditedAction(used before 0019) = %v, want ErrUsed", err)
	}
	checkChain(t, s, org.Org.ID, 3, "after 0019")
}
