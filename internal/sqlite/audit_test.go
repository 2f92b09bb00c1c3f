package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// approvalEntry is an entry signet makes itself (no assertion), so that
// audit.Verify checks its hash and place in the chain only.
func approvalEntry(orgID, id string) *audit.Entry {
	return &audit.Entry{ID: id, OrgID: orgID, UserID: "us-1", Username: "admin@example.com",
		Method: "POST", Path: "/wallets", Target: "/wallets", Kind: audit.KindApproval, Detail: id}
}

// verifyChain reads orgID's chain back as an export does and checks it
// with the offline verifier (signet audit verify): seq 1, 2, …, each entry
// linked to the previous one's hash, each hash matching its content, and
// the entries are wantIDs in that order. It also checks that the org's head
// (UncheckpointedHeads) is its last entry.
func verifyChain(t *testing.T, s *Store, orgID string, wantIDs []string) {
	t.Helper()
	recs, err := s.AuditRecords(t.Context(), orgID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	x := &audit.Export{Format: audit.Format, OrgID: orgID}
	var ids []string
	for _, r := range recs {
		x.Entries = append(x.Entries, r.Entry)
		ids = append(ids, r.Entry.ID)
	}
	if r := audit.Verify(x, nil); !r.OK() {
		t.Errorf("%s: chain does not verify: %d problems, the first: %v", orgID, len(r.Problems), r.Problems[0])
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("%s: chain = %v, want %v", orgID, ids, wantIDs)
	}
	heads, err := s.UncheckpointedHeads(t.Context(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	last := x.Entries[len(x.Entries)-1]
	if len(heads) != 1 || heads[0].OrgID != orgID || heads[0].Seq != last.Seq || string(heads[0].Hash) != string(last.Hash) {
		t.Errorf("%s: UncheckpointedHeads = %+v, want seq %d (the last entry)", orgID, heads, last.Seq)
	}
}

func seedSecondOrg(t *testing.T, s *Store) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateOrg(t.Context(), auth.NewOrg{
		Org:        auth.Org{ID: "or-2", Name: "two", CreatedAt: now},
		User:       auth.User{ID: "us-2", OrgID: "or-2", Username: "b@example.com", Kind: auth.CustomerEmployee, IsActive: true, IsRegistered: true, CreatedAt: now},
		Permission: auth.Permission{ID: "pm-2", OrgID: "or-2", Name: "admin", CreatedAt: now, UpdatedAt: now},
		Assignment: auth.Assignment{ID: "as-2", OrgID: "or-2", PermissionID: "pm-2", IdentityID: "us-2", CreatedAt: now, UpdatedAt: now},
		Code:       auth.RegistrationCode{UserID: "us-2", Hash: []byte("h2"), ExpiresAt: now.Add(time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	return "or-2"
}

// orderedBatch runs works in one group-commit batch, in the order given
// (batchOf queues them from goroutines in any order), and returns their
// errors.
func orderedBatch(t *testing.T, s *Store, works []func(ctx context.Context, tx *sql.Tx) error) []error {
	t.Helper()
	release, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.group(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
			close(held)
			<-release
			return nil
		}); err != nil {
			t.Errorf("holding work: %v", err)
		}
	})
	<-held
	errs := make([]error, len(works))
	for i, w := range works {
		wg.Go(func() { errs[i] = s.group(t.Context(), w) })
		// The committer's queue is a channel: wait until this work is in
		// it before queueing the next.
		for deadline := time.Now().Add(10 * time.Second); len(s.gc.reqs) < i+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("work %d not queued", i)
			}
		}
	}
	before := s.gc.commits.Load()
	close(release)
	wg.Wait()
	if got := s.gc.commits.Load() - before; got > 2 {
		t.Errorf("%d commits for one held work and one batch, want at most 2", got)
	}
	return errs
}

// TestAuditAppendAcrossRollback: in one group-commit batch, works that
// append to two orgs' chains interleave, and some fail after their append
// (rolled back to their savepoint: their entry goes with them). The
// appends after a failed one chain onto the entry before it, and both
// chains verify. The head is whatever the transaction sees; a head taken
// from anywhere else (committed state, a copy in memory moved before the
// commit) would give two works one seq, or chain onto a rolled-back entry.
func TestAuditAppendAcrossRollback(t *testing.T) {
	s := open(t)
	o1 := seed(t, s).Org.ID
	o2 := seedSecondOrg(t, s)
	now := time.Now()
	// A committed entry first, so the batch starts from a head that is not
	// the genesis.
	if err := s.AppendAuditEntry(t.Context(), approvalEntry(o1, "uj-0"), now); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	appendWork := func(orgID, id string, fail bool) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			if err := s.sealAndAppend(ctx, tx, approvalEntry(orgID, id), "/wallets", now); err != nil {
				return err
			}
			if fail {
				return boom // the caller's work fails after its append
			}
			return nil
		}
	}
	works := []func(ctx context.Context, tx *sql.Tx) error{
		appendWork(o1, "uj-1", false),
		appendWork(o1, "uj-x1", true),
		appendWork(o2, "uj-b1", false),
		appendWork(o1, "uj-2", false),
		appendWork(o2, "uj-bx", true),
		appendWork(o2, "uj-b2", false),
		appendWork(o1, "uj-x2", true),
		appendWork(o1, "uj-x3", true),
		appendWork(o1, "uj-3", false),
	}
	errs := orderedBatch(t, s, works)
	for i, err := range errs {
		want := error(nil)
		if i == 1 || i == 4 || i == 6 || i == 7 {
			want = boom
		}
		if !errors.Is(err, want) {
			t.Errorf("work %d: error %v, want %v", i, err, want)
		}
	}
	verifyChain(t, s, o1, []string{"uj-0", "uj-1", "uj-2", "uj-3"})
	verifyChain(t, s, o2, []string{"uj-b1", "uj-b2"})

	// The chains go on after the batch from the heads it committed.
	for _, e := range []*audit.Entry{approvalEntry(o2, "uj-b3"), approvalEntry(o1, "uj-4")} {
		if err := s.AppendAuditEntry(t.Context(), e, now); err != nil {
			t.Fatal(err)
		}
	}
	verifyChain(t, s, o1, []string{"uj-0", "uj-1", "uj-2", "uj-3", "uj-4"})
	verifyChain(t, s, o2, []string{"uj-b1", "uj-b2", "uj-b3"})
}

// TestAuditAppendTwoOrgsConcurrently: appends of two orgs from many
// goroutines (alone or folded into batches, as they come) give each org
// one unbroken chain of its own entries, and each org's head is its own
// last entry.
func TestAuditAppendTwoOrgsConcurrently(t *testing.T) {
	s := open(t)
	orgs := []string{seed(t, s).Org.ID, seedSecondOrg(t, s)}
	const perOrg = 40
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < 2*perOrg; i += 8 {
				orgID := orgs[i%2]
				if err := s.AppendAuditEntry(t.Context(), approvalEntry(orgID, fmt.Sprintf("uj-%s-%02d", orgID, i)), time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for k, orgID := range orgs {
		recs, err := s.AuditRecords(t.Context(), orgID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.Entry.ID)
		}
		if len(ids) != perOrg {
			t.Errorf("%s: %d entries, want %d", orgID, len(ids), perOrg)
		}
		for _, id := range ids {
			var i int
			if _, err := fmt.Sscanf(id, "uj-"+orgID+"-%d", &i); err != nil || i%2 != k {
				t.Errorf("%s: entry %s is not this org's", orgID, id)
			}
		}
		verifyChain(t, s, orgID, ids) // the order appended, whatever it was
	}
}

// TestAuditAppendTwoStoresOneFile: two stores on one file (two processes,
// or the CLI beside the server) take turns appending to one org's chain,
// one after the other and then concurrently: every append chains onto the
// entry the other store appended last, so the chain holds them all and
// verifies. A head remembered by a store past its own transaction would
// give two entries one seq.
func TestAuditAppendTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	orgID := seed(t, stores[0]).Org.ID
	var want []string
	for i := range 6 {
		id := fmt.Sprintf("uj-s%02d", i)
		if err := stores[i%2].AppendAuditEntry(t.Context(), approvalEntry(orgID, id), time.Now()); err != nil {
			t.Fatalf("append %d through store %d: %v", i, i%2, err)
		}
		want = append(want, id)
	}
	verifyChain(t, stores[1], orgID, want)

	const n = 40
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				if err := stores[i%2].AppendAuditEntry(t.Context(), approvalEntry(orgID, fmt.Sprintf("uj-c%02d", i)), time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	recs, err := stores[0].AuditRecords(t.Context(), orgID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Entry.ID
	}
	if len(ids) != len(want)+n {
		t.Fatalf("%d entries, want %d", len(ids), len(want)+n)
	}
	verifyChain(t, stores[0], orgID, ids)
}
