package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// allowIDs lists the credential ids of a login challenge.
func allowIDs(t *testing.T, r resp) []string {
	t.Helper()
	var ch struct {
		AllowCredentials struct {
			Key      []struct{ ID string } `json:"key"`
			WebAuthn []struct{ ID string } `json:"webauthn"`
		} `json:"allowCredentials"`
	}
	if err := json.Unmarshal(r.raw, &ch); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range append(ch.AllowCredentials.Key, ch.AllowCredentials.WebAuthn...) {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestLoginInitDecoy: /auth/login/init answers every user who cannot log
// in with a decoy challenge of the same shape as a real user's, stable
// across calls, that no answer completes (issue 11, docs/abuse.md).
func TestLoginInitDecoy(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		gone := e.invite(admin, "ivan@example.com")
		if r := e.signed(admin, "PUT", "/auth/users/"+gone.userID+"/deactivate", "{}"); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		e.createServiceAccount(admin, "robot", "")
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "invited@example.com", "kind": "CustomerEmployee"})); r.status != 200 {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		e.mailedCode("invited@example.com")
		init := func(orgID, username string) resp {
			return e.do("POST", "/auth/login/init", "", map[string]string{"orgId": orgID, "username": username})
		}
		real := init(admin.orgID, admin.username)
		if real.status != 200 {
			t.Fatalf("real login/init: %d %s", real.status, real.raw)
		}
		tests := []struct {
			name, orgID, username string
			signer                *keySigner // answers the decoy with its own key; nil: a key claiming the decoy's id
		}{
			{"unknown user", admin.orgID, "nobody@example.com", nil},
			{"unknown org", "or-00000-00000-0000000000000000", admin.username, nil},
			{"deactivated user", admin.orgID, "ivan@example.com", gone.signer},
			{"service account", admin.orgID, "robot", nil},
			{"invited, not registered", admin.orgID, "invited@example.com", nil},
			{"case differs", admin.orgID, "Admin@example.com", admin.signer},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := init(tt.orgID, tt.username)
				if r.status != real.status {
					t.Fatalf("status %d, a real user gets %d: %s", r.status, real.status, r.raw)
				}
				if d := cmp.Diff(shape(real.body), shape(r.body)); d != "" {
					t.Errorf("decoy shape differs from a real challenge (-real +decoy):\n%s", d)
				}
				if got, want := len(r.str("challengeIdentifier")), len(real.str("challengeIdentifier")); got != want {
					t.Errorf("decoy challengeIdentifier is %d long, a real one %d", got, want)
				}
				ids := allowIDs(t, r)
				if len(ids) == 0 {
					t.Fatalf("decoy lists no credential: %s", r.raw)
				}
				again := init(tt.orgID, tt.username)
				if !slices.Equal(allowIDs(t, again), ids) {
					t.Errorf("decoy credentials change between calls: %v then %v", ids, allowIDs(t, again))
				}
				if again.str("challenge") == r.str("challenge") || again.str("challengeIdentifier") == r.str("challengeIdentifier") {
					t.Error("decoy challenge repeats")
				}
				if other := init(tt.orgID, tt.username+"x"); slices.Equal(allowIDs(t, other), ids) {
					t.Errorf("two usernames get the same decoy credentials %v", ids)
				}

				// No answer completes it: a key claiming the listed id,
				// or the (deactivated) user's own key.
				k := tt.signer
				if k == nil {
					k = newKeySigner(t, "ES256")
					k.credID = ids[0]
				}
				a := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": k.assert(r.str("challenge"))})
				if a.status != 401 || a.errMsg() != "Not Authorized." {
					t.Fatalf("answer to a decoy: %d %s, want 401 Not Authorized.", a.status, a.raw)
				}
				// The same answer as a wrong key gets on a real challenge.
				wrong := newKeySigner(t, "ES256")
				wrong.credID = admin.signer.credID
				ra := init(admin.orgID, admin.username)
				b := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": ra.str("challengeIdentifier"), "firstFactor": wrong.assert(ra.str("challenge"))})
				if b.status != a.status || string(b.raw) != string(a.raw) {
					t.Errorf("wrong key on a real challenge: %d %s; on a decoy: %d %s", b.status, b.raw, a.status, a.raw)
				}
				// A decoy is single use like a real challenge.
				if a := e.do("POST", "/auth/login", "", map[string]any{"challengeIdentifier": r.str("challengeIdentifier"), "firstFactor": k.assert(r.str("challenge"))}); a.status != 400 || a.errMsg() != "Challenge token is not valid." {
					t.Errorf("decoy answered twice: %d %s", a.status, a.raw)
				}
			})
		}
		// The real user still logs in.
		if e.login(admin, admin.signer) == "" {
			t.Fatal("real login failed")
		}
	})
}
