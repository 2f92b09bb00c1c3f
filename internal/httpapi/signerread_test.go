package httpapi_test

import (
	"context"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
)

// TestSignerReadRefuses: the requests whose principal is read with its
// signing credentials (auth.Service.AuthenticateSigner: action init, action
// complete, an RFC 9421 signed request) refuse a session revoked, or whose
// login credential was deactivated, after the challenge was issued and the
// request signed: the next request reads the state afresh, on both stores.
func TestSignerReadRefuses(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				name   string
				revoke func(st auth.Store, u *user) error
			}{
				{"session revoked", func(st auth.Store, u *user) error {
					return st.RevokeSessions(context.Background(), u.orgID, u.userID)
				}},
				{"login credential deactivated", func(st auth.Store, u *user) error {
					return st.SetCredentialActive(context.Background(), u.orgID, u.userID, u.credUUID, false)
				}},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, open(t))
					u := e.newUser()
					// Before: each path works.
					if r := e.send(e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
						t.Fatalf("RFC 9421 before: %d %s", r.status, r.raw)
					}
					init := e.do("POST", "/auth/action/init", u.token, map[string]string{
						"userActionPayload": "{}", "userActionHttpMethod": "POST", "userActionHttpPath": "/permissions",
					})
					if init.status != 200 {
						t.Fatalf("action/init before: %d %s", init.status, init.raw)
					}
					signedReq := e.httpsigRequest(u.token, u.signer, "POST", "/permissions", permissionBody())

					if err := c.revoke(e.store, u); err != nil {
						t.Fatal(err)
					}
					if r := e.do("POST", "/auth/action/init", u.token, map[string]string{
						"userActionPayload": "{}", "userActionHttpMethod": "POST", "userActionHttpPath": "/permissions",
					}); r.status != 401 {
						t.Errorf("action/init after: %d %s, want 401", r.status, r.raw)
					}
					if r := e.do("POST", "/auth/action", u.token, map[string]any{
						"challengeIdentifier": init.str("challengeIdentifier"), "firstFactor": u.signer.assert(init.str("challenge")),
					}); r.status != 401 {
						t.Errorf("action complete after: %d %s, want 401", r.status, r.raw)
					}
					if r := e.send(signedReq); r.status != 401 {
						t.Errorf("RFC 9421 after: %d %s, want 401", r.status, r.raw)
					}
				})
			}
		})
	}
}
