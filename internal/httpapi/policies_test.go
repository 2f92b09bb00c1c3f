package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// approverOps are what an approver holds in these tests.
var approverOps = []string{"Policies:Approvals:Read", "Policies:Approvals:Approve"}

// policyBody is a RequestApproval policy: one group of quorum q over
// approvers (any user when none).
func policyBody(kind string, q int, approvers []string, extra map[string]any) string {
	g := map[string]any{"name": "g", "quorum": q, "approvers": map[string]any{}}
	if len(approvers) > 0 {
		g["approvers"] = map[string]any{"userId": map[string]any{"in": approvers}}
	}
	for k, v := range extra {
		g[k] = v
	}
	return mustJSON(map[string]any{"name": "p " + kind, "activityKind": kind, "rule": map[string]any{"kind": "AlwaysTrigger"},
		"action": map[string]any{"kind": "RequestApproval", "approvalGroups": []any{g}}})
}

func (e *env) createPolicy(u *user, body string) string {
	e.t.Helper()
	r := e.signed(u, "POST", "/v2/policies", body)
	if r.status != 200 || r.str("status") != "Active" {
		e.t.Fatalf("create policy: %d %s", r.status, r.raw)
	}
	return r.str("id")
}

func (e *env) decide(u *user, approvalID, value string) resp {
	e.t.Helper()
	return e.signed(u, "POST", "/v2/policy-approvals/"+approvalID+"/decisions", mustJSON(map[string]string{"value": value, "reason": "test"}))
}

// pendingAssign asks for an assignment a policy holds and returns the
// approval id of the 202.
func (e *env) pendingAssign(u *user, pm, identityID string) string {
	e.t.Helper()
	r := e.signed(u, "POST", "/permissions/"+pm+"/assignments", mustJSON(map[string]string{"identityId": identityID}))
	if r.status != 202 || r.str("status") != "Pending" || r.str("kind") != "Assignment" || r.str("operationKind") != "Create" || r.str("approvalId") == "" {
		e.t.Fatalf("held assignment: %d %s", r.status, r.raw)
	}
	return r.str("approvalId")
}

func (e *env) approvalStatus(u *user, id string) (status, change string) {
	e.t.Helper()
	r := e.do("GET", "/v2/policy-approvals/"+id, u.token, nil)
	if r.status != 200 {
		e.t.Fatalf("get approval: %d %s", r.status, r.raw)
	}
	act, _ := r.body["activity"].(map[string]any)
	cr, _ := act["changeRequest"].(map[string]any)
	s, _ := cr["status"].(string)
	return r.str("status"), s
}

// assignmentsOf counts identityID's assignments of pm.
func (e *env) assignmentsOf(orgID, identityID, pm string) int {
	e.t.Helper()
	as, err := e.store.Assignments(context.Background(), orgID, identityID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		if a.Permission.ID == pm {
			n++
		}
	}
	return n
}

// approvalEntries exports the org's audit chain, requires that it verifies
// (as signet audit verify does), and returns the details of its approval
// entries in chain order.
func (e *env) approvalEntries(orgID string) []string {
	e.t.Helper()
	x, err := e.svc.ExportAudit(context.Background(), orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	if rep := audit.Verify(x, nil); !rep.OK() {
		e.t.Fatalf("audit export does not verify: %+v", rep.Problems)
	}
	var out []string
	for _, en := range x.Entries {
		if en.Kind == audit.KindApproval {
			out = append(out, en.Detail)
		}
	}
	return out
}

// TestPolicyQuorum: a 2-of-3 policy on Permissions:Assign holds an
// assignment (202) until two approvers approve; it then exists exactly
// once, with the id its change request showed. Every way to decide
// wrongly is refused.
func TestPolicyQuorum(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a, b, c := e.member(admin, approverOps...), e.member(admin, approverOps...), e.member(admin, approverOps...)
		outsider := e.member(admin, approverOps...)
		target := e.member(admin)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		e.createPolicy(admin, policyBody("Permissions:Assign", 2, []string{a.userID, b.userID, c.userID}, nil))

		id := e.pendingAssign(admin, pm, target.userID)
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 0 {
			t.Fatalf("held assignment exists %d times before approval", n)
		}
		other := e.newUser() // another org's full admin
		for _, tc := range []struct {
			name string
			u    *user
			want int
		}{
			{"initiator not in the group", admin, 403},
			{"not an approver", outsider, 403},
			{"another org", other, 404},
		} {
			if r := e.decide(tc.u, id, "Approved"); r.status != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
			}
		}
		if r := e.decide(a, id, "Maybe"); r.status != 400 {
			t.Errorf("bad value: %d %s", r.status, r.raw)
		}
		if r := e.decide(a, id, "Approved"); r.status != 200 || r.str("status") != "Pending" {
			t.Fatalf("first approval: %d %s", r.status, r.raw)
		}
		if r := e.decide(a, id, "Approved"); r.status != 409 {
			t.Errorf("same approver twice: %d %s", r.status, r.raw)
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 0 {
			t.Fatalf("assignment exists after 1 of 2 approvals")
		}
		if r := e.decide(b, id, "Approved"); r.status != 200 || r.str("status") != "Approved" {
			t.Fatalf("second approval: %d %s", r.status, r.raw)
		}
		if st, cr := e.approvalStatus(admin, id); st != "Approved" || cr != "Applied" {
			t.Fatalf("approval %s, change %s", st, cr)
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 1 {
			t.Fatalf("assignment exists %d times, want 1", n)
		}
		if r := e.decide(c, id, "Approved"); r.status != 409 {
			t.Errorf("decision after resolution: %d %s", r.status, r.raw)
		}
		r := e.do("GET", "/v2/policy-approvals?status=Approved", admin.token, nil)
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 {
			t.Errorf("list approved: %d %s", r.status, r.raw)
		}
		// The chain holds the held request, both decisions (signed
		// actions) and the resolution, and verifies.
		if got := e.approvalEntries(admin.orgID); len(got) != 1 || !strings.Contains(got[0], `"status":"Approved","outcome":"Applied"`) ||
			!strings.Contains(got[0], id) {
			t.Errorf("approval audit entries: %v", got)
		}
	})
}

// TestPolicyDenyAndTimeout: a denial aborts, a timeout aborts, and the
// initiator counts only where the group allows.
func TestPolicyDenyAndTimeout(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a := e.member(admin, approverOps...)
		target := e.member(admin)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		pol := e.createPolicy(admin, policyBody("Permissions:Assign", 1, nil, nil))

		id := e.pendingAssign(admin, pm, target.userID)
		if r := e.decide(admin, id, "Approved"); r.status != 403 {
			t.Errorf("initiator where disallowed: %d %s", r.status, r.raw)
		}
		if r := e.decide(a, id, "Denied"); r.status != 200 || r.str("status") != "Denied" {
			t.Fatalf("deny: %d %s", r.status, r.raw)
		}
		if st, cr := e.approvalStatus(admin, id); st != "Denied" || cr != "Rejected" {
			t.Fatalf("denied approval %s, change %s", st, cr)
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 0 {
			t.Fatalf("denied assignment exists")
		}

		// The policy is replaced by one with a timeout that lets the
		// initiator approve: archiving is not gated (no Policies:Modify
		// policy yet).
		if r := e.signed(admin, "DELETE", "/v2/policies/"+pol, "{}"); r.status != 200 || r.str("status") != "Archived" {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		body := mustJSON(map[string]any{"name": "timed", "activityKind": "Permissions:Assign", "rule": map[string]any{"kind": "AlwaysTrigger"},
			"action": map[string]any{"kind": "RequestApproval", "autoRejectTimeout": 5, "approvalGroups": []any{
				map[string]any{"quorum": 2, "approvers": map[string]any{}, "initiatorCanApprove": true}}}})
		e.createPolicy(admin, body)
		id = e.pendingAssign(admin, pm, target.userID)
		if r := e.decide(admin, id, "Approved"); r.status != 200 || r.str("status") != "Pending" {
			t.Fatalf("initiator where allowed: %d %s", r.status, r.raw)
		}
		e.clock.Advance(4 * time.Minute)
		if n, err := e.svc.ExpireApprovals(context.Background()); err != nil || n != 0 {
			t.Fatalf("expire early: %d %v", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := e.svc.ExpireApprovals(context.Background()); err != nil || n != 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
		if r := e.decide(a, id, "Approved"); r.status != 409 {
			t.Errorf("decision after expiry: %d %s", r.status, r.raw)
		}
		if st, _ := e.approvalStatus(admin, id); st != "Expired" {
			t.Fatalf("approval %s, want Expired", st)
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 0 {
			t.Fatalf("expired assignment exists")
		}
		got := e.approvalEntries(admin.orgID)
		if len(got) != 2 || !strings.Contains(got[0], `"status":"Denied"`) || !strings.Contains(got[1], `"status":"Expired"`) {
			t.Errorf("approval audit entries: %v", got)
		}
	})
}

// TestPolicyBlockAndSelfGate: Block refuses; Policies:Modify policies gate
// changes to policies, their own included; the escalation rule applies to
// policies; bad policies are refused with nothing written.
func TestPolicyBlockAndSelfGate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a := e.member(admin, approverOps...)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		block := e.createPolicy(admin, mustJSON(map[string]any{"name": "freeze", "activityKind": "Permissions:Modify",
			"rule": map[string]any{"kind": "AlwaysTrigger"}, "action": map[string]any{"kind": "Block"},
			"filters": map[string]any{"permissionId": map[string]any{"in": []string{pm}}}}))
		if r := e.signed(admin, "PUT", "/permissions/"+pm, mustJSON(map[string]any{"name": "renamed"})); r.status != 403 {
			t.Fatalf("blocked update: %d %s", r.status, r.raw)
		}
		other := e.createPermission(admin, "other", "Orgs:Read")
		if r := e.signed(admin, "PUT", "/permissions/"+other, mustJSON(map[string]any{"name": "renamed"})); r.status != 200 {
			t.Fatalf("update outside the filter: %d %s", r.status, r.raw)
		}

		guard := e.createPolicy(admin, policyBody("Policies:Modify", 1, []string{a.userID}, nil))
		// Removing the guard itself is held for approval.
		r := e.signed(admin, "DELETE", "/v2/policies/"+guard, "{}")
		if r.status != 202 || r.str("kind") != "Policy" {
			t.Fatalf("archive guarded policy: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/v2/policies/"+guard, admin.token, nil); r.str("status") != "Active" {
			t.Fatalf("guard archived before approval: %s", r.raw)
		}
		if r := e.decide(a, r.str("approvalId"), "Approved"); r.status != 200 || r.str("status") != "Approved" {
			t.Fatalf("approve: %d %s", r.status, r.raw)
		}
		if r := e.do("GET", "/v2/policies/"+guard, admin.token, nil); r.str("status") != "Archived" {
			t.Fatalf("guard after approval: %s", r.raw)
		}
		if r := e.signed(admin, "DELETE", "/v2/policies/"+block, "{}"); r.status != 200 {
			t.Fatalf("archive with no guard: %d %s", r.status, r.raw)
		}

		// Escalation: a caller with Policies:Create but not the operations
		// the policy governs cannot create it.
		weak := e.member(admin, "Policies:Create")
		if r := e.signed(weak, "POST", "/v2/policies", policyBody("Permissions:Assign", 1, nil, nil)); r.status != 403 {
			t.Errorf("escalation: %d %s", r.status, r.raw)
		}
		for name, body := range map[string]string{
			"unknown kind":      policyBody("Wallets:Sign", 1, nil, nil),
			"quorum 0":          policyBody("Permissions:Assign", 0, nil, nil),
			"quorum too high":   policyBody("Permissions:Assign", 2, []string{a.userID}, nil),
			"unknown user":      policyBody("Permissions:Assign", 1, []string{"us-nobody"}, nil),
			"bad rule":          `{"name":"x","activityKind":"Permissions:Assign","rule":{"kind":"Sometimes"},"action":{"kind":"Block"}}`,
			"block on policies": `{"name":"x","activityKind":"Policies:Modify","rule":{"kind":"AlwaysTrigger"},"action":{"kind":"Block"}}`,
		} {
			if r := e.signed(admin, "POST", "/v2/policies", body); r.status != 400 {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		r = e.do("GET", "/v2/policies?status=Active", admin.token, nil)
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 0 {
			t.Errorf("active policies: %d %s", r.status, r.raw)
		}
	})
}

// TestPolicyInitiatorRechecked: an initiator who lost the operation before
// quorum does not get the held assignment.
func TestPolicyInitiatorRechecked(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a := e.member(admin, approverOps...)
		target := e.member(admin)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		initiator := e.member(admin)
		grant := e.grant(admin, initiator.userID, "Permissions:Assign", "Orgs:Read")
		e.createPolicy(admin, policyBody("Permissions:Assign", 1, []string{a.userID}, nil))
		id := e.pendingAssign(initiator, pm, target.userID)
		// The admin's revocation is itself an assignment change: held too.
		as, err := e.store.Assignments(context.Background(), admin.orgID, initiator.userID)
		if err != nil || len(as) != 1 {
			t.Fatalf("initiator assignments: %v %v", as, err)
		}
		r := e.signed(admin, "DELETE", "/permissions/"+grant+"/assignments/"+as[0].Assignment.ID, "")
		if r.status != 202 || r.str("operationKind") != "Delete" {
			t.Fatalf("held revoke: %d %s", r.status, r.raw)
		}
		if r := e.decide(a, r.str("approvalId"), "Approved"); r.status != 200 {
			t.Fatalf("approve revoke: %d %s", r.status, r.raw)
		}
		if r := e.decide(a, id, "Approved"); r.status != 200 || r.str("status") != "Approved" {
			t.Fatalf("approve assignment: %d %s", r.status, r.raw)
		}
		if _, cr := e.approvalStatus(admin, id); cr != "Failed" {
			t.Fatalf("change request %s, want Failed", cr)
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 0 {
			t.Fatalf("assignment made for an initiator without authority")
		}
	})
}

// approveAtOnce has each approver approve the approval id on the servers
// taken in turn, all at once: every decision is signed first, so that the
// decisions themselves race. It returns their statuses.
func approveAtOnce(id string, approvers []*user, servers ...*env) []int {
	var wg sync.WaitGroup
	statuses := make([]int, len(approvers))
	for i, u := range approvers {
		srv := servers[i%len(servers)]
		body := mustJSON(map[string]string{"value": "Approved"})
		path := "/v2/policy-approvals/" + id + "/decisions"
		ua := srv.mustUserAction(u.token, u.signer, "POST", path, body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = srv.do("POST", path, u.token, body, "X-DFNS-USERACTION", ua).status
		}()
	}
	wg.Wait()
	return statuses
}

// TestPolicyReplicasRace: two replicas on one database, each recording a
// decisive approval at once, run the held assignment exactly once.
func TestPolicyReplicasRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		e2 := e.replica(nil)
		admin := e.newUser()
		target := e.member(admin)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		var approvers []*user
		var ids []string
		for range 4 {
			u := e.member(admin, approverOps...)
			approvers, ids = append(approvers, u), append(ids, u.userID)
		}
		e.createPolicy(admin, policyBody("Permissions:Assign", 1, ids, nil))
		for round := range 3 {
			id := e.pendingAssign(admin, pm, target.userID)
			statuses := approveAtOnce(id, approvers, e, e2)
			ok := 0
			for _, st := range statuses {
				switch st {
				case 200:
					ok++
				case 409:
				default:
					t.Errorf("round %d: decision status %d", round, st)
				}
			}
			if ok == 0 {
				t.Errorf("round %d: no decision recorded", round)
			}
			if st, cr := e.approvalStatus(admin, id); st != "Approved" || cr != "Applied" {
				t.Fatalf("round %d: approval %s, change %s", round, st, cr)
			}
			if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 1 {
				t.Fatalf("round %d: assignment exists %d times, want 1", round, n)
			}
			// Remove it for the next round, outside the policy (the store
			// directly: the revocation would be held too).
			as, _ := e.store.Assignments(context.Background(), admin.orgID, target.userID)
			for _, a := range as {
				if err := e.store.DeleteAssignment(context.Background(), admin.orgID, pm, a.Assignment.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// PUT /v2/policies/{id} replaces a policy's definition: the new quorum
// holds the next assignment; an invalid definition or another org's policy
// changes nothing.
func TestPolicyUpdate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a, b := e.member(admin, approverOps...), e.member(admin, approverOps...)
		pol := e.createPolicy(admin, policyBody("Permissions:Assign", 1, []string{a.userID}, nil))

		r := e.signed(admin, "PUT", "/v2/policies/"+pol, policyBody("Permissions:Assign", 2, []string{a.userID, b.userID}, nil))
		if r.status != 200 || r.str("id") != pol || r.str("status") != "Active" {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		got := e.do("GET", "/v2/policies/"+pol, admin.token, nil)
		groups, _ := got.body["action"].(map[string]any)["approvalGroups"].([]any)
		if len(groups) != 1 || groups[0].(map[string]any)["quorum"] != float64(2) {
			t.Errorf("after update: %s", got.raw)
		}

		if r := e.signed(admin, "PUT", "/v2/policies/"+pol, policyBody("Permissions:Assign", 0, nil, nil)); r.status != 400 {
			t.Errorf("a quorum of 0: %d %s, want 400", r.status, r.raw)
		}
		other := e.newUser()
		if r := e.signed(other, "PUT", "/v2/policies/"+pol, policyBody("Permissions:Assign", 1, nil, nil)); r.status != 404 {
			t.Errorf("another org's policy: %d %s, want 404", r.status, r.raw)
		}
		got2 := e.do("GET", "/v2/policies/"+pol, admin.token, nil)
		if string(got2.raw) != string(got.raw) {
			t.Errorf("refused updates changed the policy:\n%s\n%s", got.raw, got2.raw)
		}
	})
}

// Creating a service account with a permission is an assignment: a policy
// on Permissions:Assign that applies to the permission refuses it (there
// is no identity yet to hold the change for), Block and RequestApproval
// alike; the account without the permission, then the assignment through
// the gate, is the way. No service account is left behind by a refusal.
func TestPolicyServiceAccountAssign(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		a := e.member(admin, approverOps...)
		held := e.createPermission(admin, "held", "Orgs:Read")
		blocked := e.createPermission(admin, "blocked", "Orgs:Read")
		free := e.createPermission(admin, "free", "Orgs:Read")
		e.createPolicy(admin, mustJSON(map[string]any{"name": "quorum", "activityKind": "Permissions:Assign",
			"rule": map[string]any{"kind": "AlwaysTrigger"}, "action": map[string]any{"kind": "RequestApproval",
				"approvalGroups": []any{map[string]any{"name": "g", "quorum": 1, "approvers": map[string]any{"userId": map[string]any{"in": []string{a.userID}}}}}},
			"filters": map[string]any{"permissionId": map[string]any{"in": []string{held}}}}))
		e.createPolicy(admin, mustJSON(map[string]any{"name": "freeze", "activityKind": "Permissions:Assign",
			"rule": map[string]any{"kind": "AlwaysTrigger"}, "action": map[string]any{"kind": "Block"},
			"filters": map[string]any{"permissionId": map[string]any{"in": []string{blocked}}}}))

		for _, pm := range []string{held, blocked} {
			k := newKeySigner(t, "EdDSA")
			r := e.signed(admin, "POST", "/auth/service-accounts", mustJSON(map[string]any{"name": "sa-" + pm, "publicKey": k.pem, "permissionId": pm}))
			if r.status != 403 {
				t.Errorf("service account with governed permission %s: %d %s, want 403", pm, r.status, r.raw)
			}
		}
		list := e.do("GET", "/auth/service-accounts", admin.token, nil)
		if strings.Contains(string(list.raw), "sa-"+held) || strings.Contains(string(list.raw), "sa-"+blocked) {
			t.Errorf("a refused service account exists: %s", list.raw)
		}
		e.createServiceAccount(admin, "sa-free", free) // an ungoverned permission still goes
		sa := e.createServiceAccount(admin, "sa-plain", "")
		if r := e.signed(admin, "POST", "/permissions/"+held+"/assignments", mustJSON(map[string]string{"identityId": sa.raw.str("userInfo", "userId")})); r.status != 202 {
			t.Errorf("the assignment through the gate: %d %s, want 202", r.status, r.raw)
		}
	})
}
