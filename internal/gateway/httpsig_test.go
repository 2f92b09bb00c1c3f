package gateway_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/gateway"
)

// sigRequest is a request to the gateway signed with RFC 9421 by u's key
// (client.KeySigner.SignRequest).
func (e *env) sigRequest(u *user, method, path, body string) *http.Request {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+u.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := u.signer.SignRequest(req, []byte(body), time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return req
}

func clone(req *http.Request, body string) *http.Request {
	c := req.Clone(req.Context())
	c.Body = http.NoBody
	if body != "" {
		c.Body = ioNop(body)
		c.ContentLength = int64(len(body))
	}
	return c
}

// TestHTTPSigGateway: an RFC 9421 signed request passes the gateway in
// place of X-DFNS-USERACTION, with the operation check; the signature
// fields do not reach the upstream; every binding holds.
func TestHTTPSigGateway(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Create")
	const body = `{"item":"book","qty":1}`

	// The SDK, once the server advertised Accept-Signature, signs this way.
	if r := e.signed(u, "POST", "/orders", body); r.status != 200 {
		t.Fatalf("SDK: %d %s", r.status, r.raw)
	}
	got, _ := e.up.last()
	if got.header.Get("Signature") != "" || got.header.Get("Signature-Input") != "" || got.header.Get("Authorization") != "" {
		t.Errorf("credentials reached the upstream: %v", got.header)
	}
	if string(got.body) != body {
		t.Errorf("upstream body %q", got.body)
	}

	req := e.sigRequest(u, "POST", "/orders", body)
	if r := e.send(clone(req, body)); r.status != 200 {
		t.Fatalf("signed: %d %s", r.status, r.raw)
	}
	n := e.up.count()
	if r := e.send(clone(req, body)); r.status != 401 {
		t.Errorf("replay: %d %s", r.status, r.raw)
	}
	req = e.sigRequest(u, "POST", "/orders", body)
	q := clone(req, body)
	q.URL.RawQuery = "qty=1000"
	e.refused(t, "changed query", e.send(q), n, 401, "unauthenticated")
	req = e.sigRequest(u, "POST", "/orders", body)
	e.refused(t, "changed body", e.send(clone(req, `{"item":"book","qty":1000}`)), n, 400, "invalid")
	req = e.sigRequest(u, "POST", "/orders", body)
	b := clone(req, body)
	b.Header.Set("X-DFNS-USERACTION", "x")
	e.refused(t, "both", e.send(b), n, 400, "invalid")

	// The operation check still applies.
	v := e.newUser()
	req = e.sigRequest(v, "POST", "/orders", body)
	e.refused(t, "no operation", e.send(clone(req, body)), n, 403, "forbidden")
}

type nopBody struct{ *bytes.Reader }

func (nopBody) Close() error { return nil }

func ioNop(s string) nopBody { return nopBody{bytes.NewReader([]byte(s))} }

// TestHTTPSigEveryRoute walks the route file: every route of the gateway
// that requires a user action forwards a request carrying an RFC 9421
// signature in its place, and refuses one whose signature does not verify
// over the request (401, nothing forwarded).
func TestHTTPSigEveryRoute(t *testing.T) {
	e := newEnv(t, testRoutes)
	rs, err := gateway.ParseRoutes([]byte(testRoutes))
	if err != nil {
		t.Fatal(err)
	}
	u := e.newUser()
	e.grant(u, rs.Operations()...)
	n := 0
	for _, rt := range rs.Routes() {
		if rt.Method == "GET" || rt.Method == "HEAD" || rt.Public || rt.Unsigned {
			continue
		}
		n++
		path := rt.Path
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "zz-1" + path[j+1:]
		}
		t.Run(rt.String(), func(t *testing.T) {
			const body = `{"item":"book"}`
			before := e.up.count()
			bad := clone(e.sigRequest(u, rt.Method, path, body), body)
			bad.Header.Set("Signature", e.sigRequest(u, rt.Method, path, `{"item":"pen"}`).Header.Get("Signature"))
			e.refused(t, "signature over another body", e.send(bad), before, 401, "unauthenticated")
			if r := e.send(clone(e.sigRequest(u, rt.Method, path, body), body)); r.status != 200 || e.up.count() != before+1 {
				t.Fatalf("signed: %d %s, %d forwarded", r.status, r.raw, e.up.count()-before)
			}
		})
	}
	if n < 2 {
		t.Fatalf("%d signed routes in the route file", n)
	}
}

// TestHTTPSigGatewayOutcome: the action of an RFC 9421 request through the
// gateway is recorded by its audit entry alone (no action row), and
// signet's API, served through the gateway, answers its read from that
// entry: used, created when it was used, no expiry; only for its own
// identity.
func TestHTTPSigGatewayOutcome(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Create")
	const body = `{"item":"book","qty":1}`
	if r := e.send(e.sigRequest(u, "POST", "/orders", body)); r.status != 200 {
		t.Fatalf("signed: %d %s", r.status, r.raw)
	}
	ctx := t.Context()
	sums, err := e.parts.Store.AuditSummaries(ctx, auth.AuditQuery{OrgID: u.orgID, Limit: 10})
	if err != nil || len(sums) != 1 {
		t.Fatalf("AuditSummaries = %v, %v; want the request's entry", sums, err)
	}
	id := sums[0].ID
	if _, err := e.parts.Store.Action(ctx, u.orgID, id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Action(%s) = %v, want no row beside the entry", id, err)
	}
	o := e.do("GET", "/auth/action/"+id, u.token, nil)
	if o.status != 200 || o.str("state") != "used" || o.str("method") != "POST" || o.str("path") != "/orders" ||
		o.str("dateUsed") == "" || o.str("dateCreated") != o.str("dateUsed") || o.body["expiresAt"] != nil {
		t.Fatalf("GET /auth/action/%s: %d %s; want used, created when used, no expiry", id, o.status, o.raw)
	}
	// The gateway records the outcome after the response has gone, so it
	// may not be there yet; when it is, it is the upstream's status.
	if out, ok := o.body["outcome"].(map[string]any); ok && out["status"] != float64(200) {
		t.Errorf("outcome %v, want the upstream's 200", out)
	}
	if r := e.do("GET", "/auth/action/"+id, e.newUser().token, nil); r.status != 404 {
		t.Errorf("another org reads it: %d %s", r.status, r.raw)
	}
}

// TestHTTPSigGatewayRevokedSession: an RFC 9421 request's principal and
// the credentials its signature is checked against are read together
// (auth.Service.AuthenticateSigner, one store read): a request signed
// before its session was revoked is refused after, and nothing reaches
// the upstream.
func TestHTTPSigGatewayRevokedSession(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Create")
	const body = `{"item":"book","qty":1}`
	if r := e.send(e.sigRequest(u, "POST", "/orders", body)); r.status != 200 {
		t.Fatalf("signed: %d %s", r.status, r.raw)
	}
	req := e.sigRequest(u, "POST", "/orders", body)
	if r := e.do("PUT", "/auth/logout", u.token, nil); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	e.refused(t, "signed before logout", e.send(clone(req, body)), e.up.count(), 401, "unauthenticated")
}
