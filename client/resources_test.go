package client_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
)

// keyPair returns a new private key and its public PEM.
func keyPair(t testing.TB, alg client.Algorithm) (crypto.Signer, string) {
	t.Helper()
	priv, err := client.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := client.EncodePublicKeyPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func wantStatus(t testing.TB, err error, status int) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Errorf("err = %v, want status %d", err, status)
	}
}

func TestUsers(t *testing.T) {
	requireServed(t, "POST", "/auth/users")
	ctx := context.Background()
	s := newSession(t, client.ES256)

	var ids []string
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		u, err := s.c.CreateUser(ctx, client.CreateUserRequest{Email: email, Kind: client.CustomerEmployee})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.Username != email || u.IsRegistered || u.Kind != client.CustomerEmployee || u.OrgID != s.orgID {
			t.Errorf("created %+v", u)
		}
		ids = append(ids, u.UserID)
	}
	// Three users, one per page.
	seen := map[string]bool{}
	req := client.ListUsersRequest{Limit: 1}
	for range 10 {
		page, err := s.c.ListUsers(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 1 {
			t.Fatalf("page of %d items with limit 1", len(page.Items))
		}
		for _, u := range page.Items {
			seen[u.UserID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		req.PaginationToken = page.NextPageToken
	}
	if len(seen) != 3 || !seen[ids[0]] || !seen[ids[1]] || !seen[s.userID] {
		t.Errorf("paged through %v", seen)
	}

	n := 0
	for u, err := range s.c.AllUsers(ctx, client.ListUsersRequest{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if !seen[u.UserID] {
			t.Errorf("AllUsers yielded %s", u.UserID)
		}
		n++
	}
	if n != 3 {
		t.Errorf("AllUsers yielded %d users, want 3", n)
	}

	u, err := s.c.UpdateUser(ctx, ids[0], client.UpdateUserRequest{IsSSORequired: false})
	if err != nil || u.UserID != ids[0] {
		t.Errorf("UpdateUser: %v %+v", err, u)
	}
	if u, err := s.c.DeactivateUser(ctx, ids[0]); err != nil || u.IsActive {
		t.Errorf("DeactivateUser: %v %+v", err, u)
	}
	if u, err := s.c.ActivateUser(ctx, ids[0]); err != nil || !u.IsActive {
		t.Errorf("ActivateUser: %v %+v", err, u)
	}
	if u, err := s.c.DeleteUser(ctx, ids[1]); err != nil || u.IsActive {
		t.Errorf("DeleteUser: %v %+v", err, u)
	}
	if _, err := s.c.GetUser(ctx, "us-none"); err == nil {
		t.Error("GetUser of an unknown id succeeded")
	}
}

// A PAT works as its own identity: its token, and its key signs its user
// actions under the credId the server gave it (spec 5.6).
func TestPATs(t *testing.T) {
	requireServed(t, "POST", "/auth/pats")
	ctx := context.Background()
	s := newSession(t, client.ES256)
	patKey, pub := keyPair(t, client.EdDSA)

	pat, err := s.c.CreatePAT(ctx, client.CreatePATRequest{Name: "ci", PublicKey: pub, DaysValid: 30})
	if err != nil {
		t.Fatalf("CreatePAT: %v", err)
	}
	if pat.AccessToken == "" || pat.TokenID == "" || pat.CredID == "" || pat.Kind != client.TokenPAT || !pat.IsActive {
		t.Fatalf("created %+v", pat)
	}

	// Use the PAT: a signed call with the PAT's key under its credId.
	signer, err := client.NewKeySigner(pat.CredID, patKey)
	if err != nil {
		t.Fatal(err)
	}
	pc := s.anon.With(client.WithToken(pat.AccessToken), client.WithSigner(signer))
	if _, err := pc.CreatePermission(ctx, client.CreatePermissionRequest{Name: "from-pat", Operations: []string{"Auth:Users:Read"}}); err != nil {
		t.Errorf("signed call with the PAT: %v", err)
	}
	// The user's key cannot sign for the PAT.
	wrong := s.anon.With(client.WithToken(pat.AccessToken), client.WithSigner(s.key))
	if _, err := wrong.CreatePermission(ctx, client.CreatePermissionRequest{Name: "x", Operations: []string{"Auth:Users:Read"}}); err == nil {
		t.Error("the user's key signed for the PAT")
	}

	list, err := s.c.ListPATs(ctx)
	if err != nil || len(list.Items) != 1 || list.Items[0].AccessToken != "" {
		t.Errorf("ListPATs: %v %+v", err, list)
	}
	if got, err := s.c.GetPAT(ctx, pat.TokenID); err != nil || got.Name != "ci" {
		t.Errorf("GetPAT: %v %+v", err, got)
	}
	if got, err := s.c.UpdatePAT(ctx, pat.TokenID, client.UpdateAccessTokenRequest{Name: "ci-2"}); err != nil || got.Name != "ci-2" {
		t.Errorf("UpdatePAT: %v %+v", err, got)
	}
	if got, err := s.c.DeactivatePAT(ctx, pat.TokenID); err != nil || got.IsActive {
		t.Errorf("DeactivatePAT: %v %+v", err, got)
	}
	_, err = pc.ListCredentials(ctx)
	wantStatus(t, err, http.StatusUnauthorized)
	if got, err := s.c.ActivatePAT(ctx, pat.TokenID); err != nil || !got.IsActive {
		t.Errorf("ActivatePAT: %v %+v", err, got)
	}
	if _, err := pc.ListPATs(ctx); err != nil {
		t.Errorf("reactivated PAT: %v", err)
	}
	if _, err := s.c.DeletePAT(ctx, pat.TokenID); err != nil {
		t.Errorf("DeletePAT: %v", err)
	}
	_, err = pc.ListPATs(ctx)
	wantStatus(t, err, http.StatusUnauthorized)
}

// Service accounts start with no permission; an assignment gives one and
// revoking it takes it away (spec 12.8, 6).
func TestServiceAccountsAndPermissions(t *testing.T) {
	requireServed(t, "POST", "/auth/service-accounts")
	requireServed(t, "POST", "/permissions")
	ctx := context.Background()
	s := newSession(t, client.ES256)
	saKey, pub := keyPair(t, client.ES256K)

	sa, err := s.c.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{Name: "robot", PublicKey: pub})
	if err != nil {
		t.Fatalf("CreateServiceAccount: %v", err)
	}
	if len(sa.AccessTokens) != 1 || sa.AccessTokens[0].AccessToken == "" || !sa.UserInfo.IsServiceAccount {
		t.Fatalf("created %+v", sa)
	}
	id := sa.UserInfo.UserID
	signer, _ := client.NewKeySigner(sa.AccessTokens[0].CredID, saKey)
	sc := s.anon.With(client.WithToken(sa.AccessTokens[0].AccessToken), client.WithSigner(signer))

	_, err = sc.ListUsers(ctx, client.ListUsersRequest{})
	wantStatus(t, err, http.StatusForbidden)

	perm, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read", "Permissions:Create"}})
	if err != nil {
		t.Fatalf("CreatePermission: %v", err)
	}
	asg, err := s.c.CreateAssignment(ctx, perm.ID, id)
	if err != nil {
		t.Fatalf("CreateAssignment: %v", err)
	}
	if asg.PermissionID != perm.ID || asg.IdentityID != id {
		t.Errorf("assignment %+v", asg)
	}
	if _, err := sc.ListUsers(ctx, client.ListUsersRequest{}); err != nil {
		t.Errorf("assigned service account: %v", err)
	}
	// A signed call by the service account.
	if _, err := sc.CreatePermission(ctx, client.CreatePermissionRequest{Name: "by-robot", Operations: []string{"Auth:Users:Read"}}); err != nil {
		t.Errorf("signed call by the service account: %v", err)
	}
	asgs, err := s.c.ListAssignments(ctx, perm.ID, client.ListRequest{})
	if err != nil || len(asgs.Items) != 1 {
		t.Errorf("ListAssignments: %v %+v", err, asgs)
	}
	if err := s.c.DeleteAssignment(ctx, perm.ID, asg.ID); err != nil {
		t.Errorf("DeleteAssignment: %v", err)
	}
	_, err = sc.ListUsers(ctx, client.ListUsersRequest{})
	wantStatus(t, err, http.StatusForbidden)

	// Permissions.
	if p, err := s.c.GetPermission(ctx, perm.ID); err != nil || p.Name != "readers" {
		t.Errorf("GetPermission: %v %+v", err, p)
	}
	if p, err := s.c.UpdatePermission(ctx, perm.ID, client.UpdatePermissionRequest{Name: "readers-2"}); err != nil || p.Name != "readers-2" {
		t.Errorf("UpdatePermission: %v %+v", err, p)
	}
	if p, err := s.c.ArchivePermission(ctx, perm.ID, true); err != nil || !p.IsArchived {
		t.Errorf("ArchivePermission: %v %+v", err, p)
	}
	if p, err := s.c.ArchivePermission(ctx, perm.ID, false); err != nil || p.IsArchived {
		t.Errorf("unarchive: %v %+v", err, p)
	}
	all, err := s.c.ListPermissions(ctx, client.ListRequest{Limit: 50})
	if err != nil || len(all.Items) < 3 { // the admin's, readers, by-robot
		t.Errorf("ListPermissions: %v %d", err, len(all.Items))
	}

	// Service-account lifecycle.
	if l, err := s.c.ListServiceAccounts(ctx); err != nil || len(l.Items) != 1 {
		t.Errorf("ListServiceAccounts: %v %+v", err, l)
	}
	if got, err := s.c.GetServiceAccount(ctx, id); err != nil || got.UserInfo.UserID != id {
		t.Errorf("GetServiceAccount: %v %+v", err, got)
	}
	if got, err := s.c.UpdateServiceAccount(ctx, id, client.UpdateAccessTokenRequest{Name: "robot-2"}); err != nil || got.UserInfo.UserID != id {
		t.Errorf("UpdateServiceAccount: %v %+v", err, got)
	}
	if got, err := s.c.DeactivateServiceAccount(ctx, id, false); err != nil || got.UserInfo.IsActive {
		t.Errorf("DeactivateServiceAccount: %v %+v", err, got)
	}
	_, err = sc.ListServiceAccounts(ctx)
	wantStatus(t, err, http.StatusUnauthorized)
	if got, err := s.c.ActivateServiceAccount(ctx, id); err != nil || !got.UserInfo.IsActive {
		t.Errorf("ActivateServiceAccount: %v %+v", err, got)
	}
	if _, err := s.c.DeleteServiceAccount(ctx, id, true); err != nil {
		t.Errorf("DeleteServiceAccount: %v", err)
	}
	_, err = sc.ListServiceAccounts(ctx)
	wantStatus(t, err, http.StatusUnauthorized)
}

// Signed calls land in the audit log, as CSV in a JSON string (spec 8).
func TestAuditLogs(t *testing.T) {
	requireServed(t, "GET", "/auth/action/logs")
	ctx := context.Background()
	s := newSession(t, client.ES256)
	start := time.Now().Add(-time.Minute)
	if _, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "audited", Operations: []string{"Auth:Users:Read"}}); err != nil {
		t.Fatal(err)
	}
	csv, err := s.c.ListAuditLogs(ctx, client.AuditLogsRequest{StartTime: start, EndTime: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, line := range strings.Split(csv, "\n") {
		if f := strings.Split(line, ","); len(f) == 7 && f[5] == "/permissions" {
			id = f[1]
		}
	}
	if !strings.HasPrefix(csv, "Date Performed,Audit Log ID") || id == "" {
		t.Fatalf("audit CSV has no /permissions entry:\n%s", csv)
	}
	e, err := s.c.GetAuditLog(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != id || e.FirstFactorCredential.ID == "" || e.FirstFactorCredential.Assertion == nil {
		t.Errorf("audit log %+v", e)
	}
}

// Delegated registration and login by a service account (spec 5.1, 5.2).
func TestDelegated(t *testing.T) {
	requireServed(t, "POST", "/auth/registration/delegated")
	ctx := context.Background()
	s := newSession(t, client.ES256)
	perm, err := s.c.CreatePermission(ctx, client.CreatePermissionRequest{Name: "delegate", Operations: []string{"Auth:Register:Delegated", "Auth:Login:Delegated"}})
	if err != nil {
		t.Fatal(err)
	}
	saKey, pub := keyPair(t, client.ES256)
	sa, err := s.c.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{Name: "app", PublicKey: pub, PermissionID: perm.ID})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := client.NewKeySigner(sa.AccessTokens[0].CredID, saKey)
	app := s.anon.With(client.WithToken(sa.AccessTokens[0].AccessToken), client.WithSigner(signer))

	ch, err := app.DelegatedRegistrationInit(ctx, client.DelegatedRegistrationRequest{Email: "eve@example.com", Kind: client.EndUser})
	if err != nil {
		t.Fatalf("DelegatedRegistrationInit: %v", err)
	}
	eve := newKey(t, client.EdDSA)
	att, _ := eve.CreateCredential(ctx, ch.Creation())
	reg, err := s.anon.RegistrationComplete(ctx, ch.TemporaryAuthenticationToken, client.RegisterRequest{FirstFactorCredential: att})
	if err != nil {
		t.Fatalf("register the delegated user: %v", err)
	}
	if reg.User.Username != "eve@example.com" {
		t.Errorf("registered %+v", reg.User)
	}
	if !serves(t, "POST", "/auth/login/delegated") {
		return
	}
	login, err := app.DelegatedLogin(ctx, client.DelegatedLoginRequest{Username: "eve@example.com"})
	if err != nil {
		t.Fatalf("DelegatedLogin: %v", err)
	}
	creds, err := s.anon.With(client.WithToken(login.Token)).ListCredentials(ctx)
	if err != nil || len(creds.Items) != 1 {
		t.Errorf("eve's credentials: %v %+v", err, creds)
	}
}

// Codes sent by signet's delivery answer the same whether or not the user
// exists. This server has no delivery, so signet refuses to send codes
// that could reach nobody, for every user alike (issue 11): a 403 the SDK
// returns as a *client.Error.
func TestSendCodes(t *testing.T) {
	ctx := context.Background()
	s := newSession(t, client.ES256)
	req := client.CodeRequest{OrgID: s.orgID, Username: "nobody@example.com"}
	refused := func(what string, err error) {
		t.Helper()
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "forbidden" {
			t.Errorf("%s without a code delivery: %v, want a 403 forbidden", what, err)
		}
	}
	if serves(t, "PUT", "/auth/registration/code") {
		_, err := s.anon.ResendRegistrationCode(ctx, req)
		refused("ResendRegistrationCode", err)
	}
	if serves(t, "POST", "/auth/recover/user/code") {
		_, err := s.anon.SendRecoveryCode(ctx, req)
		refused("SendRecoveryCode", err)
	}
	if serves(t, "POST", "/auth/login/code") {
		_, err := s.anon.SendLoginCode(ctx, req)
		refused("SendLoginCode", err)
	}
}
