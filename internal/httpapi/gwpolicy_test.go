package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/gateway"
	"github.com/signet-auth/signet/internal/httpapi"
)

// Policies over the gateway's operations (docs/policies.md, "Gateway
// mode"): the gateway of internal/gateway in front of a real upstream, on
// the harness's stores (SQLite and PostgreSQL).

const payRoutes = `{
  "operations": ["Payments:Create"],
  "routes": [
    {"method": "POST", "path": "/payments", "operation": "Payments:Create"},
    {"method": "GET", "path": "/payments", "operation": "Payments:Create"}
  ],
  "default": "deny"
}`

// upstreamSeen is a request as the upstream received it.
type upstreamSeen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// countingUpstream is a real HTTP server that records every request and
// answers 201.
type countingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []upstreamSeen
}

func newCountingUpstream(t testing.TB) *countingUpstream {
	u := &countingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, upstreamSeen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), b})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"paid":true}`))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *countingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *countingUpstream) last() upstreamSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reqs[len(u.reqs)-1]
}

func payRoutesParsed(t testing.TB) *gateway.Routes {
	rs, err := gateway.ParseRoutes([]byte(payRoutes))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// gatewayOn puts a gateway on svc in front of up and returns e as reached
// through it (signet's own paths pass through to the API).
func (e *env) gatewayOn(svc *auth.Service, up *countingUpstream) *env {
	e.t.Helper()
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: e.iss.JWKS, Ping: e.store.Ping, MaxBody: 64 << 10})
	if err != nil {
		e.t.Fatal(err)
	}
	target, _ := url.Parse(up.URL)
	g, err := gateway.New(gateway.Config{Service: svc, API: api, Status: httpapi.Status, Pending: httpapi.WritePending,
		Upstream: target, Routes: payRoutesParsed(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	e.t.Cleanup(srv.Close)
	r := *e
	r.api, r.url, r.svc = g, srv.URL, svc
	return &r
}

// gatewayReplica is a server in gateway mode on e's store (its own
// Service, knowing the route file's operations, as another process) with
// its gateway in front of up. e itself runs without a route file.
func (e *env) gatewayReplica(up *countingUpstream) *env {
	e.t.Helper()
	svc, err := auth.New(auth.Config{Store: e.store, Tokens: e.iss, Now: e.clock.Now, ExtraOperations: payRoutesParsed(e.t).Operations()})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.gatewayOn(svc, up)
}

// storeGrant gives identityID a permission holding ops, in the store (an
// org's first admin does not hold the operator's operations, so it cannot
// grant them through the API).
func (e *env) storeGrant(orgID, identityID string, ops ...string) {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now().UTC().Truncate(time.Millisecond)
	id := "pm-" + strings.ToLower(rand.Text())
	if err := e.store.CreatePermission(ctx, &auth.Permission{ID: id, OrgID: orgID, Name: "ops " + id, Operations: ops, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateAssignment(ctx, &auth.Assignment{ID: "as-" + strings.ToLower(rand.Text()), OrgID: orgID, PermissionID: id, IdentityID: identityID, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
}

// thresholdPolicy is a RequestApproval policy over Payments:Create of one
// group of quorum q over approvers (any user when none), triggered by
// /amount above 10000.
func thresholdPolicy(q int, approvers []string, timeout int) string {
	g := map[string]any{"name": "finance", "quorum": q, "approvers": map[string]any{}}
	if len(approvers) > 0 {
		g["approvers"] = map[string]any{"userId": map[string]any{"in": approvers}}
	}
	action := map[string]any{"kind": "RequestApproval", "approvalGroups": []any{g}}
	if timeout > 0 {
		action["autoRejectTimeout"] = timeout
	}
	return mustJSON(map[string]any{"name": "large payments", "activityKind": "Payments:Create",
		"rule":   map[string]any{"kind": "JsonFieldThreshold", "configuration": map[string]any{"pointer": "/amount", "above": 10000}},
		"action": action})
}

// pay makes a signed payment request through the gateway with an extra
// header the upstream must see.
func (e *env) pay(u *user, target, body string) resp {
	e.t.Helper()
	ua := e.mustUserAction(u.token, u.signer, "POST", target, body) // the query is signed too
	return e.do("POST", target, u.token, body, "X-DFNS-USERACTION", ua, "X-Merchant", "m-42")
}

// held requires r to be the 202 of a held payment and returns its
// approval id.
func held(t testing.TB, r resp) string {
	t.Helper()
	if r.status != 202 || r.str("status") != "Pending" || r.str("kind") != "Request" || r.str("operationKind") != "Payments:Create" ||
		r.str("approvalId") == "" || !strings.HasPrefix(r.str("entityId"), "uj-") {
		t.Fatalf("held payment: %d %s", r.status, r.raw)
	}
	return r.str("approvalId")
}

// approvalResult reads an approval through the plain API (the OpenAPI
// example of its result).
func (e *env) approvalResult(u *user, id string) (status string, result map[string]any) {
	e.t.Helper()
	r := e.do("GET", "/v2/policy-approvals/"+id, u.token, nil)
	if r.status != 200 {
		e.t.Fatalf("get approval: %d %s", r.status, r.raw)
	}
	res, _ := r.body["result"].(map[string]any)
	return r.str("status"), res
}

// TestGatewayPolicyThreshold: a payment at or below the threshold passes
// straight through; one above it gets 202 and reaches the upstream only
// after 2 of 3 approvers approved, exactly once, byte for byte as signed,
// with its status recorded on the approval and in the audit chain.
func TestGatewayPolicyThreshold(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		up := newCountingUpstream(t)
		gw := e.gatewayReplica(up)
		admin := e.newUser()
		e.storeGrant(admin.orgID, admin.userID, "Payments:Create")
		var approvers []*user
		var ids []string
		for range 3 {
			u := e.member(admin, approverOps...)
			approvers, ids = append(approvers, u), append(ids, u.userID)
		}
		gw.createPolicy(admin, thresholdPolicy(2, ids, 0))

		for _, amount := range []string{"500", "10000", "1e4", "-3"} {
			if r := gw.pay(admin, "/payments", `{"amount":`+amount+`}`); r.status != 201 {
				t.Fatalf("amount %s: %d %s, want the upstream's 201", amount, r.status, r.raw)
			}
		}
		if n := up.count(); n != 4 {
			t.Fatalf("below the threshold: upstream got %d requests, want 4", n)
		}

		body := `{"amount": 10000.01, "memo": "big one"}`
		r := gw.pay(admin, "/payments?ref=a%2Fb&x=1", body)
		id := held(t, r)
		actionID := r.str("entityId")
		if up.count() != 4 {
			t.Fatal("a held payment reached the upstream")
		}
		if st, _ := e.approvalResult(admin, id); st != "Pending" {
			t.Fatalf("approval %s, want Pending", st)
		}
		// The evaluation names the rule that triggered, not AlwaysTrigger.
		if a := e.do("GET", "/v2/policy-approvals/"+id, admin.token, nil); !strings.Contains(string(a.raw), `"reason":"JsonFieldThreshold: /amount above 10000`) {
			t.Errorf("policyEvaluations of a threshold policy: %s", a.raw)
		}
		if d := gw.decide(approvers[0], id, "Approved"); d.status != 200 || d.str("status") != "Pending" {
			t.Fatalf("first approval: %d %s", d.status, d.raw)
		}
		if up.count() != 4 {
			t.Fatal("forwarded before quorum")
		}
		if d := gw.decide(approvers[1], id, "Approved"); d.status != 200 || d.str("status") != "Approved" {
			t.Fatalf("second approval: %d %s", d.status, d.raw)
		}
		if n := up.count(); n != 5 {
			t.Fatalf("after quorum the upstream got %d requests, want 5", n)
		}
		got := up.last()
		if got.method != "POST" || got.path != "/payments" || got.query != "ref=a%2Fb&x=1" || !bytes.Equal(got.body, []byte(body)) {
			t.Errorf("forwarded %s %s?%s %q, want POST /payments?ref=a%%2Fb&x=1 %q", got.method, got.path, got.query, got.body, body)
		}
		h := got.header
		if h.Get("X-Merchant") != "m-42" || h.Get(gateway.HeaderUserID) != admin.userID || h.Get(gateway.HeaderOrgID) != admin.orgID ||
			h.Get(gateway.HeaderActionID) != actionID || h.Get("Content-Type") != "application/json" {
			t.Errorf("forwarded headers %v", h)
		}
		for _, k := range []string{"Authorization", "X-Dfns-Useraction"} {
			if h.Get(k) != "" {
				t.Errorf("the upstream got the caller's %s", k)
			}
		}
		st, res := e.approvalResult(admin, id)
		if st != "Approved" || res["outcome"] != "Applied" || res["upstreamStatus"] != float64(201) {
			t.Errorf("approval %s result %v, want Approved, Applied, 201", st, res)
		}
		if _, cr := e.approvalStatus(admin, id); cr != "Applied" {
			t.Errorf("change request %s, want Applied", cr)
		}
		// A late approval changes nothing.
		if d := gw.decide(approvers[2], id, "Approved"); d.status != 409 {
			t.Errorf("late approval: %d, want 409", d.status)
		}
		if up.count() != 5 {
			t.Error("forwarded again")
		}
		entries := e.approvalEntries(admin.orgID)
		if len(entries) != 1 || !strings.Contains(entries[0], `"outcome":"Applied"`) || !strings.Contains(entries[0], `"upstreamStatus":201`) ||
			!strings.Contains(entries[0], `"entityId":"`+actionID+`"`) {
			t.Errorf("audit approval entries %v", entries)
		}
	})
}

// TestGatewayPolicyRefusals: a denial and a timeout never forward; Block
// refuses with 403 naming the policy; a body the rule cannot evaluate is
// held, never passed; an unsigned request a policy governs is refused.
func TestGatewayPolicyRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		up := newCountingUpstream(t)
		gw := e.gatewayReplica(up)
		admin := e.newUser()
		e.storeGrant(admin.orgID, admin.userID, "Payments:Create")
		a := e.member(admin, approverOps...)
		pol := gw.createPolicy(admin, thresholdPolicy(1, []string{a.userID}, 5))

		// Denied.
		id := held(t, gw.pay(admin, "/payments", `{"amount":20000}`))
		if d := gw.decide(a, id, "Denied"); d.status != 200 || d.str("status") != "Denied" {
			t.Fatalf("denial: %d %s", d.status, d.raw)
		}
		// Timed out.
		id2 := held(t, gw.pay(admin, "/payments", `{"amount":20000}`))
		e.clock.Advance(6 * time.Minute)
		if n, err := e.svc.ExpireApprovals(context.Background()); err != nil || n != 1 {
			t.Fatalf("ExpireApprovals = %d, %v", n, err)
		}
		if st, _ := e.approvalResult(admin, id2); st != "Expired" {
			t.Fatalf("approval %s, want Expired", st)
		}
		if d := gw.decide(a, id2, "Approved"); d.status != 409 {
			t.Fatalf("approval after expiry: %d", d.status)
		}
		// Bodies the rule cannot evaluate are held.
		for _, body := range []string{`{"amount":"20000"}`, `{"total":5}`, `[5]`, `{"amount":null}`, `{"amount":{"value":1}}`} {
			held(t, gw.pay(admin, "/payments", body))
		}
		ua := gw.mustUserAction(admin.token, admin.signer, "POST", "/payments", "")
		held(t, gw.do("POST", "/payments", admin.token, nil, "X-DFNS-USERACTION", ua))
		// An unsigned request of the operation cannot be held: refused.
		if r := gw.do("GET", "/payments", admin.token, nil); r.status != 403 || !strings.Contains(r.str("error", "message"), pol) {
			t.Fatalf("unsigned governed request: %d %s, want 403 naming %s", r.status, r.raw, pol)
		}
		if n := up.count(); n != 0 {
			t.Fatalf("the upstream got %d requests, want none", n)
		}

		// Block.
		if r := gw.signed(admin, "DELETE", "/v2/policies/"+pol, ""); r.status != 200 {
			t.Fatalf("archive: %d %s", r.status, r.raw)
		}
		if r := gw.pay(admin, "/payments", `{"amount":1}`); r.status != 201 {
			t.Fatalf("after archiving: %d %s", r.status, r.raw)
		}
		block := gw.createPolicy(admin, mustJSON(map[string]any{"name": "freeze", "activityKind": "Payments:Create",
			"rule": map[string]any{"kind": "AlwaysTrigger"}, "action": map[string]any{"kind": "Block"}}))
		if r := gw.pay(admin, "/payments", `{"amount":1}`); r.status != 403 || !strings.Contains(r.str("error", "message"), block) {
			t.Fatalf("blocked: %d %s, want 403 naming %s", r.status, r.raw, block)
		}
		if n := up.count(); n != 1 {
			t.Fatalf("the upstream got %d requests, want 1", n)
		}
		entries := e.approvalEntries(admin.orgID)
		if len(entries) != 2 || !strings.Contains(entries[0], `"status":"Denied"`) || !strings.Contains(entries[1], `"status":"Expired"`) {
			t.Errorf("audit approval entries %v", entries)
		}
	})
}

// TestGatewayPolicyValidation: a policy over an operation the route file
// does not declare, or without a route file, is refused; so is one by a
// caller who does not hold the operation, and every malformed rule.
func TestGatewayPolicyValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, plain *env) {
		e := plain.gatewayReplica(newCountingUpstream(t))
		admin := plain.newUser()
		e.storeGrant(admin.orgID, admin.userID, "Payments:Create")
		good := thresholdPolicy(1, nil, 0)

		// Without a route file (plain's Service declares no operation).
		if r := plain.signed(admin, "POST", "/v2/policies", good); r.status != 400 || !strings.Contains(r.str("error", "message"), "activityKind") {
			t.Errorf("without a route file: %d %s, want 400", r.status, r.raw)
		}
		// Escalation: holds Policies:Create, not Payments:Create.
		m := plain.member(admin, "Policies:Create")
		if r := e.signed(m, "POST", "/v2/policies", good); r.status != 403 {
			t.Errorf("caller without the operation: %d %s, want 403", r.status, r.raw)
		}
		rule := func(r map[string]any) string {
			return mustJSON(map[string]any{"name": "p", "activityKind": "Payments:Create", "rule": r, "action": map[string]any{"kind": "Block"}})
		}
		cfg := func(c map[string]any) map[string]any {
			return map[string]any{"kind": "JsonFieldThreshold", "configuration": c}
		}
		for name, body := range map[string]string{
			"undeclared operation":     strings.Replace(good, "Payments:Create", "Payments:Refund", 1),
			"no configuration":         rule(map[string]any{"kind": "JsonFieldThreshold"}),
			"no above":                 rule(cfg(map[string]any{"pointer": "/amount"})),
			"no pointer":               rule(cfg(map[string]any{"above": 1})),
			"relative pointer":         rule(cfg(map[string]any{"pointer": "amount", "above": 1})),
			"bad escape":               rule(cfg(map[string]any{"pointer": "/a~2b", "above": 1})),
			"trailing tilde":           rule(cfg(map[string]any{"pointer": "/a~", "above": 1})),
			"above a string":           rule(cfg(map[string]any{"pointer": "/amount", "above": "1"})),
			"AlwaysTrigger configured": rule(map[string]any{"kind": "AlwaysTrigger", "configuration": map[string]any{"pointer": "/a", "above": 1}}),
			"unknown rule":             rule(map[string]any{"kind": "TransferAmountLimit"}),
			"threshold on an auth kind": mustJSON(map[string]any{"name": "p", "activityKind": "Permissions:Assign",
				"rule": cfg(map[string]any{"pointer": "/a", "above": 1}), "action": map[string]any{"kind": "Block"}}),
			"filters": mustJSON(map[string]any{"name": "p", "activityKind": "Payments:Create", "rule": map[string]any{"kind": "AlwaysTrigger"},
				"action": map[string]any{"kind": "Block"}, "filters": map[string]any{"permissionId": map[string]any{"in": []string{"pm-1"}}}}),
		} {
			if r := e.signed(admin, "POST", "/v2/policies", body); r.status != 400 {
				t.Errorf("%s: %d %s, want 400", name, r.status, r.raw)
			}
		}
		if r := e.signed(admin, "POST", "/v2/policies", rule(cfg(map[string]any{"pointer": "/items/0/a~1b~0c", "above": -2.5}))); r.status != 200 {
			t.Errorf("escaped pointer: %d %s, want 200", r.status, r.raw)
		}
	})
}

// TestGatewayPolicyReplicasRace: two servers on one database, each with its
// gateway; four approvers of a 1-of-4 group approve at once across both:
// the upstream gets each held request exactly once.
func TestGatewayPolicyReplicasRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		up := newCountingUpstream(t)
		gws := []*env{e.gatewayReplica(up), e.gatewayReplica(up)}
		admin := e.newUser()
		e.storeGrant(admin.orgID, admin.userID, "Payments:Create")
		var approvers []*user
		var ids []string
		for range 4 {
			u := e.member(admin, approverOps...)
			approvers, ids = append(approvers, u), append(ids, u.userID)
		}
		gws[0].createPolicy(admin, thresholdPolicy(1, ids, 0))
		for round := range 3 {
			id := held(t, gws[round%2].pay(admin, "/payments", `{"amount":50000}`))
			statuses := approveAtOnce(id, approvers, gws...)
			for _, st := range statuses {
				if st != 200 && st != 409 {
					t.Errorf("round %d: decision status %d", round, st)
				}
			}
			if n := up.count(); n != round+1 {
				t.Fatalf("round %d: the upstream got %d requests, want %d", round, n, round+1)
			}
			if st, res := e.approvalResult(admin, id); st != "Approved" || res["upstreamStatus"] != float64(201) {
				t.Fatalf("round %d: approval %s result %v", round, st, res)
			}
		}
		// Each gateway caches the org's policies; one created on the
		// other replica is seen by the very next request.
		if r := gws[0].pay(admin, "/payments", `{"amount":1}`); r.status != 201 {
			t.Fatalf("below the threshold: %d %s", r.status, r.raw)
		}
		block := gws[1].createPolicy(admin, mustJSON(map[string]any{"name": "freeze", "activityKind": "Payments:Create",
			"rule": map[string]any{"kind": "AlwaysTrigger"}, "action": map[string]any{"kind": "Block"}}))
		if r := gws[0].pay(admin, "/payments", `{"amount":1}`); r.status != 403 || !strings.Contains(r.str("error", "message"), block) {
			t.Fatalf("after a Block policy on the other replica: %d %s", r.status, r.raw)
		}
	})
}

// TestApprovalInterrupted: an approval resolved Approved whose replica
// stopped before running it (resolved here through the store, without a
// run) is finished by the maintenance loop once its lease passed, by one
// replica: an assignment is made (once, even when the interrupted run had
// made it); a gateway request is not forwarded again but recorded Failed,
// outcome unknown.
func TestApprovalInterrupted(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		up := newCountingUpstream(t)
		gw := e.gatewayReplica(up)
		other := e.gatewayReplica(up)
		admin := e.newUser()
		e.storeGrant(admin.orgID, admin.userID, "Payments:Create")
		a := e.member(admin, approverOps...)
		target := e.member(admin)
		pm := e.createPermission(admin, "readers", "Orgs:Read")
		revoked := e.member(admin)
		as := e.signed(admin, "POST", "/permissions/"+pm+"/assignments", mustJSON(map[string]string{"identityId": revoked.userID}))
		if as.status != 200 || as.str("id") == "" {
			t.Fatalf("assignment: %d %s", as.status, as.raw)
		}
		gw.createPolicy(admin, thresholdPolicy(1, []string{a.userID}, 0))
		e.createPolicy(admin, policyBody("Permissions:Assign", 1, []string{a.userID}, nil))

		crash := func(id string) {
			t.Helper()
			if err := e.store.ResolveApproval(ctx, admin.orgID, id, auth.ApprovalApproved, e.clock.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		payment := held(t, gw.pay(admin, "/payments", `{"amount":20000}`))
		crash(payment)
		assign := e.pendingAssign(admin, pm, target.userID)
		crash(assign)
		// The interrupted run had written its assignment already.
		written := e.pendingAssign(admin, pm, a.userID)
		crash(written)
		ap, err := e.store.Approval(ctx, admin.orgID, written)
		if err != nil {
			t.Fatal(err)
		}
		// A revocation whose interrupted run had deleted the assignment.
		r := e.signed(admin, "DELETE", "/permissions/"+pm+"/assignments/"+as.str("id"), "")
		revoke := r.str("approvalId")
		if r.status != 202 || revoke == "" {
			t.Fatalf("held revocation: %d %s", r.status, r.raw)
		}
		crash(revoke)
		if err := e.store.DeleteAssignment(ctx, admin.orgID, pm, as.str("id")); err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now().UTC().Truncate(time.Millisecond)
		if err := e.store.CreateAssignment(ctx, &auth.Assignment{ID: ap.Data.Operation.AssignmentID, OrgID: admin.orgID, PermissionID: pm,
			IdentityID: a.userID, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}

		if n, err := gw.svc.FinishInterrupted(ctx); err != nil || n != 0 {
			t.Fatalf("within the lease: FinishInterrupted = %d, %v, want 0", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for _, svc := range []*auth.Service{gw.svc, other.svc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := svc.FinishInterrupted(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if total != 4 {
			t.Fatalf("two replicas finished %d approvals, want 4", total)
		}
		if up.count() != 0 {
			t.Fatal("an interrupted gateway request was forwarded")
		}
		if st, res := e.approvalResult(admin, payment); st != "Approved" || res["outcome"] != "Failed" || res["reason"] != auth.ReasonInterrupted {
			t.Errorf("interrupted payment: %s %v", st, res)
		}
		for _, id := range []string{assign, written, revoke} {
			if _, cr := e.approvalStatus(admin, id); cr != "Applied" {
				t.Errorf("interrupted assignment change %s: %s, want Applied", id, cr)
			}
		}
		if n := e.assignmentsOf(admin.orgID, target.userID, pm); n != 1 {
			t.Errorf("assignment exists %d times, want 1", n)
		}
		if n := e.assignmentsOf(admin.orgID, a.userID, pm); n != 1 {
			t.Errorf("written assignment exists %d times, want 1", n)
		}
		e.clock.Advance(time.Hour)
		if n, err := gw.svc.FinishInterrupted(ctx); err != nil || n != 0 {
			t.Errorf("again: FinishInterrupted = %d, %v, want 0", n, err)
		}
		if entries := e.approvalEntries(admin.orgID); len(entries) != 4 {
			t.Errorf("audit approval entries %v, want 4", entries)
		}
	})
}
