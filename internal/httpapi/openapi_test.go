package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// exchange is one request and its response, as sent on the wire.
type exchange struct {
	method, path, query string
	reqHeader           http.Header
	reqBody             []byte
	status              int
	resHeader           http.Header
	resBody             []byte
}

// recorder keeps every exchange the handler serves.
type recorder struct {
	mu sync.Mutex
	xs []exchange
}

func (rc *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		rc.mu.Lock()
		rc.xs = append(rc.xs, exchange{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body, rec.Code, rec.Header().Clone(), rec.Body.Bytes()})
		rc.mu.Unlock()
	})
}

// loadDoc fetches GET /openapi.json and checks it with kin-openapi as an
// OpenAPI 3.1 document.
func loadDoc(t *testing.T, base string) (*openapi3.T, routers.Router) {
	t.Helper()
	res, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi refuses the document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// validate checks x against the document: the request (parameters,
// headers, body) and the response (status, body schema). It returns the
// documented route, or "" when none matches.
func validate(router routers.Router, base string, x exchange) (string, error) {
	u := base + x.path
	if x.query != "" {
		u += "?" + x.query
	}
	req, _ := http.NewRequest(x.method, u, bytes.NewReader(x.reqBody))
	req.Header = x.reqHeader
	route, params, err := router.FindRoute(req)
	if err != nil {
		return "", nil
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	// A request the server refused need not fit the document (that is why
	// it was refused); one it accepted must.
	if x.status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return "", fmt.Errorf("%s %s: request does not fit the document: %w", x.method, x.path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.status, Header: x.resHeader,
		Body: io.NopCloser(bytes.NewReader(x.resBody)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "", fmt.Errorf("%s %s -> %d: response does not fit the document: %.300w\n%.300s", x.method, x.path, x.status, err, x.resBody)
	}
	return route.Method + " " + route.Path, nil
}

// TestOpenAPI serves the document, validates it with kin-openapi (an
// OpenAPI 3.1 document, JSON Schema 2020-12), then drives a real server
// through the Go SDK and validates every request and response exchanged
// against it: the examples are real traffic, not hand-written.
func TestOpenAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	parts, err := server.Assemble(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close()
	rc := &recorder{}
	srv := httptest.NewServer(rc.wrap(recordExamples(t, parts.Handler)))
	defer srv.Close()
	doc, router := loadDoc(t, srv.URL)

	// Every route of the table is in the document, with its operation.
	for _, want := range []struct{ path, method, op string }{
		{"/auth/users/{userId}", "GET", "Auth:Users:Read"},
		{"/auth/pats", "POST", "Auth:Pats:Create"},
		{"/permissions/{permissionId}/assignments/{assignmentId}", "DELETE", "Permissions:Revoke"},
		{"/auth/login", "POST", ""},
		{"/openapi.json", "GET", ""},
	} {
		pi := doc.Paths.Find(want.path)
		if pi == nil || pi.GetOperation(want.method) == nil {
			t.Fatalf("%s %s missing from the document", want.method, want.path)
		}
		if got, _ := pi.GetOperation(want.method).Extensions["x-signet-operation"].(string); got != want.op {
			t.Errorf("%s %s: x-signet-operation %q, want %q", want.method, want.path, got, want.op)
		}
	}
	if n := len(doc.Paths.Map()); n < 40 {
		t.Errorf("only %d paths documented", n)
	}

	// Real traffic.
	b, err := parts.Service.Bootstrap(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := client.GenerateKey(client.ES256)
	key, _ := client.NewKeySigner("ann-key", priv)
	c, _ := client.New(srv.URL)
	if _, err := c.Register(ctx, client.RegistrationInitRequest{OrgID: b.Org.ID, Username: b.User.Username, RegistrationCode: b.Code}, key); err != nil {
		t.Fatal(err)
	}
	login, err := c.Login(ctx, client.LoginInitRequest{OrgID: b.Org.ID, Username: b.User.Username}, key)
	if err != nil {
		t.Fatal(err)
	}
	ann := c.With(client.WithToken(login.Token), client.WithSigner(key))
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ann.ListCredentials(ctx))
	bob, err := ann.CreateUser(ctx, client.CreateUserRequest{Email: "bob@example.com", Kind: "CustomerEmployee"})
	must(bob, err)
	must(ann.ListUsers(ctx, client.ListUsersRequest{}))
	must(ann.GetUser(ctx, bob.UserID))
	must(ann.DeactivateUser(ctx, bob.UserID))
	must(ann.ActivateUser(ctx, bob.UserID))
	patKey, _ := client.GenerateKey(client.EdDSA)
	pem, _ := client.EncodePublicKeyPEM(patKey.Public())
	pat, err := ann.CreatePAT(ctx, client.CreatePATRequest{Name: "ci", PublicKey: pem})
	must(pat, err)
	must(ann.GetPAT(ctx, pat.TokenID))
	must(ann.ListPATs(ctx))
	perm, err := ann.CreatePermission(ctx, client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read"}})
	must(perm, err)
	must(ann.GetPermission(ctx, perm.ID))
	must(ann.ListPermissions(ctx, client.ListRequest{}))
	must(ann.UpdatePermission(ctx, perm.ID, client.UpdatePermissionRequest{Name: "readers2"}))
	as, err := ann.CreateAssignment(ctx, perm.ID, bob.UserID)
	must(as, err)
	must(ann.ListAssignments(ctx, perm.ID, client.ListRequest{}))
	must(nil, ann.DeleteAssignment(ctx, perm.ID, as.ID))
	must(ann.ArchivePermission(ctx, perm.ID, true))
	must(ann.UpdatePAT(ctx, pat.TokenID, client.UpdateAccessTokenRequest{Name: "ci2"}))
	must(ann.DeactivatePAT(ctx, pat.TokenID))
	must(ann.ActivatePAT(ctx, pat.TokenID))
	must(ann.DeletePAT(ctx, pat.TokenID))
	saKey, _ := client.GenerateKey(client.ES256)
	saPEM, _ := client.EncodePublicKeyPEM(saKey.Public())
	sa, err := ann.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{Name: "bot", PublicKey: saPEM})
	must(sa, err)
	saID := sa.UserInfo.UserID
	must(ann.ListServiceAccounts(ctx))
	must(ann.GetServiceAccount(ctx, saID))
	must(ann.UpdateServiceAccount(ctx, saID, client.UpdateAccessTokenRequest{Name: "bot2"}))
	must(ann.DeactivateServiceAccount(ctx, saID, true))
	must(ann.ActivateServiceAccount(ctx, saID))
	must(ann.DeleteServiceAccount(ctx, saID, true))
	must(ann.UpdateUser(ctx, bob.UserID, client.UpdateUserRequest{}))
	must(ann.DeleteUser(ctx, bob.UserID))
	k2priv, _ := client.GenerateKey(client.EdDSA)
	k2, _ := client.NewKeySigner("ann-key-2", k2priv)
	cred, err := ann.AddCredential(ctx, client.KindKey, "second", k2)
	must(cred, err)
	must(ann.DeactivateCredential(ctx, cred.CredentialUUID))
	must(ann.ActivateCredential(ctx, cred.CredentialUUID))
	must(ann.ListAuditLogs(ctx, client.AuditLogsRequest{StartTime: time.Now().Add(-time.Hour), EndTime: time.Now().Add(time.Minute)}))
	// A service that receives signed requests spends the action through
	// POST /auth/action/verify (middleware); the spend is then in the
	// audit log, read one entry at a time.
	ua, err := ann.SignAction(ctx, "POST", "/orders", `{"qty":1}`)
	must(ua, err)
	vb, _ := json.Marshal(map[string]string{"userAction": ua, "method": "POST", "path": "/orders", "payload": `{"qty":1}`})
	var verified struct {
		Action struct {
			ID string `json:"id"`
		} `json:"action"`
	}
	rawCall(t, "POST", srv.URL+"/auth/action/verify", login.Token, string(vb), &verified)
	rawCall(t, "GET", srv.URL+"/auth/action/logs/"+verified.Action.ID, login.Token, "", nil)
	rawCall(t, "GET", srv.URL+"/auth/apps", login.Token, "", nil)
	for _, p := range []string{"/healthz", "/readyz", "/.well-known/jwks.json", "/openapi.json"} {
		res, err := http.Get(srv.URL + p)
		must(nil, err)
		res.Body.Close()
	}
	// Refusals are documented too: no token, a bad body, a missing action.
	for _, r := range []struct{ method, path, tok, body string }{
		{"GET", "/auth/users", "", ""},
		{"POST", "/auth/login/init", "", `{"orgId":`},
		{"POST", "/auth/users", login.Token, `{"email":"x@example.com","kind":"CustomerEmployee"}`},
		{"GET", "/auth/users/us-nope", login.Token, ""},
		{"GET", "/auth/apps/ap-nope", login.Token, ""}, // every id: signet keeps no applications
	} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if r.tok != "" {
			req.Header.Set("Authorization", "Bearer "+r.tok)
		}
		res, err := http.DefaultClient.Do(req)
		must(nil, err)
		res.Body.Close()
	}
	must(ann.Logout(ctx, client.LogoutRequest{}))

	covered := map[string]int{}
	for _, x := range rc.xs {
		r, err := validate(router, srv.URL, x)
		switch {
		case err != nil:
			t.Error(err)
		case r == "":
			t.Errorf("%s %s: no documented route", x.method, x.path)
		default:
			covered[r]++
		}
	}
	var names []string
	for r := range covered {
		names = append(names, r)
	}
	sort.Strings(names)
	t.Logf("%d exchanges validated, %d routes of %d: %s", len(rc.xs), len(covered), countOps(doc), strings.Join(names, ", "))
	if len(covered) < 40 {
		t.Errorf("only %d routes exercised", len(covered))
	}
	if os.Getenv("SIGNET_OPENAPI_OUT") != "" {
		raw, _ := json.MarshalIndent(doc, "", "  ")
		os.WriteFile(os.Getenv("SIGNET_OPENAPI_OUT"), raw, 0o644)
	}
}

// rawCall sends one JSON request and fails the test unless it succeeds;
// out, when not nil, receives the decoded answer.
func rawCall(t *testing.T, method, url, tok, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

func countOps(doc *openapi3.T) int {
	n := 0
	for _, pi := range doc.Paths.Map() {
		n += len(pi.Operations())
	}
	return n
}

// TestOpenAPIRefusesWrongBodies: the document is strict enough to tell a
// wrong answer: a response with a field of the wrong type, and an error
// body without its code, do not validate.
func TestOpenAPIRefusesWrongBodies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + filepath.Join(dir, "signet.db")
	cfg.KeyFile = filepath.Join(dir, "signet.key")
	parts, err := server.Assemble(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close()
	srv := httptest.NewServer(parts.Handler)
	defer srv.Close()
	_, router := loadDoc(t, srv.URL)
	for _, x := range []exchange{
		{method: "GET", path: "/healthz", status: 200, resBody: []byte(`{"status":7}`)},
		// Responses are exact: no field beyond the declared type's, none
		// of its always-written fields missing.
		{method: "GET", path: "/healthz", status: 200, resBody: []byte(`{"status":"ok","extra":1}`)},
		{method: "GET", path: "/healthz", status: 200, resBody: []byte(`{}`)},
		{method: "POST", path: "/auth/login", status: 200, reqBody: []byte(`{}`), resBody: []byte(`{"token":"t","userId":"us-1"}`)},
		{method: "GET", path: "/auth/users/us-1", status: 404, resBody: []byte(`{"error":{"status":404,"message":"no"}}`)},
		{method: "GET", path: "/auth/users/us-1", status: 200, resBody: []byte(`{"userId":1}`)},
	} {
		x.reqHeader = http.Header{"Authorization": {"Bearer x"}}
		x.resHeader = http.Header{"Content-Type": {"application/json"}}
		if r, err := validate(router, srv.URL, x); err == nil {
			t.Errorf("%s -> %d %s validated (route %q)", x.path, x.status, x.resBody, r)
		}
	}
}
