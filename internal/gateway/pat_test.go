package gateway_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/auth"
)

// assignmentDeleter is the part of both stores' API a test uses to take a
// permission away from a user (auth.Store).
type assignmentDeleter interface {
	DeleteAssignment(ctx context.Context, orgID, permissionID, id string) error
}

// grantRevocable gives u a new permission holding ops and returns a func
// that takes it away again.
func (e *env) grantRevocable(u *user, ops ...string) (permissionID string, revoke func()) {
	e.t.Helper()
	w := e.parts.Store.(permissionWriter)
	now := time.Now().UTC().Truncate(time.Millisecond)
	pid := "pm-" + strings.ToLower(rand.Text())
	aid := "as-" + strings.ToLower(rand.Text())
	ctx := context.Background()
	if err := w.CreatePermission(ctx, &auth.Permission{ID: pid, OrgID: u.orgID, Name: "ops " + pid, Operations: ops, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if err := w.CreateAssignment(ctx, &auth.Assignment{ID: aid, OrgID: u.orgID, PermissionID: pid, IdentityID: u.userID, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	return pid, func() {
		e.t.Helper()
		if err := e.parts.Store.(assignmentDeleter).DeleteAssignment(ctx, u.orgID, pid, aid); err != nil {
			e.t.Fatal(err)
		}
	}
}

// permissionOnly makes a permission holding ops, assigned to no one, for
// a PAT to be restricted to.
func (e *env) permissionOnly(u *user, ops ...string) string {
	e.t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	pid := "pm-" + strings.ToLower(rand.Text())
	if err := e.parts.Store.(permissionWriter).CreatePermission(context.Background(), &auth.Permission{ID: pid, OrgID: u.orgID, Name: "ops " + pid, Operations: ops, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	return pid
}

// pat is a personal access token of a user with the SDK client that uses
// it and signs with its key.
type pat struct {
	id     string
	token  string
	client *client.Client
	last   *lastResponse
}

func (e *env) newPAT(u *user, permissionID string) *pat {
	e.t.Helper()
	priv, err := client.GenerateKey(client.ES256)
	if err != nil {
		e.t.Fatal(err)
	}
	pem, err := client.EncodePublicKeyPEM(priv.Public())
	if err != nil {
		e.t.Fatal(err)
	}
	at, err := u.client.CreatePAT(context.Background(), client.CreatePATRequest{Name: "pat " + rand.Text()[:6], PublicKey: pem, PermissionID: permissionID})
	if err != nil {
		e.t.Fatalf("create PAT: %v (%s)", err, u.last.get().raw)
	}
	signer, err := client.NewKeySigner(at.CredID, priv)
	if err != nil {
		e.t.Fatal(err)
	}
	last := &lastResponse{}
	c, err := client.New(e.url, client.WithHTTPClient(&http.Client{Transport: last, Timeout: 30 * time.Second}),
		client.WithToken(at.AccessToken), client.WithSigner(signer))
	if err != nil {
		e.t.Fatal(err)
	}
	return &pat{id: at.TokenID, token: at.AccessToken, client: c, last: last}
}

// signed makes a signed request with the PAT's client and returns the
// server's answer.
func (p *pat) signed(t *testing.T, method, path, body string) resp {
	t.Helper()
	u := &user{client: p.client, last: p.last}
	return (&env{t: t}).signed(u, method, path, body)
}

// TestGatewayPATGate: a PAT holds its user's operator operations as they
// are at each request, never more, and no more than its own permission
// when it is restricted to one; a deactivated PAT stops at once. The
// gate is the gateway's own (routes declared in the route file), so this
// covers the same rule as signet's routes on the gateway's path.
func TestGatewayPATGate(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	p := e.newPAT(u, "")

	get := func(tok string) int { return e.do("GET", "/orders/1", tok, nil).status }

	// The user lacks Orders:Read, so the PAT does too.
	if s := get(p.token); s != 403 {
		t.Fatalf("PAT GET before the user holds Orders:Read: %d, want 403", s)
	}
	_, revokeRead := e.grantRevocable(u, "Orders:Read")
	if s := get(p.token); s != 200 {
		t.Fatalf("PAT GET once the user holds Orders:Read: %d, want 200", s)
	}
	// The PAT cannot sign its way past its user: no Orders:Create.
	n := e.up.count()
	if r := p.signed(t, "POST", "/orders", `{"amount":1}`); r.status != 403 || r.code() != "forbidden" {
		t.Errorf("PAT POST without Orders:Create: %d %s", r.status, r.raw)
	}
	_, revokeCreate := e.grantRevocable(u, "Orders:Create")
	if r := p.signed(t, "POST", "/orders", `{"amount":2}`); r.status != 200 {
		t.Errorf("PAT POST with Orders:Create: %d %s", r.status, r.raw)
	}
	if got := e.up.count() - n; got != 1 {
		t.Errorf("upstream saw %d POSTs, want exactly the allowed one", got)
	}
	// Taken from the user, taken from the PAT, at the very next request.
	revokeCreate()
	if r := p.signed(t, "POST", "/orders", `{"amount":3}`); r.status != 403 {
		t.Errorf("PAT POST after the user lost Orders:Create: %d %s", r.status, r.raw)
	}
	revokeRead()
	if s := get(p.token); s != 403 {
		t.Errorf("PAT GET after the user lost Orders:Read: %d, want 403", s)
	}

	// A PAT restricted to a permission holds the intersection: the
	// user's Orders:Read is not the PAT's when its permission lacks it,
	// and the permission's Orders:Create is not the PAT's when the user
	// lacks it.
	e.grant(u, "Orders:Read")
	ping := e.newPAT(u, e.permissionOnly(u, "Orders:Ping"))
	if s := get(ping.token); s != 403 {
		t.Errorf("PAT restricted to Orders:Ping, GET: %d, want 403", s)
	}
	wide := e.newPAT(u, e.permissionOnly(u, "Orders:Read", "Orders:Create"))
	if s := get(wide.token); s != 200 {
		t.Errorf("PAT restricted to Orders:Read+Create, GET: %d, want 200", s)
	}
	n = e.up.count()
	if r := wide.signed(t, "POST", "/orders", `{"amount":4}`); r.status != 403 {
		t.Errorf("restricted PAT POST while its user lacks Orders:Create: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Error("a refused PAT request reached the upstream")
	}

	// Deactivated by its user: the next request is refused as
	// unauthenticated, like any revoked token; reactivated, it works.
	if _, err := u.client.DeactivatePAT(context.Background(), wide.id); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if s := get(wide.token); s != 401 {
		t.Errorf("deactivated PAT GET: %d, want 401", s)
	}
	if _, err := u.client.ActivatePAT(context.Background(), wide.id); err != nil {
		t.Fatalf("activate: %v", err)
	}
	if s := get(wide.token); s != 200 {
		t.Errorf("reactivated PAT GET: %d, want 200", s)
	}
	if _, err := u.client.DeletePAT(context.Background(), wide.id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s := get(wide.token); s != 401 {
		t.Errorf("deleted PAT GET: %d, want 401", s)
	}
}
