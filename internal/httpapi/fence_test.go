package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/mail"
	"github.com/signet-auth/signet/internal/mail/mailtest"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/token"
)

// openCached opens a PostgreSQL store on url with its Principal cache
// serving.
func openCached(t *testing.T, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.StartCache(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// fencedEnv is a server on st whose routes fence through st, with the
// token issuer and clock of like (nil: new ones), as a replica of it.
func fencedEnv(t *testing.T, st *postgres.Store, like *env) *env {
	t.Helper()
	e := &env{t: t, store: st}
	if like != nil {
		e.iss, e.clock, e.mail = like.iss, like.clock, like.mail
	} else {
		e.clock = &clock{t: time.Now().UTC()}
		master := make([]byte, 32)
		rand.Read(master)
		iss, err := token.New(t.Context(), token.Config{Issuer: "signet-test", Store: st, MasterKey: master, Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.iss, e.mail = iss, mailtest.Start(t)
	}
	sender, err := mail.New(mail.Config{Addr: e.mail.Addr, From: "signet@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{Store: st, Tokens: e.iss, Now: e.clock.Now, Delivery: sender})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: e.iss.JWKS, Ping: st.Ping, MaxBody: 64 << 10, Fence: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.api, e.url, e.svc = api, srv.URL, svc
	return e
}

// TestUnfencedRoutesQuiet runs every route that answers without the fence
// (httpapi.UnfencedRoutes) and shows that none sends a principal
// invalidation, so that no replica could serve a state it changed: after
// each, a fence is the only notification the store's listener received.
// A fenced route (the control) does send them, and fences.
func TestUnfencedRoutesQuiet(t *testing.T) {
	st := openCached(t, pgtest.URL(t))
	e := fencedEnv(t, st, nil)
	ctx := t.Context()
	u := e.newUser()
	rk := newKeySigner(t, "ES256")
	e.addKey(u, rk)
	ran := map[string]bool{}
	// quiet runs the route call and checks it fenced nothing and sent no
	// notification: a fence of the test's own, sent after it, is the only
	// one its listener gets, and delivery follows commit order.
	quiet := func(route string, call func() resp) resp {
		t.Helper()
		if err := st.Fence(ctx); err != nil {
			t.Fatal(err)
		}
		fences, notes := st.FenceStats().Fences, st.PrincipalCacheStats().Notifications
		r := call()
		if r.status >= 500 {
			t.Fatalf("%s: %d %s", route, r.status, r.raw)
		}
		if got := st.FenceStats().Fences; got != fences {
			t.Errorf("%s fenced", route)
		}
		if err := st.Fence(ctx); err != nil {
			t.Fatal(err)
		}
		if got := st.PrincipalCacheStats().Notifications - notes; got != 1 {
			t.Errorf("%s sent %d principal notifications, want none", route, got-1)
		}
		ran[route] = true
		return r
	}
	b, err := e.svc.Bootstrap(ctx, "org quiet", "first@example.com")
	if err != nil {
		t.Fatal(err)
	}
	quiet("POST /auth/registration/init", func() resp {
		return e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": b.Org.ID, "username": b.User.Username, "registrationCode": b.Code})
	})
	quiet("PUT /auth/registration/code", func() resp {
		return e.do("PUT", "/auth/registration/code", "", map[string]string{"orgId": b.Org.ID, "username": b.User.Username})
	})
	init := quiet("POST /auth/login/init", func() resp {
		return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
	})
	quiet("POST /auth/login", func() resp {
		return e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": init.str("challengeIdentifier"), "firstFactor": u.signer.assert(init.str("challenge"))})
	})
	quiet("POST /auth/login/code", func() resp {
		return e.do("POST", "/auth/login/code", "", map[string]string{"username": u.username, "orgId": u.orgID})
	})
	quiet("POST /auth/login/sso/init", func() resp {
		return e.do("POST", "/auth/login/sso/init", "", map[string]string{"orgId": u.orgID, "clientId": "signet", "redirectUri": "https://app.example.com/cb"})
	})
	ai := quiet("POST /auth/action/init", func() resp {
		return e.do("POST", "/auth/action/init", u.token, map[string]string{
			"userActionPayload": `{"qty":1}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/orders", "userActionServerKind": "Api"})
	})
	act := quiet("POST /auth/action", func() resp {
		return e.do("POST", "/auth/action", u.token, map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": u.signer.assert(ai.str("challenge"))})
	})
	quiet("POST /auth/action/verify", func() resp {
		return e.do("POST", "/auth/action/verify", u.token, map[string]string{"userAction": act.str("userAction"), "method": "POST", "path": "/orders", "payload": `{"qty":1}`})
	})
	quiet("POST /auth/credentials/init", func() resp {
		return e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "Key"})
	})
	code := e.mustCredentialCode(u)
	quiet("POST /auth/credentials/code/init", func() resp { return e.codeInit(code) })
	var rcode string
	quiet("POST /auth/recover/user/code", func() resp {
		rcode = e.mailedRecoveryCode(u)
		return resp{status: 200}
	})
	quiet("POST /auth/recover/user/init", func() resp { return e.recoveryInit(u, rcode, rk.credID) })
	for _, rt := range httpapi.UnfencedRoutes() {
		if !ran[rt] {
			t.Errorf("unfenced route %s was not run", rt)
		}
	}

	// The control: a logout is fenced and sends a notification.
	fences, notes := st.FenceStats().Fences, st.PrincipalCacheStats().Notifications
	if r := e.do("PUT", "/auth/logout", u.token, nil); r.status != 200 && r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	if st.FenceStats().Fences == fences {
		t.Error("logout was not fenced")
	}
	if st.PrincipalCacheStats().Notifications-notes < 2 {
		t.Error("logout sent no principal notification: the counts above prove nothing")
	}
}

// TestFencedRoutesAcrossReplicas: two servers, each on a store of its own
// on one database (two replicas). A token, a PAT or a user ended through A
// is refused by B on the very next request, after B answered it from its
// cache just before; A's answer waited for the fence.
func TestFencedRoutesAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	sa, sb := openCached(t, url), openCached(t, url)
	a := fencedEnv(t, sa, nil)
	b := fencedEnv(t, sb, a)
	admin := a.newUser()
	bob := a.invite(admin, "bob@example.com")
	pat := a.createPAT(admin, "reader", "")

	cached := func(tok, what string) {
		t.Helper()
		for range 2 {
			if r := b.do("GET", "/auth/pats", tok, nil); r.status != 200 {
				t.Fatalf("%s on B: %d %s", what, r.status, r.raw)
			}
		}
	}
	refused := func(tok, what string) {
		t.Helper()
		if r := b.do("GET", "/auth/pats", tok, nil); r.status != 401 {
			t.Fatalf("%s, next request on B: %d %s, want 401", what, r.status, r.raw)
		}
	}
	fenced := func(what string, call func() resp) {
		t.Helper()
		n := sa.FenceStats().Fences
		if r := call(); r.status >= 300 {
			t.Fatalf("%s on A: %d %s", what, r.status, r.raw)
		}
		if sa.FenceStats().Fences == n {
			t.Fatalf("%s on A answered without a fence", what)
		}
	}

	cached(pat.token, "PAT")
	fenced("deactivate PAT", func() resp { return a.signed(admin, "PUT", "/auth/pats/"+pat.id+"/deactivate", "{}") })
	refused(pat.token, "PAT deactivated on A")

	cached(bob.token, "bob")
	fenced("deactivate bob", func() resp { return a.signed(admin, "PUT", "/auth/users/"+bob.userID+"/deactivate", "{}") })
	refused(bob.token, "bob deactivated on A")

	cached(admin.token, "admin")
	fenced("logout", func() resp { return a.do("PUT", "/auth/logout", admin.token, nil) })
	refused(admin.token, "admin logged out on A")
}

// TestFenceFailureAnswersUnavailable: a fenced route whose fence cannot
// read the members answers 503, not its handler's success: the change is
// committed, but not known to be in force on every replica.
func TestFenceFailureAnswersUnavailable(t *testing.T) {
	url := pgtest.URL(t)
	st := openCached(t, url)
	e := fencedEnv(t, st, nil)
	u := e.newUser()
	pat := e.createPAT(u, "p", "")
	ua := e.mustUserAction(u.token, u.signer, "PUT", "/auth/pats/"+pat.id+"/deactivate", "{}")
	// The members can no longer be read.
	if err := execSQL(t, url, `ALTER TABLE cache_members RENAME TO cache_members_gone`); err != nil {
		t.Fatal(err)
	}
	r := e.do("PUT", "/auth/pats/"+pat.id+"/deactivate", u.token, "{}", "X-DFNS-USERACTION", ua)
	if r.status != 503 || strings.Contains(string(r.raw), pat.id) {
		t.Fatalf("deactivate with a failing fence: %d %s, want 503 without the handler's answer", r.status, r.raw)
	}
	// The store's error (the missing table, the fence's wording) stays in
	// the log: the client gets the generic unavailable answer.
	for _, internal := range []string{"cache_members", "fence", "postgres", "committed"} {
		if strings.Contains(string(r.raw), internal) {
			t.Errorf("the 503 answer leaks %q: %s", internal, r.raw)
		}
	}
}

// execSQL runs one statement on a connection of its own.
func execSQL(t *testing.T, url, sql string) error {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), sql)
	return err
}

// TestFenceOnlyWhatChanged: a fenced route whose call changed nothing a
// replica may cache (refused before it wrote, or writing no principal) is
// answered without a fence and sends no notification, so that nobody can
// empty every replica's cache with calls that fail; the same route that
// changes something is fenced. A store with its cache off cannot tell, and
// fences every such call.
func TestFenceOnlyWhatChanged(t *testing.T) {
	url := pgtest.URL(t)
	st := openCached(t, url)
	e := fencedEnv(t, st, nil)
	u := e.newUser()
	pat := e.createPAT(u, "p", "")
	deactivate := func(e *env, id string) resp {
		return e.signed(u, "PUT", "/auth/pats/"+id+"/deactivate", "{}")
	}
	count := func(what string, st *postgres.Store, call func() resp, wantStatus int, wantFence bool) {
		t.Helper()
		n := st.FenceStats().Fences
		if r := call(); r.status != wantStatus {
			t.Fatalf("%s: %d %s, want %d", what, r.status, r.raw, wantStatus)
		}
		if got := st.FenceStats().Fences != n; got != wantFence {
			t.Errorf("%s: fenced %v, want %v", what, got, wantFence)
		}
	}
	count("a PAT that does not exist", st, func() resp { return deactivate(e, "to-none") }, 404, false)
	count("a PAT deactivated", st, func() resp { return deactivate(e, pat.id) }, 200, true)

	plain, err := postgres.OpenWith(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	off := fencedEnv(t, plain, e)
	count("a PAT that does not exist, cache off", plain, func() resp { return deactivate(off, "to-none") }, 404, true)
}
