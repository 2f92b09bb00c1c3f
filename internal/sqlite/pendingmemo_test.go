package sqlite

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-auth/signet/internal/audit"
)

// TestPendingMemo: what a signed request appends is its action's pending
// entry as the row holds it, whether the use takes the entry the store
// kept at completion or decodes the row: for an ordinary entry (kept,
// taken, forgotten), for one with invalid UTF-8 (which the JSON in the row
// holds as U+FFFD: not kept), and when what is kept for the action is not
// what its row holds (the row wins). Each appended entry reads back from
// the log as it was returned, and the chain verifies.
func TestPendingMemo(t *testing.T) {
	s := open(t)
	org := seed(t, s)
	ctx := t.Context()
	flow := func(name string, edit func(e *audit.Entry)) (*audit.Entry, *audit.Entry) {
		t.Helper()
		now := time.Now()
		tok := make([]byte, 32)
		rand.Read(tok)
		a, e := fakeSigned(org, benchID(true), tok, now, 5*time.Minute, "ES256", 200, 72)
		if edit != nil {
			edit(e)
		}
		if err := s.CreateActionForChallenge(ctx, "ch-"+a.ID, now.Add(5*time.Minute), a, e); err != nil {
			t.Fatal(name, err)
		}
		// What the row holds, decoded as a use without the memo decodes it.
		var want audit.Entry
		if blob, err := json.Marshal(e); err != nil {
			t.Fatal(name, err)
		} else if err := json.Unmarshal(blob, &want); err != nil {
			t.Fatal(name, err)
		}
		return &want, e
	}
	use := func(name string, want *audit.Entry) {
		t.Helper()
		_, got, err := s.UseAuditedAction(ctx, want.ActionTokenHash, "/wallets", time.Now())
		if err != nil {
			t.Fatal(name, err)
		}
		want.Target = "/wallets"
		audit.Seal(want, &audit.Head{Seq: got.Seq - 1, Hash: got.PrevHash}, got.Time)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: appended entry (-the row's +appended):\n%s", name, d)
		}
		rec, err := s.AuditRecord(ctx, org.Org.ID, got.ID)
		if err != nil {
			t.Fatal(name, err)
		}
		if d := cmp.Diff(got, rec.Entry); d != "" {
			t.Errorf("%s: entry in the log (-returned +read back):\n%s", name, d)
		}
		if s.pending.Len() != 0 {
			t.Errorf("%s: %d entries kept after the use, want none", name, s.pending.Len())
		}
	}

	want, _ := flow("ordinary", nil)
	if s.pending.Len() != 1 {
		t.Errorf("ordinary: %d entries kept after completion, want 1", s.pending.Len())
	}
	use("ordinary", want)

	want, _ = flow("invalid UTF-8", func(e *audit.Entry) { e.Username = "ad\xffmin" })
	if want.Username != "ad\uFFFDmin" {
		t.Fatalf("the row holds username %q", want.Username)
	}
	if s.pending.Len() != 0 {
		t.Errorf("invalid UTF-8: %d entries kept, want none", s.pending.Len())
	}
	use("invalid UTF-8", want)

	want, e := flow("kept differs", nil)
	other := *e
	other.Username = "someone@else.example"
	blob, err := json.Marshal(&other)
	if err != nil {
		t.Fatal(err)
	}
	s.pending.Put(e.ID, &pendingMemo{blob: blob, e: other})
	use("kept differs", want)

	checkChain(t, s, org.Org.ID, 3, "after the uses")
}

// checkChain reads org's audit records from s, wants n of them, and
// verifies their chain; the tests' fake assertions do not verify, so only
// problems of the chain itself count. what names the state checked.
func checkChain(t *testing.T, s *Store, org string, n int, what string) {
	t.Helper()
	recs, err := s.AuditRecords(t.Context(), org, 0, 0)
	if err != nil || len(recs) != n {
		t.Fatalf("AuditRecords %s = %d, %v; want %d", what, len(recs), err, n)
	}
	x := &audit.Export{Format: audit.Format, OrgID: org}
	for _, r := range recs {
		x.Entries = append(x.Entries, r.Entry)
	}
	for _, p := range audit.Verify(x, nil).Problems {
		if !strings.Contains(p.Why, "assertion") {
			t.Errorf("chain %s: %s", what, p)
		}
	}
}
