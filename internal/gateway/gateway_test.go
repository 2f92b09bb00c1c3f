package gateway_test

import (
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/gateway"
)

func TestAuthenticatedGET(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read")

	r := e.do("GET", "/orders/42?expand=items&x=1", u.token, nil, "X-Request-Id", "req-123")
	if r.status != 200 || string(r.raw) != `{"ok":true}` {
		t.Fatalf("GET: %d %s", r.status, r.raw)
	}
	if got := r.header.Get("X-Request-Id"); got != "req-123" {
		t.Errorf("response X-Request-Id = %q", got)
	}
	s, _ := e.up.last()
	want := map[string]string{
		gateway.HeaderOrgID:     u.orgID,
		gateway.HeaderUserID:    u.userID,
		gateway.HeaderTokenKind: "Token",
		"X-Request-Id":          "req-123",
		"X-Forwarded-For":       "127.0.0.1",
		"Authorization":         "",
		gateway.HeaderActionID:  "",
	}
	for k, v := range want {
		if got := s.header.Get(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	if s.header.Get(gateway.HeaderTokenID) == "" {
		t.Errorf("upstream got no %s", gateway.HeaderTokenID)
	}
	if s.method != "GET" || s.path != "/orders/42" || s.query != "expand=items&x=1" {
		t.Errorf("upstream got %s %s ? %s", s.method, s.path, s.query)
	}

	// HEAD follows the GET route.
	req, _ := http.NewRequest("HEAD", e.url+"/orders/42", nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	if r := e.send(req); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}

	// Revocation is immediate: after logout the same token is refused.
	if r := e.do("PUT", "/auth/logout", u.token, nil); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	n := e.up.count()
	if r := e.do("GET", "/orders/42", u.token, nil); r.status != 401 {
		t.Errorf("GET after logout: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Error("a revoked token reached the upstream")
	}
}

func TestSpoofedIdentityHeaders(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read")
	spoof := []string{
		"X-Signet-User-Id", "us-evil",
		"x-signet-org-id", "or-evil",
		"X-SIGNET-TOKEN-KIND", "ServiceAccount",
		"X-Signet-Action-Id", "uj-evil",
		"X-Signet-Anything", "evil",
		"X-Signet_User_Id", "us-evil", // CGI-style servers read it as X-Signet-User-Id
		"X_Signet_Org_Id", "or-evil",
		"X-Forwarded-For", "6.6.6.6",
		"X-Forwarded-User", "root",
		"X-Forwarded-Host", "evil.example",
		"Forwarded", "for=6.6.6.6;by=evil",
		"X-DFNS-USERACTION", "whatever",
	}
	check := func(name string, s seen, identity bool) {
		t.Helper()
		for k, v := range s.header {
			lk := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
			for _, x := range v {
				if strings.Contains(x, "evil") || x == "root" || x == "whatever" {
					t.Errorf("%s: spoofed header %s: %q reached the upstream", name, k, x)
				}
			}
			if strings.HasPrefix(lk, "x-signet-") && len(v) != 1 {
				t.Errorf("%s: %s has %d values", name, k, len(v))
			}
		}
		if got := s.header.Get("X-Forwarded-For"); got != "6.6.6.6, 127.0.0.1" {
			t.Errorf("%s: X-Forwarded-For = %q, want the client's address appended", name, got)
		}
		if got := s.header.Get("Forwarded"); got != "" {
			t.Errorf("%s: Forwarded = %q", name, got)
		}
		if identity {
			if s.header.Get(gateway.HeaderUserID) != u.userID || s.header.Get(gateway.HeaderOrgID) != u.orgID || s.header.Get(gateway.HeaderTokenKind) != "Token" {
				t.Errorf("%s: identity headers %v", name, s.header)
			}
		} else if len(s.header.Values(gateway.HeaderUserID))+len(s.header.Values(gateway.HeaderOrgID)) != 0 {
			t.Errorf("%s: identity headers on a public route", name)
		}
	}

	if r := e.do("GET", "/orders/1", u.token, nil, spoof...); r.status != 200 {
		t.Fatalf("GET: %d %s", r.status, r.raw)
	}
	s, _ := e.up.last()
	check("authenticated", s, true)

	if r := e.do("GET", "/public/docs", "", nil, spoof...); r.status != 200 {
		t.Fatalf("public GET: %d %s", r.status, r.raw)
	}
	s, _ = e.up.last()
	check("public", s, false)

	// A public route never sees the caller's token either.
	if r := e.do("GET", "/public/docs", u.token, nil); r.status != 200 {
		t.Fatalf("public GET with token: %d %s", r.status, r.raw)
	}
	if s, _ := e.up.last(); s.header.Get("Authorization") != "" || s.header.Get(gateway.HeaderUserID) != "" {
		t.Errorf("public route got credentials or identity: %v", s.header)
	}
}

func TestBearerRequired(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read")
	tampered := u.token[:len(u.token)-2] + "AA"
	if tampered == u.token {
		tampered = u.token[:len(u.token)-2] + "BB"
	}
	for _, tc := range []struct{ name, auth string }{
		{"missing", ""},
		{"empty bearer", "Bearer "},
		{"garbage", "Bearer not-a-token"},
		{"other scheme", "Basic " + u.token},
		{"tampered signature", "Bearer " + tampered},
		{"unrouted path", "Bearer not-a-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/orders/1"
			if tc.name == "unrouted path" {
				path = "/nowhere" // anonymous callers learn nothing about the route table
			}
			req, _ := http.NewRequest("GET", e.url+path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			n := e.up.count()
			r := e.send(req)
			if r.status != 401 || r.code() != "unauthenticated" || r.str("error", "message") != "Not Authorized." {
				t.Errorf("got %d %s", r.status, r.raw)
			}
			if e.up.count() != n {
				t.Error("request reached the upstream")
			}
		})
	}
}

func TestSignedRequests(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Create", "Orders:Ping")
	const body = `{"item":"book","qty":2}`

	ua := e.userAction(u, "POST", "/orders", body)
	r := e.do("POST", "/orders", u.token, body, "X-DFNS-USERACTION", ua)
	if r.status != 200 {
		t.Fatalf("signed POST: %d %s", r.status, r.raw)
	}
	s, _ := e.up.last()
	if string(s.body) != body || s.header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream body %q (%s)", s.body, s.header.Get("Content-Type"))
	}
	if a := s.header.Get(gateway.HeaderActionID); !strings.HasPrefix(a, "uj-") {
		t.Errorf("upstream %s = %q", gateway.HeaderActionID, a)
	}
	if s.header.Get("X-Dfns-Useraction") != "" || s.header.Get("Authorization") != "" {
		t.Error("upstream got the caller's credentials")
	}

	// A body equal as JSON to the signed payload passes (spec 12.2).
	if r := e.signed(u, "PUT", "/orders/7", `{"a":1,"b":[1,2]}`); r.status != 200 {
		t.Errorf("signed PUT: %d %s", r.status, r.raw)
	}
	// An explicitly unsigned route needs no user action, still the operation.
	if r := e.do("POST", "/orders/7/ping", u.token, `{}`); r.status != 200 {
		t.Errorf("unsigned route: %d %s", r.status, r.raw)
	}

	refused := []struct {
		name         string
		method, path string
		body         string
		ua           func() string
		status       int
		code         string
	}{
		{"no user action", "POST", "/orders", body, func() string { return "" }, 403, "action_invalid"},
		{"unknown user action", "POST", "/orders", body, func() string { return "bogus" }, 403, "action_invalid"},
		{"replayed", "POST", "/orders", body, func() string { return ua }, 400, "action_used"},
		{"other body", "POST", "/orders", `{"item":"car","qty":2}`,
			func() string { return e.userAction(u, "POST", "/orders", body) }, 403, "action_invalid"},
		{"other path", "PUT", "/orders/8", body,
			func() string { return e.userAction(u, "PUT", "/orders/7", body) }, 403, "action_invalid"},
		{"other method", "POST", "/orders", body,
			func() string { return e.userAction(u, "PUT", "/orders", body) }, 403, "action_invalid"},
		{"signed with query, sent with another", "POST", "/orders?dry=0", body,
			func() string { return e.userAction(u, "POST", "/orders?dry=1", body) }, 403, "action_invalid"},
		{"not JSON", "POST", "/orders", "item=book",
			func() string { return e.userAction(u, "POST", "/orders", body) }, 415, "unsupported_media_type"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if a := tc.ua(); a != "" {
				hdr = append(hdr, "X-DFNS-USERACTION", a)
			}
			if tc.code == "unsupported_media_type" {
				hdr = append(hdr, "Content-Type", "application/x-www-form-urlencoded")
			}
			n := e.up.count()
			req, _ := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+u.token)
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			r := e.send(req)
			if r.status != tc.status || r.code() != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if e.up.count() != n {
				t.Error("request reached the upstream")
			}
		})
	}
}

func TestOperations(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()

	// A route of signet's own operations: the bootstrap admin holds it.
	if r := e.do("GET", "/admin", u.token, nil); r.status != 200 {
		t.Errorf("GET /admin: %d %s", r.status, r.raw)
	}
	// No entry, default deny.
	for _, p := range []string{"/nowhere", "/orders/1/items", "/"} {
		if r := e.do("GET", p, u.token, nil); r.status != 403 || r.code() != "forbidden" {
			t.Errorf("GET %s: %d %s", p, r.status, r.raw)
		}
	}
	if r := e.do("DELETE", "/orders/1", u.token, nil); r.status != 403 || r.code() != "forbidden" {
		t.Errorf("DELETE without a route: %d %s", r.status, r.raw)
	}
	// The operator's operation is missing until a permission grants it.
	n := e.up.count()
	r := e.do("GET", "/orders/1", u.token, nil)
	if r.status != 403 || r.code() != "forbidden" || !strings.Contains(r.str("error", "message"), "(Orders:Read)") {
		t.Errorf("GET without Orders:Read: %d %s", r.status, r.raw)
	}
	if e.up.count() != n {
		t.Error("refused requests reached the upstream")
	}
	e.grant(u, "Orders:Read")
	if r := e.do("GET", "/orders/1", u.token, nil); r.status != 200 {
		t.Errorf("GET with Orders:Read: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/orders", u.token, nil); r.status != 200 {
		t.Errorf("GET /orders with Orders:Read: %d %s", r.status, r.raw)
	}
	// A permission holding Orders:Read does not grant Orders:Create.
	if r := e.signed(u, "POST", "/orders", `{}`); r.status != 403 || r.code() != "forbidden" {
		t.Errorf("POST without Orders:Create: %d %s", r.status, r.raw)
	}
}

func TestDefaultAuthenticated(t *testing.T) {
	e := newEnv(t, `{"routes": [{"method": "GET", "path": "/orders/{id}", "operation": "Orgs:Update"}], "default": "authenticated"}`)
	u := e.newUser()
	if r := e.do("GET", "/anything/else", u.token, nil); r.status != 200 {
		t.Errorf("GET unrouted: %d %s", r.status, r.raw)
	}
	if s, _ := e.up.last(); s.header.Get(gateway.HeaderUserID) != u.userID {
		t.Errorf("identity: %v", s.header)
	}
	if r := e.do("GET", "/anything/else", "", nil); r.status != 401 {
		t.Errorf("anonymous GET unrouted: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/anything/else", u.token, `{}`); r.status != 403 || r.code() != "action_invalid" {
		t.Errorf("unsigned POST unrouted: %d %s", r.status, r.raw)
	}
	if r := e.signed(u, "POST", "/anything/else", `{"x":1}`); r.status != 200 {
		t.Errorf("signed POST unrouted: %d %s", r.status, r.raw)
	}
	// Routes still apply: the admin holds Orgs:Update.
	if r := e.do("GET", "/orders/1", u.token, nil); r.status != 200 {
		t.Errorf("routed GET: %d %s", r.status, r.raw)
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		e := newEnv(t, testRoutes)
		u := e.newUser()
		e.grant(u, "Orders:Read")
		e.up.Close()
		r := e.do("GET", "/orders/1", u.token, nil)
		if r.status != 502 || r.code() != "bad_gateway" || r.str("error", "message") != "upstream unavailable" {
			t.Errorf("got %d %s", r.status, r.raw)
		}
		host := strings.TrimPrefix(e.up.URL, "http://")
		if strings.Contains(string(r.raw), "refused") || strings.Contains(string(r.raw), host) {
			t.Errorf("error leaks the cause: %s", r.raw)
		}
	})
	t.Run("slow", func(t *testing.T) {
		e := newEnv(t, testRoutes, func(c *config.Config) { c.UpstreamTimeout = time.Second })
		u := e.newUser()
		e.grant(u, "Orders:Read")
		e.up.handle = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}
		start := time.Now()
		r := e.do("GET", "/orders/1", u.token, nil)
		if r.status != 504 || r.code() != "gateway_timeout" || r.str("error", "message") != "upstream timed out" {
			t.Errorf("got %d %s", r.status, r.raw)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("slow body after headers is not a timeout", func(t *testing.T) {
		e := newEnv(t, testRoutes, func(c *config.Config) { c.UpstreamTimeout = time.Second })
		u := e.newUser()
		e.grant(u, "Orders:Read")
		e.up.handle = func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"part":`))
			http.NewResponseController(w).Flush()
			time.Sleep(1500 * time.Millisecond)
			w.Write([]byte(`1}`))
		}
		if r := e.do("GET", "/orders/1", u.token, nil); r.status != 200 || string(r.raw) != `{"part":1}` {
			t.Errorf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("upstream errors pass through", func(t *testing.T) {
		e := newEnv(t, testRoutes)
		u := e.newUser()
		e.grant(u, "Orders:Read")
		e.up.handle = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"message":"order not found"}}`))
		}
		if r := e.do("GET", "/orders/1", u.token, nil); r.status != 404 || r.str("error", "message") != "order not found" {
			t.Errorf("got %d %s", r.status, r.raw)
		}
	})
}

// chunked is a body of unknown length, so the client streams it chunked.
type chunked struct{ io.Reader }

func TestBodyLimits(t *testing.T) {
	e := newEnv(t, testRoutes) // MaxBody 4 KiB (signed), UpstreamMaxStream 16 KiB
	u := e.newUser()
	e.grant(u, "Orders:Create")
	big := func(n int) string { return `{"pad":"` + strings.Repeat("x", n) + `"}` }

	send := func(method, path, body string, stream bool, hdr ...string) resp {
		t.Helper()
		var rd io.Reader = strings.NewReader(body)
		if stream {
			rd = chunked{rd}
		}
		req, _ := http.NewRequest(method, e.url+path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return e.send(req)
	}
	for _, tc := range []struct {
		name         string
		method, path string
		size         int
		stream       bool
		signed       bool
		status       int
	}{
		{"signed within limit", "POST", "/orders", 3 << 10, false, true, 200},
		{"signed over limit", "POST", "/orders", 5 << 10, false, true, 413},
		{"signed over limit, chunked", "POST", "/orders", 5 << 10, true, true, 413},
		{"streamed within limit", "POST", "/public/upload", 12 << 10, true, false, 200},
		{"streamed over limit, declared", "POST", "/public/upload", 20 << 10, false, false, 413},
		{"streamed over limit, chunked", "POST", "/public/upload", 64 << 10, true, false, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := big(tc.size)
			var hdr []string
			if tc.signed {
				// An oversized payload cannot even be signed (action/init has
				// the same limit), so those requests carry some valid action:
				// the size is refused before the action is looked at.
				signedBody := body
				if tc.status == 413 {
					signedBody = "{}"
				}
				hdr = []string{"X-DFNS-USERACTION", e.userAction(u, tc.method, tc.path, signedBody)}
			}
			n := e.up.count()
			r := send(tc.method, tc.path, body, tc.stream, hdr...)
			if r.status != tc.status {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			if tc.status == 413 {
				if r.code() != "payload_too_large" {
					t.Errorf("got %s", r.raw)
				}
				if tc.signed && e.up.count() != n {
					t.Error("an oversized signed body reached the upstream")
				}
				return
			}
			if s, _ := e.up.last(); string(s.body) != body {
				t.Errorf("upstream got %d bytes, want %d", len(s.body), len(body))
			}
		})
	}
}

func TestHopByHopHeaders(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read")
	e.up.handle = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End-To-End", "kept")
		w.Write([]byte(`{}`))
	}
	hop := []string{"Connection", "X-Hop, X-Other-Hop",
		"X-Hop", "secret", "X-Other-Hop", "secret",
		"Keep-Alive", "timeout=5", "Proxy-Authorization", "Basic c2VjcmV0",
		"Proxy-Connection", "keep-alive", "X-End-To-End", "kept"}

	// First prove that these headers do travel when nothing removes them.
	direct := &env{t: t, url: e.up.URL}
	r := direct.do("GET", "/orders/1", "", nil, hop...)
	s, _ := e.up.last()
	if s.header.Get("X-Hop") == "" || s.header.Get("Proxy-Connection") == "" || r.header.Get("X-Resp-Hop") == "" {
		t.Fatalf("the test's headers do not reach the other side directly: %v / %v", s.header, r.header)
	}

	r = e.do("GET", "/orders/1", u.token, nil, hop...)
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	s, _ = e.up.last()
	for _, h := range []string{"X-Hop", "X-Other-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Connection"} {
		if v := s.header.Values(h); len(v) > 0 {
			t.Errorf("upstream got hop-by-hop %s: %q", h, v)
		}
	}
	if s.header.Get("X-End-To-End") != "kept" {
		t.Error("upstream lost an end-to-end header")
	}
	for _, h := range []string{"X-Resp-Hop", "Keep-Alive"} {
		if v := r.header.Values(h); len(v) > 0 {
			t.Errorf("client got hop-by-hop %s: %q", h, v)
		}
	}
	if r.header.Get("X-End-To-End") != "kept" {
		t.Error("client lost an end-to-end header")
	}
}

func TestNonCanonicalTargets(t *testing.T) {
	e := newEnv(t, testRoutes)
	u := e.newUser()
	e.grant(u, "Orders:Read")
	for _, p := range []string{
		"/public/../admin",
		"/public/..%2Fadmin",
		"/public/%2e%2e/admin",
		"/public/a%2fb",
		"/public/a%5Cb",
		"/public/a\\b",
		"//admin",
		"/orders/./1",
		"/public/x?a=1;b=2",
		"/public/x?a=%zz",
	} {
		for _, tok := range []string{"", u.token} {
			req, err := http.NewRequest("GET", e.url+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			// Send the target exactly as written.
			req.URL.Opaque = "//" + req.URL.Host + p
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			n := e.up.count()
			r := e.send(req)
			if r.status != 400 || r.code() != "invalid" {
				t.Errorf("GET %s: %d %s", p, r.status, r.raw)
			}
			if e.up.count() != n {
				t.Errorf("GET %s reached the upstream", p)
			}
		}
	}
}

func TestSignetPathsServedBySignet(t *testing.T) {
	e := newEnv(t, `{"routes": [{"method": "GET", "path": "/{rest...}", "public": true}], "default": "deny"}`)
	for _, p := range []string{"/healthz", "/.well-known/jwks.json", "/auth/nowhere", "/auth", "/permissions", "/permissions/pm-1"} {
		e.do("GET", p, "", nil)
	}
	if n := e.up.count(); n != 0 {
		t.Errorf("%d requests for signet's own paths reached the upstream", n)
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 || r.str("status") != "ok" {
		t.Errorf("healthz: %d %s", r.status, r.raw)
	}
	// Paths that merely start like signet's go upstream.
	for _, p := range []string{"/authors", "/permissionsx", "/healthz/x"} {
		if r := e.do("GET", p, "", nil); r.status != 200 {
			t.Errorf("GET %s: %d %s", p, r.status, r.raw)
		}
	}
	if n := e.up.count(); n != 3 {
		t.Errorf("upstream got %d requests, want 3", n)
	}
}

func TestStartupRejectsBadOperationName(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Database = "sqlite:" + dir + "/signet.db"
	cfg.KeyFile = dir + "/signet.key"
	cfg.Upstream = "http://127.0.0.1:1"
	cfg.Routes = dir + "/routes.json"
	writeFile(t, cfg.Routes, `{"operations": ["orders"], "routes": [{"method": "GET", "path": "/o", "operation": "orders"}]}`)
	_, err := assemble(&cfg)
	if err == nil || !strings.Contains(err.Error(), `"orders"`) {
		t.Errorf("got %v", err)
	}
}

func TestServeFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (*config.Config, error) {
		cfg := config.Default()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish, err := cfg.Register(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			return nil, err
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if err := finish(); err != nil {
			return nil, err
		}
		return &cfg, cfg.Validate()
	}
	cfg, err := parse(nil, "--upstream", "http://127.0.0.1:9000/api", "--routes", "r.json", "--upstream-timeout", "5s", "--upstream-max-stream", "2048")
	if err != nil || cfg.Upstream != "http://127.0.0.1:9000/api" || cfg.Routes != "r.json" || cfg.UpstreamTimeout != 5*time.Second || cfg.UpstreamMaxStream != 2048 {
		t.Errorf("flags: %+v %v", cfg, err)
	}
	cfg, err = parse(map[string]string{"SIGNET_UPSTREAM": "https://api.internal", "SIGNET_ROUTES": "r.json", "SIGNET_UPSTREAM_TIMEOUT": "2s"})
	if err != nil || cfg.Upstream != "https://api.internal" || cfg.UpstreamTimeout != 2*time.Second {
		t.Errorf("env: %+v %v", cfg, err)
	}
	if cfg, err := parse(nil); err != nil || cfg.Upstream != "" || cfg.UpstreamTimeout != 30*time.Second {
		t.Errorf("defaults: %+v %v", cfg, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--routes", "r.json"}, "--routes needs --upstream"},
		{[]string{"--upstream", "http://x"}, "--upstream needs --routes"},
		{[]string{"--upstream", "ftp://x", "--routes", "r"}, "must be http:// or https://"},
		{[]string{"--upstream", "http://", "--routes", "r"}, "needs a host"},
		{[]string{"--upstream", "http://u:p@x", "--routes", "r"}, "must not carry credentials"},
		{[]string{"--upstream", "http://x/?a=1", "--routes", "r"}, "must not have a query"},
		{[]string{"--upstream", "http://x", "--routes", "r", "--upstream-timeout", "10ms"}, "--upstream-timeout must be at least 1s"},
		{[]string{"--upstream", "http://x", "--routes", "r", "--upstream-max-stream", "10"}, "--upstream-max-stream must be at least 1024"},
	} {
		if _, err := parse(nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}

	// A bad route file stops start-up and names the file and the entry.
	dir := t.TempDir()
	cfg = &config.Config{}
	*cfg = config.Default()
	cfg.Database = "sqlite:" + dir + "/signet.db"
	cfg.KeyFile = dir + "/signet.key"
	cfg.Upstream = "http://127.0.0.1:1"
	cfg.Routes = dir + "/routes.json"
	writeFile(t, cfg.Routes, `{"routes": [{"method": "GET", "path": "/o", "operation": "Orders:Read"}]}`)
	if _, err := assemble(cfg); err == nil || !strings.Contains(err.Error(), "routes.json: routes[0] (GET /o): operation \"Orders:Read\" is neither declared") {
		t.Errorf("bad route file: %v", err)
	}
	cfg.Routes = dir + "/missing.json"
	if _, err := assemble(cfg); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing route file: %v", err)
	}
}
