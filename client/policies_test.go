package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/signet-auth/signet/client"
)

// TestPolicies: a policy holds an assignment (Pending), a service account
// allowed to approve approves it through Decide, and the assignment then
// exists with the change request's id.
func TestPolicies(t *testing.T) {
	requireServed(t, "POST", "/v2/policies")
	ctx := context.Background()
	s := newSession(t, client.ES256)

	readers, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "readers", Operations: []string{"Orgs:Read"}})
	if err != nil {
		t.Fatal(err)
	}
	approvers, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "approvers",
		Operations: []string{"Policies:Approvals:Read", "Policies:Approvals:Approve"}})
	if err != nil {
		t.Fatal(err)
	}
	saKey, pub := keyPair(t, client.ES256)
	sa, err := s.c.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{Name: "approver", PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	saID := sa.UserInfo.UserID
	if _, err := s.c.CreateAssignment(ctx, approvers.ID, saID); err != nil {
		t.Fatal(err)
	}
	signer, _ := client.NewKeySigner(sa.AccessTokens[0].CredID, saKey)
	sc := s.anon.With(client.WithToken(sa.AccessTokens[0].AccessToken), client.WithSigner(signer))
	target, err := s.c.CreateUser(ctx, client.CreateUserRequest{Email: "target@example.com", Kind: client.CustomerEmployee})
	if err != nil {
		t.Fatal(err)
	}

	g := client.ApprovalGroup{Quorum: 1}
	g.Approvers.UserID = &client.IDList{In: []string{saID}}
	req := client.PolicyRequest{Name: "one robot", ActivityKind: "Permissions:Assign", Rule: client.PolicyRule{Kind: "AlwaysTrigger"},
		Action:  client.PolicyAction{Kind: "RequestApproval", ApprovalGroups: []client.ApprovalGroup{g}},
		Filters: &client.PolicyFilters{PermissionID: &client.IDList{In: []string{readers.ID}}}}
	pol, err := s.c.CreatePolicy(ctx, req)
	if err != nil || pol.Status != "Active" {
		t.Fatalf("CreatePolicy: %v %+v", err, pol)
	}
	if got, err := s.c.GetPolicy(ctx, pol.ID); err != nil || got.Name != "one robot" {
		t.Errorf("GetPolicy: %v %+v", err, got)
	}

	_, err = s.c.CreateAssignment(ctx, readers.ID, target.UserID)
	cr, ok := client.Pending(err)
	if !ok || cr.Status != "Pending" || cr.ApprovalID == "" {
		t.Fatalf("held assignment: %v %+v", err, cr)
	}
	// Service accounts count only where the group allows it.
	_, err = sc.Decide(ctx, cr.ApprovalID, true, "")
	wantStatus(t, err, http.StatusForbidden)
	g.ServiceAccountsCanApprove = true
	req.Action.ApprovalGroups = []client.ApprovalGroup{g}
	if _, err := s.c.UpdatePolicy(ctx, pol.ID, req); err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	// The approval keeps the groups it was made with: a new request.
	_, err = s.c.CreateAssignment(ctx, readers.ID, target.UserID)
	cr, ok = client.Pending(err)
	if !ok {
		t.Fatalf("held assignment: %v", err)
	}
	pending, err := sc.ListApprovals(ctx, client.ListApprovalsRequest{Status: "Pending"})
	if err != nil || len(pending.Items) != 2 {
		t.Fatalf("ListApprovals: %v %+v", err, pending)
	}
	a, err := sc.Decide(ctx, cr.ApprovalID, true, "looks right")
	if err != nil || a.Status != "Approved" || a.Activity.ChangeRequest.Status != "Applied" {
		t.Fatalf("Decide: %v %+v", err, a)
	}
	asgs, err := s.c.ListAssignments(ctx, readers.ID, client.ListRequest{})
	if err != nil || len(asgs.Items) != 1 || asgs.Items[0].ID != cr.EntityID {
		t.Fatalf("assignments: %v %+v", err, asgs)
	}
	if got, err := s.c.GetApproval(ctx, cr.ApprovalID); err != nil || len(got.Decisions) != 1 || got.Decisions[0].UserID != saID {
		t.Errorf("GetApproval: %v %+v", err, got)
	}
	if p, err := s.c.ArchivePolicy(ctx, pol.ID); err != nil || p.Status != "Archived" {
		t.Errorf("ArchivePolicy: %v %+v", err, p)
	}
	if l, err := s.c.ListPolicies(ctx, "Active", client.ListRequest{}); err != nil || len(l.Items) != 0 {
		t.Errorf("ListPolicies: %v %+v", err, l)
	}
}
