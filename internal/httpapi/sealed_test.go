package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http/httptest"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver, for reading data_version

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/sqlite"
)

// TestInitWritesNothing: no request made before a credential is proven,
// and no action init, commits anything (issue 13): challenges are sealed,
// not stored. PRAGMA data_version, read on a connection of its own,
// changes whenever any other connection commits.
func TestInitWritesNothing(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	u := e.newUser()

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	version := func() int64 {
		var v int64
		if err := conn.QueryRowContext(t.Context(), "PRAGMA data_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	tests := []struct {
		name string
		call func() resp
		want int
	}{
		{"login init", func() resp {
			return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
		}, 200},
		{"login init, unknown user", func() resp {
			return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": "nobody@example.com"})
		}, 200}, // a decoy (docs/abuse.md)
		{"action init", func() resp {
			return e.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{"kind":"Key"}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/credentials",
			})
		}, 200},
		{"credential init", func() resp {
			return e.do("POST", "/auth/credentials/init", u.token, map[string]string{"kind": "Key"})
		}, 200},
		{"login with a forged challenge", func() resp {
			return e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": "AQ" + b64(bytes.Repeat([]byte{1}, 80)), "firstFactor": u.signer.assert("x")})
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := version()
			for range 3 {
				if r := tt.call(); r.status != tt.want {
					t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.raw)
				}
			}
			if after := version(); after != before {
				t.Errorf("data_version %d -> %d: the database was written", before, after)
			}
		})
	}
	// The probe works: a login commits.
	before := version()
	e.login(u, u.signer)
	if version() == before {
		t.Fatal("data_version did not move on a login: the probe is blind")
	}
}

// replica starts a second server on e's store and token issuer, as another
// signet process with the same database and key file; key is its challenge
// key (nil: a key of its own).
func (e *env) replica(key []byte) *env {
	e.t.Helper()
	svc, err := auth.New(auth.Config{Store: e.store, Tokens: e.iss, Now: e.clock.Now, ChallengeKey: key})
	if err != nil {
		e.t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: e.iss.JWKS, Ping: e.store.Ping, MaxBody: 64 << 10})
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	e.t.Cleanup(srv.Close)
	r := *e
	r.api, r.url, r.svc = api, srv.URL, svc
	return &r
}

// TestSealedChallengeAcrossReplicas: a challenge issued by one replica is
// answered on another with the same key, once across both; a server with
// another key cannot open it; a tampered identifier opens nowhere; a
// challenge answers only the purpose and identity it was issued for.
func TestSealedChallengeAcrossReplicas(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := bytes.Repeat([]byte{9}, auth.ChallengeKeySize)
			a := newEnv(t, open(t), func(c *auth.Config) { c.ChallengeKey = key })
			b := a.replica(key)
			stranger := a.replica(nil)
			u := a.newUser()
			v := a.newUser()
			const bad = "Challenge token is not valid."
			loginInit := func(e *env) resp {
				return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
			}
			answer := func(r resp) map[string]any {
				return map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": u.signer.assert(r.str("challenge"))}
			}

			// Issued on A, answered on B; the replay is refused on both.
			req := answer(loginInit(a))
			if r := b.do("POST", "/auth/login", "", req); r.status != 200 {
				t.Fatalf("login on the other replica: %d %s", r.status, r.raw)
			}
			for _, e := range []*env{a, b} {
				if r := e.do("POST", "/auth/login", "", req); r.status != 400 || r.errMsg() != bad {
					t.Fatalf("replayed login: %d %s", r.status, r.raw)
				}
			}

			// Another key does not open it, and does not spend it.
			req = answer(loginInit(a))
			if r := stranger.do("POST", "/auth/login", "", req); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("login on a server with another key: %d %s", r.status, r.raw)
			}
			if r := b.do("POST", "/auth/login", "", req); r.status != 200 {
				t.Fatalf("login after a refusal elsewhere: %d %s", r.status, r.raw)
			}

			// Tampered: every position of the identifier matters.
			r := loginInit(a)
			id := r.str("challengeIdentifier")
			for _, i := range []int{0, 1, 5, len(id) / 2, len(id) - 2, len(id) - 1} {
				alt := []byte(id)
				alt[i] = map[bool]byte{true: 'B', false: 'A'}[alt[i] == 'A']
				req := map[string]any{"challengeIdentifier": string(alt), "firstFactor": u.signer.assert(r.str("challenge"))}
				if r := b.do("POST", "/auth/login", "", req); r.status != 400 || r.errMsg() != bad {
					t.Fatalf("tampered at %d: %d %s", i, r.status, r.raw)
				}
			}
			if r := b.do("POST", "/auth/login", "", answer(r)); r.status != 200 {
				t.Fatalf("login after tampered tries: %d %s", r.status, r.raw)
			}

			// Action challenge: issued on B, completed on A once; as a login
			// challenge, or by another user's session, it is refused.
			ai := b.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
			})
			if ai.status != 200 {
				t.Fatalf("action init: %d %s", ai.status, ai.raw)
			}
			if r := a.do("POST", "/auth/login", "", answer(ai)); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("action challenge used to log in: %d %s", r.status, r.raw)
			}
			// ... and that refusal burnt it: its own purpose is refused too.
			if r := b.do("POST", "/auth/action", u.token, answer(ai)); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("action challenge after its refusal as a login: %d %s", r.status, r.raw)
			}
			// A login challenge answered as an action is refused, and burnt.
			li := loginInit(b)
			if r := a.do("POST", "/auth/action", u.token, answer(li)); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("login challenge used for an action: %d %s", r.status, r.raw)
			}
			if r := b.do("POST", "/auth/login", "", answer(li)); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("login challenge after its refusal as an action: %d %s", r.status, r.raw)
			}
			ai = b.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
			})
			other := map[string]any{"challengeIdentifier": ai.str("challengeIdentifier"), "firstFactor": v.signer.assert(ai.str("challenge"))}
			if r := a.do("POST", "/auth/action", v.token, other); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("action challenge of another user: %d %s", r.status, r.raw)
			}
			ai = b.do("POST", "/auth/action/init", u.token, map[string]string{
				"userActionPayload": `{}`, "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/logout",
			})
			if r := a.do("POST", "/auth/action", u.token, answer(ai)); r.status != 200 || r.str("userAction") == "" {
				t.Fatalf("action on the other replica: %d %s", r.status, r.raw)
			}
			if r := b.do("POST", "/auth/action", u.token, answer(ai)); r.status != 400 || r.errMsg() != bad {
				t.Fatalf("replayed action on the first replica: %d %s", r.status, r.raw)
			}

			// Expired: refused on every replica, spent or not.
			req = answer(loginInit(a))
			a.clock.Advance(16 * time.Minute)
			for _, e := range []*env{a, b} {
				if r := e.do("POST", "/auth/login", "", req); r.status != 400 || r.errMsg() != bad {
					t.Fatalf("expired challenge: %d %s", r.status, r.raw)
				}
			}
		})
	}
}
