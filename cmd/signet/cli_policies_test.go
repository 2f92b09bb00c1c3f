package main

import (
	"os"
	"testing"
)

// Policies and approvals from the command line: a policy from a file holds
// an assignment (the CLI says how to decide it), a service account
// approves it, and the assignment then exists.
func TestCLIPolicies(t *testing.T) {
	e := cliStart(t)
	b := e.ok(append([]string{"bootstrap", "--org-name", "acme", "--username", "ann@example.com"}, e.db...)...)
	org, user := cliStr(b, "orgId"), cliStr(b, "username")
	e.ok("keygen", "--out", e.path("ann.pem"))
	e.ok("register", "--org", org, "--username", user, "--code", cliStr(b, "registrationCode"), "--key", e.path("ann.pem"))
	e.ok("login", "--org", org, "--username", user, "--key", e.path("ann.pem"))

	appr := e.ok("permission", "create", "--name", "approvers", "--operations", "Policies:Approvals:Read,Policies:Approvals:Approve")
	e.ok("keygen", "--out", e.path("robot.pem"))
	sa := e.ok("service-account", "create", "--name", "robot", "--public-key", e.path("robot.pem"), "--permission-id", cliStr(appr, "id"))
	saID := cliStr(sa, "userInfo", "userId")
	toks, _ := sa["accessTokens"].([]any)
	asSA := []string{"--token", cliStr(toks[0], "accessToken"), "--key", e.path("robot.pem"), "--cred-id", cliStr(toks[0], "credId")}
	readers := cliStr(e.ok("permission", "create", "--name", "readers", "--operations", "Orgs:Read"), "id")

	e.fails("--file is required", "policy", "create")
	policy := `{"name":"robot approves","activityKind":"Permissions:Assign","rule":{"kind":"AlwaysTrigger"},
		"action":{"kind":"RequestApproval","approvalGroups":[{"quorum":1,"approvers":{"userId":{"in":["` + saID + `"]}},"serviceAccountsCanApprove":true}]},
		"filters":{"permissionId":{"in":["` + readers + `"]}}}`
	if err := os.WriteFile(e.path("policy.json"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := e.ok("policy", "create", "--file", e.path("policy.json"))
	if cliStr(pol, "status") != "Active" {
		t.Fatalf("policy create: %v", pol)
	}
	if l := e.ok("policy", "list", "--status", "Active"); len(l["items"].([]any)) != 1 {
		t.Errorf("policy list: %v", l)
	}
	e.fails("held for approval", "permission", "assign", readers, saID)
	l := e.ok(append([]string{"approval", "list", "--status", "Pending"}, asSA...)...)
	items, _ := l["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("approval list: %v", l)
	}
	id := cliStr(items[0], "id")
	e.fails("403", "approval", "approve", id) // ann is no approver
	if a := e.ok(append([]string{"approval", "approve", id, "--reason", "fine"}, asSA...)...); cliStr(a, "status") != "Approved" {
		t.Fatalf("approval approve: %v", a)
	}
	if l := e.ok("permission", "assignments", readers); len(l["items"].([]any)) != 1 {
		t.Errorf("assignment after approval: %v", l)
	}
	if a := e.ok("policy", "archive", cliStr(pol, "id")); cliStr(a, "status") != "Archived" {
		t.Errorf("policy archive: %v", a)
	}
}
