package httpapi_test

import (
	"crypto/sha256"
	"testing"
)

// TestActionTokenInAudit: on each store, a user-action token from
// /auth/action (a stamped token since sqlflow3) is spent by the request it
// was made for, once, and the audit entry records the SHA-256 of the whole
// token as its actionToken, as before stamps: the store's key for it
// (stamp and hash) is not what the entry records.
func TestActionTokenInAudit(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			u := e.newUser()
			body := `{"credentialUuid":"` + u.credUUID + `"}`
			r := e.userAction(u.token, u.signer, "PUT", "/auth/credentials/activate", body)
			if r.status != 200 {
				t.Fatalf("action: %d %s", r.status, r.raw)
			}
			tok, id := r.str("userAction"), r.str("id")
			if len(tok) != 53 {
				t.Errorf("user-action token %q: want a stamped token of 53 characters", tok)
			}
			if r := e.do("PUT", "/auth/credentials/activate", u.token, body, "X-DFNS-USERACTION", tok); r.status != 200 {
				t.Fatalf("signed request: %d %s", r.status, r.raw)
			}
			if r := e.do("PUT", "/auth/credentials/activate", u.token, body, "X-DFNS-USERACTION", tok); r.status != 400 {
				t.Fatalf("second use: %d %s, want 400", r.status, r.raw)
			}
			sum := sha256.Sum256([]byte(tok))
			if r := e.do("GET", "/auth/action/logs/"+id, u.token, nil); r.status != 200 || r.str("actionToken") != b64(sum[:]) {
				t.Fatalf("log entry: %d %s; want actionToken %s", r.status, r.raw, b64(sum[:]))
			}
		})
	}
}
