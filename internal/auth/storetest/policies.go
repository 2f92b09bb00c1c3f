package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// Policies, approvals and decisions (auth.PolicyStore, docs/policies.md).

func newPolicy(orgID, id, kind string) *auth.Policy {
	timeout := 60
	return &auth.Policy{
		ID: id, OrgID: orgID, Name: "policy " + id, ActivityKind: kind, Status: auth.PolicyActive,
		Rule: auth.PolicyRule{Kind: auth.RuleAlwaysTrigger},
		Action: auth.PolicyAction{Kind: auth.ActionRequestApproval, AutoRejectTimeout: &timeout,
			ApprovalGroups: []auth.ApprovalGroup{{Name: "g", Quorum: 2,
				Approvers: auth.Approvers{UserID: &auth.IDFilter{In: []string{"us-a", "us-b", "us-c"}}}, InitiatorCanApprove: true}}},
		Filters:   &auth.PolicyFilters{PermissionID: &auth.IDFilter{In: []string{"pm-x"}}},
		CreatedAt: at(0), UpdatedAt: at(time.Millisecond),
	}
}

func newApproval(orgID, id string, expires *time.Time) *auth.Approval {
	return &auth.Approval{
		ID: id, OrgID: orgID, InitiatorID: "us-init", Status: auth.ApprovalPending, ExpiresAt: expires,
		Data: auth.ApprovalData{ActivityKind: auth.ActivityPermissionsAssign,
			Change:    auth.ChangeRequest{ID: "cr-1", Requester: auth.Requester{UserID: "us-init"}, EntityID: "as-1", Kind: "Assignment", OperationKind: "Create", Body: []byte(`{"id":"as-1"}`)},
			Operation: auth.PendingOp{Op: "assign", PermissionID: "pm-x", IdentityID: "us-b", AssignmentID: "as-1"},
			Groups:    []auth.ApprovalGroup{{Quorum: 1}}, PolicyIDs: []string{"po-1"}, InitiatorTokenID: "to-1"},
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func testPolicies(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustOrg(t, s, "pol")
	other := mustOrg(t, s, "pol2")
	p := newPolicy(o.Org.ID, "po-1", auth.ActivityPermissionsAssign)
	check(t, "CreatePolicy", s.CreatePolicy(ctx, p), nil)
	check(t, "CreatePolicy unknown org", s.CreatePolicy(ctx, newPolicy("or-none", "po-9", auth.ActivityPermissionsAssign)), auth.ErrNotFound)
	check(t, "CreatePolicy dup id", s.CreatePolicy(ctx, newPolicy(o.Org.ID, "po-1", auth.ActivityPermissionsAssign)), auth.ErrDuplicate)
	got, err := s.Policy(ctx, o.Org.ID, "po-1")
	check(t, "Policy", err, nil)
	diff(t, "Policy", got, p)
	inUTC(t, "CreatedAt", got.CreatedAt)
	_, err = s.Policy(ctx, other.Org.ID, "po-1")
	check(t, "Policy of another org", err, auth.ErrNotFound)

	p2 := newPolicy(o.Org.ID, "po-2", auth.ActivityPoliciesModify)
	p2.Filters = nil
	p2.Action = auth.PolicyAction{Kind: auth.ActionBlock}
	check(t, "CreatePolicy 2", s.CreatePolicy(ctx, p2), nil)
	ps, err := s.ActivePolicies(ctx, o.Org.ID, auth.ActivityPermissionsAssign)
	check(t, "ActivePolicies", err, nil)
	diff(t, "ActivePolicies", ps, []*auth.Policy{p})
	ps, err = s.ActivePolicies(ctx, other.Org.ID, auth.ActivityPermissionsAssign)
	check(t, "ActivePolicies other org", err, nil)
	diff(t, "ActivePolicies other org", len(ps), 0)

	p.Status, p.Name, p.UpdatedAt = auth.PolicyArchived, "renamed", at(time.Second)
	check(t, "UpdatePolicy", s.UpdatePolicy(ctx, p), nil)
	got, _ = s.Policy(ctx, o.Org.ID, "po-1")
	diff(t, "updated", got, p)
	ps, _ = s.ActivePolicies(ctx, o.Org.ID, auth.ActivityPermissionsAssign)
	diff(t, "ActivePolicies after archive", len(ps), 0)
	wrong := *p
	wrong.OrgID = other.Org.ID
	check(t, "UpdatePolicy other org", s.UpdatePolicy(ctx, &wrong), auth.ErrNotFound)

	ps, err = s.ListPolicies(ctx, o.Org.ID, auth.PolicyQuery{Limit: 10})
	check(t, "ListPolicies", err, nil)
	diff(t, "ListPolicies", ps, []*auth.Policy{p, p2})
	ps, _ = s.ListPolicies(ctx, o.Org.ID, auth.PolicyQuery{Status: auth.PolicyActive, Limit: 10})
	diff(t, "ListPolicies Active", ps, []*auth.Policy{p2})
	ps, _ = s.ListPolicies(ctx, o.Org.ID, auth.PolicyQuery{After: "po-1", Limit: 1})
	diff(t, "ListPolicies page", ps, []*auth.Policy{p2})
}

func testApprovals(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustOrg(t, s, "apr")
	other := mustOrg(t, s, "apr2")
	exp := at(time.Hour)
	a := newApproval(o.Org.ID, "ap-1", &exp)
	check(t, "CreateApproval", s.CreateApproval(ctx, a), nil)
	check(t, "CreateApproval 2", s.CreateApproval(ctx, newApproval(o.Org.ID, "ap-2", nil)), nil)
	got, err := s.Approval(ctx, o.Org.ID, "ap-1")
	check(t, "Approval", err, nil)
	diff(t, "Approval", got, a)
	_, err = s.Approval(ctx, other.Org.ID, "ap-1")
	check(t, "Approval of another org", err, auth.ErrNotFound)

	d1 := &auth.Decision{ApprovalID: "ap-1", OrgID: o.Org.ID, UserID: "us-a", Value: auth.DecisionApproved, Reason: "ok", CreatedAt: at(time.Minute)}
	check(t, "AddDecision", s.AddDecision(ctx, d1), nil)
	check(t, "AddDecision twice", s.AddDecision(ctx, &auth.Decision{ApprovalID: "ap-1", OrgID: o.Org.ID, UserID: "us-a",
		Value: auth.DecisionDenied, CreatedAt: at(2 * time.Minute)}), auth.ErrDuplicate)
	check(t, "AddDecision other org", s.AddDecision(ctx, &auth.Decision{ApprovalID: "ap-1", OrgID: other.Org.ID, UserID: "us-z",
		Value: auth.DecisionApproved, CreatedAt: at(2 * time.Minute)}), auth.ErrNotFound)
	d2 := &auth.Decision{ApprovalID: "ap-1", OrgID: o.Org.ID, UserID: "us-sa", ServiceAccount: true, Value: auth.DecisionDenied, CreatedAt: at(2 * time.Minute)}
	check(t, "AddDecision 2", s.AddDecision(ctx, d2), nil)
	got, _ = s.Approval(ctx, o.Org.ID, "ap-1")
	diff(t, "decisions", got.Decisions, []auth.Decision{*d1, *d2})

	as, err := s.ListApprovals(ctx, o.Org.ID, auth.ApprovalQuery{Limit: 10})
	check(t, "ListApprovals", err, nil)
	diff(t, "ListApprovals", len(as), 2)
	as, _ = s.ListApprovals(ctx, o.Org.ID, auth.ApprovalQuery{InitiatorID: "us-other", Limit: 10})
	diff(t, "ListApprovals by initiator", len(as), 0)
	as, _ = s.ListApprovals(ctx, other.Org.ID, auth.ApprovalQuery{Limit: 10})
	diff(t, "ListApprovals other org", len(as), 0)

	due, err := s.DueApprovals(ctx, at(30*time.Minute), 10)
	check(t, "DueApprovals early", err, nil)
	diff(t, "DueApprovals early", len(due), 0)
	due, _ = s.DueApprovals(ctx, at(time.Hour), 10)
	diff(t, "DueApprovals", len(due), 1)

	check(t, "ResolveApproval other org", s.ResolveApproval(ctx, other.Org.ID, "ap-1", auth.ApprovalApproved, at(time.Hour)), auth.ErrNotFound)
	check(t, "ResolveApproval", s.ResolveApproval(ctx, o.Org.ID, "ap-1", auth.ApprovalApproved, at(time.Hour)), nil)
	check(t, "ResolveApproval twice", s.ResolveApproval(ctx, o.Org.ID, "ap-1", auth.ApprovalDenied, at(time.Hour)), auth.ErrUsed)
	check(t, "AddDecision resolved", s.AddDecision(ctx, &auth.Decision{ApprovalID: "ap-1", OrgID: o.Org.ID, UserID: "us-c",
		Value: auth.DecisionApproved, CreatedAt: at(time.Hour)}), auth.ErrUsed)
	check(t, "SetApprovalOutcome", s.SetApprovalOutcome(ctx, o.Org.ID, "ap-1", auth.ApprovalResult{Outcome: auth.OutcomeApplied}, at(time.Hour)), nil)
	got, _ = s.Approval(ctx, o.Org.ID, "ap-1")
	if got.Status != auth.ApprovalApproved || got.Outcome != auth.OutcomeApplied || got.ResolvedAt == nil || !got.ResolvedAt.Equal(at(time.Hour)) {
		t.Errorf("resolved approval = %+v", got)
	}
	due, _ = s.DueApprovals(ctx, at(2*time.Hour), 10)
	diff(t, "DueApprovals after resolve", len(due), 0)
	as, _ = s.ListApprovals(ctx, o.Org.ID, auth.ApprovalQuery{Status: auth.ApprovalPending, Limit: 10})
	if len(as) != 1 || as[0].ID != "ap-2" {
		t.Errorf("pending approvals = %v", as)
	}
}

// testResolveApprovalConcurrent: of many concurrent resolutions of one
// approval (replicas racing on the decisive decision) exactly one wins.
func testResolveApprovalConcurrent(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustOrg(t, s, "race")
	check(t, "CreateApproval", s.CreateApproval(ctx, newApproval(o.Org.ID, "ap-r", nil)), nil)
	errs := concurrently(8, func(i int) error {
		st := auth.ApprovalApproved
		if i%2 == 1 {
			st = auth.ApprovalDenied
		}
		return s.ResolveApproval(ctx, o.Org.ID, "ap-r", st, at(time.Minute))
	})
	tally(t, errs, auth.ErrUsed)
	errs = concurrently(8, func(i int) error {
		return s.AddDecision(ctx, &auth.Decision{ApprovalID: "ap-r", OrgID: o.Org.ID, UserID: "us-same", Value: auth.DecisionApproved, CreatedAt: at(time.Minute)})
	})
	for _, err := range errs {
		check(t, "AddDecision after resolve", err, auth.ErrUsed)
	}
	check(t, "CreateApproval 2", s.CreateApproval(ctx, newApproval(o.Org.ID, "ap-s", nil)), nil)
	errs = concurrently(8, func(i int) error {
		return s.AddDecision(ctx, &auth.Decision{ApprovalID: "ap-s", OrgID: o.Org.ID, UserID: "us-same", Value: auth.DecisionApproved, CreatedAt: at(time.Minute)})
	})
	tally(t, errs, auth.ErrDuplicate)
}

// testUnfinishedApprovals: approvals resolved Approved without an outcome
// (their replica stopped) are found once their lease passed; of concurrent
// claims (replicas' maintenance loops) exactly one wins and renews the
// lease; an outcome, with its reason and upstream status, is recorded once.
func testUnfinishedApprovals(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustOrg(t, s, "unf")
	other := mustOrg(t, s, "unf2")
	for _, id := range []string{"ap-u", "ap-done", "ap-pending"} {
		check(t, "CreateApproval "+id, s.CreateApproval(ctx, newApproval(o.Org.ID, id, nil)), nil)
	}
	check(t, "ResolveApproval", s.ResolveApproval(ctx, o.Org.ID, "ap-u", auth.ApprovalApproved, at(time.Minute)), nil)
	check(t, "ResolveApproval done", s.ResolveApproval(ctx, o.Org.ID, "ap-done", auth.ApprovalApproved, at(time.Minute)), nil)
	check(t, "SetApprovalOutcome done", s.SetApprovalOutcome(ctx, o.Org.ID, "ap-done",
		auth.ApprovalResult{Outcome: auth.OutcomeApplied, UpstreamStatus: 201}, at(time.Minute)), nil)

	list, err := s.UnfinishedApprovals(ctx, at(30*time.Second), 10)
	check(t, "UnfinishedApprovals within the lease", err, nil)
	diff(t, "UnfinishedApprovals within the lease", len(list), 0)
	list, _ = s.UnfinishedApprovals(ctx, at(2*time.Minute), 10)
	if len(list) != 1 || list[0].ID != "ap-u" {
		t.Fatalf("UnfinishedApprovals = %v, want ap-u alone", list)
	}
	check(t, "Claim too early", s.ClaimUnfinishedApproval(ctx, o.Org.ID, "ap-u", at(30*time.Second), at(2*time.Minute)), auth.ErrUsed)
	check(t, "Claim other org", s.ClaimUnfinishedApproval(ctx, other.Org.ID, "ap-u", at(2*time.Minute), at(3*time.Minute)), auth.ErrNotFound)
	check(t, "Claim pending", s.ClaimUnfinishedApproval(ctx, o.Org.ID, "ap-pending", at(2*time.Minute), at(3*time.Minute)), auth.ErrUsed)
	check(t, "Claim finished", s.ClaimUnfinishedApproval(ctx, o.Org.ID, "ap-done", at(2*time.Minute), at(3*time.Minute)), auth.ErrUsed)
	tally(t, concurrently(8, func(int) error {
		return s.ClaimUnfinishedApproval(ctx, o.Org.ID, "ap-u", at(2*time.Minute), at(3*time.Minute))
	}), auth.ErrUsed)
	list, _ = s.UnfinishedApprovals(ctx, at(2*time.Minute), 10)
	diff(t, "UnfinishedApprovals after a claim", len(list), 0) // the lease is renewed
	list, _ = s.UnfinishedApprovals(ctx, at(3*time.Minute), 10)
	diff(t, "UnfinishedApprovals after the claim's lease", len(list), 1)

	r := auth.ApprovalResult{Outcome: auth.OutcomeFailed, Reason: "interrupted", UpstreamStatus: 502}
	check(t, "SetApprovalOutcome other org", s.SetApprovalOutcome(ctx, other.Org.ID, "ap-u", r, at(4*time.Minute)), auth.ErrNotFound)
	check(t, "SetApprovalOutcome", s.SetApprovalOutcome(ctx, o.Org.ID, "ap-u", r, at(4*time.Minute)), nil)
	check(t, "SetApprovalOutcome twice", s.SetApprovalOutcome(ctx, o.Org.ID, "ap-u",
		auth.ApprovalResult{Outcome: auth.OutcomeApplied}, at(4*time.Minute)), auth.ErrUsed)
	got, err := s.Approval(ctx, o.Org.ID, "ap-u")
	check(t, "Approval", err, nil)
	if got.Outcome != r.Outcome || got.Reason != r.Reason || got.UpstreamStatus != r.UpstreamStatus {
		t.Errorf("approval result = %q %q %d, want %+v", got.Outcome, got.Reason, got.UpstreamStatus, r)
	}
	done, _ := s.Approval(ctx, o.Org.ID, "ap-done")
	diff(t, "upstream status", done.UpstreamStatus, 201)
	list, _ = s.UnfinishedApprovals(ctx, at(time.Hour), 10)
	diff(t, "UnfinishedApprovals after the outcome", len(list), 0)
}

// testAppendAuditEntry: entries signet makes itself join the org's chain
// after its head, with their kind and detail kept and hashed.
func testAppendAuditEntry(t *testing.T, s auth.Store) {
	ctx := t.Context()
	o := mustOrg(t, s, "aud")
	for i, id := range []string{"uj-a1", "uj-a2"} {
		e := &audit.Entry{ID: id, OrgID: o.Org.ID, UserID: "us-x", Path: "/v2/policy-approvals/ap-1",
			Kind: audit.KindApproval, Detail: `{"status":"Denied"}`}
		check(t, "AppendAuditEntry", s.AppendAuditEntry(ctx, e, at(time.Duration(i)*time.Second)), nil)
		if e.Seq != int64(i+1) {
			t.Errorf("entry %s sealed at seq %d", id, e.Seq)
		}
	}
	recs, err := s.AuditRecords(ctx, o.Org.ID, 0, 10)
	check(t, "AuditRecords", err, nil)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	prev := audit.Genesis
	for _, r := range recs {
		e := r.Entry
		if e.Kind != audit.KindApproval || e.Detail != `{"status":"Denied"}` || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.ComputeHash(), e.Hash) {
			t.Errorf("record %+v", e)
		}
		prev = e.Hash
	}
}
