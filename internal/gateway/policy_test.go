package gateway_test

import (
	"context"
	"testing"

	"github.com/signet-auth/signet/client"
)

// TestGatewayPolicyHTTPSig: the policy gate applies to a request signed
// with RFC 9421 as to one with X-DFNS-USERACTION; the policy is made and
// the approval decided with the Go SDK through the gateway (signet's own
// paths); the held request reaches the upstream on approval as signed,
// without its signature fields, and its status is the approval's result.
func TestGatewayPolicyHTTPSig(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Create")
	ctx := context.Background()
	above := 100.0
	_, err := u.client.CreatePolicy(ctx, client.PolicyRequest{Name: "big orders", ActivityKind: "Orders:Create",
		Rule:   client.PolicyRule{Kind: "JsonFieldThreshold", Configuration: &client.RuleConfiguration{Pointer: "/qty", Above: &above}},
		Action: client.PolicyAction{Kind: "RequestApproval", ApprovalGroups: []client.ApprovalGroup{{Quorum: 1, InitiatorCanApprove: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.signed(u, "POST", "/orders", `{"qty":100}`); r.status != 200 {
		t.Fatalf("at the threshold: %d %s", r.status, r.raw)
	}
	n := e.up.count()
	const body = `{"item":"book","qty":500}`
	req := e.sigRequest(u, "POST", "/orders?rush=1", body)
	req.Header.Set("Cookie", "upstream-session=s3cret")
	req.Header.Set("X-Client-Note", "kept")
	r := e.send(req)
	id := r.str("approvalId")
	if r.status != 202 || r.str("status") != "Pending" || r.str("operationKind") != "Orders:Create" || id == "" {
		t.Fatalf("held: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Fatal("a held request reached the upstream")
	}
	a, err := u.client.Decide(ctx, id, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "Approved" || a.Result == nil || a.Result.Outcome != "Applied" || a.Result.UpstreamStatus != 200 {
		t.Fatalf("decided: %+v result %+v", a, a.Result)
	}
	if e.up.count() != n+1 {
		t.Fatalf("the upstream got %d requests, want %d", e.up.count(), n+1)
	}
	got, _ := e.up.last()
	if got.method != "POST" || got.path != "/orders" || got.query != "rush=1" || string(got.body) != body {
		t.Errorf("forwarded %s %s?%s %q", got.method, got.path, got.query, got.body)
	}
	// Neither signet's credentials nor the client's cookie for the
	// upstream were kept with the approval; the client's other headers
	// were.
	for _, k := range []string{"Signature", "Signature-Input", "Authorization", "Cookie"} {
		if got.header.Get(k) != "" {
			t.Errorf("the upstream got %s", k)
		}
	}
	if got.header.Get("X-Client-Note") != "kept" {
		t.Errorf("the held request lost the client's X-Client-Note: %v", got.header)
	}
	if got.header.Get("X-Signet-User-Id") != u.userID || got.header.Get("X-Signet-Action-Id") != r.str("entityId") {
		t.Errorf("identity headers %v", got.header)
	}
	// A body that JSON readers could read differently (a small quantity
	// beside a large one under a duplicate or case-variant key) never
	// passes: the gateway refuses it as a signed body (400), and the rule
	// would hold it (TestFieldAbove) were it let through.
	n = e.up.count()
	for _, body := range []string{`{"qty":500,"qty":1}`, `{"qty":1,"qty":500}`, `{"qty":1,"Qty":500}`} {
		if r := e.send(e.sigRequest(u, "POST", "/orders", body)); r.status != 400 && r.status != 202 {
			t.Errorf("ambiguous body %s: %d %s, want 400 or 202", body, r.status, r.raw)
		}
	}
	if e.up.count() != n {
		t.Error("an ambiguous body reached the upstream")
	}
}
