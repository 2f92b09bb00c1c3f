package httpapi_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// codeInit calls /auth/credentials/code/init for a Key.
func (e *env) codeInit(code string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/credentials/code/init", "", map[string]string{"credentialKind": "Key", "code": code})
}

// codeVerify answers a code/init challenge r with k's attestation over
// challenge.
func (e *env) codeVerify(r resp, k *keySigner, challenge string) resp {
	e.t.Helper()
	att := k.attest(challenge)
	att["challengeIdentifier"], att["credentialName"] = r.str("challengeIdentifier"), "phone"
	return e.do("POST", "/auth/credentials/code/verify", "", att)
}

// TestCredentialCodeSpentOnlyBySuccess: code/init checks a credential code
// without spending it; a refused or abandoned answer leaves it valid;
// MaxCodeAttempts refused answers spend it; the successful answer spends
// it, so that every other challenge of the code dies with it (issue 11).
func TestCredentialCodeSpentOnlyBySuccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser()
		t.Run("failed and abandoned answers leave the code", func(t *testing.T) {
			code := e.mustCredentialCode(u)
			abandoned := e.codeInit(code)
			if abandoned.status != 200 {
				t.Fatalf("code/init: %d %s", abandoned.status, abandoned.raw)
			}
			r := e.codeInit(code)
			if r.status != 200 {
				t.Fatalf("code/init again: %d %s", r.status, r.raw)
			}
			k := newKeySigner(t, "ES256")
			if v := e.codeVerify(r, k, "not-the-challenge"); v.status < 400 {
				t.Fatalf("answer over another challenge: %d %s", v.status, v.raw)
			}
			r = e.codeInit(code)
			if r.status != 200 {
				t.Fatalf("code/init after a refused answer: %d %s", r.status, r.raw)
			}
			if v := e.codeVerify(r, k, r.str("challenge")); v.status != 200 {
				t.Fatalf("code/verify: %d %s", v.status, v.raw)
			}
			e.login(u, k)
			// Spent: no new challenge, and the abandoned one dies with it.
			if r := e.codeInit(code); r.status != 401 {
				t.Fatalf("code/init after success: %d %s", r.status, r.raw)
			}
			if v := e.codeVerify(abandoned, newKeySigner(t, "ES256"), abandoned.str("challenge")); v.status != 401 || v.errMsg() != "Not Authorized." {
				t.Fatalf("an older challenge of a spent code: %d %s", v.status, v.raw)
			}
		})
		t.Run("bounded refused answers", func(t *testing.T) {
			code := e.mustCredentialCode(u)
			for i := range auth.MaxCodeAttempts {
				r := e.codeInit(code)
				if r.status != 200 {
					t.Fatalf("code/init after %d refused answers: %d %s", i, r.status, r.raw)
				}
				if v := e.codeVerify(r, newKeySigner(t, "ES256"), "wrong"); v.status < 400 {
					t.Fatalf("refused answer %d: %d %s", i, v.status, v.raw)
				}
			}
			if r := e.codeInit(code); r.status != 401 {
				t.Fatalf("code/init after %d refused answers: %d %s", auth.MaxCodeAttempts, r.status, r.raw)
			}
		})
		t.Run("expired after init, answered within the grace", func(t *testing.T) {
			code := e.mustCredentialCode(u) // 50 s
			r := e.codeInit(code)
			e.clock.Advance(2 * time.Minute)
			if r := e.codeInit(code); r.status != 401 {
				t.Fatalf("code/init of an expired code: %d %s", r.status, r.raw)
			}
			k := newKeySigner(t, "ES256")
			if v := e.codeVerify(r, k, r.str("challenge")); v.status != 200 {
				t.Fatalf("answer after the code expired: %d %s", v.status, v.raw)
			}
		})
		t.Run("challenge expires with the grace", func(t *testing.T) {
			code := e.mustCredentialCode(u)
			r := e.codeInit(code)
			e.clock.Advance(50*time.Second + auth.CredentialCodeGrace)
			if v := e.codeVerify(r, newKeySigner(t, "ES256"), r.str("challenge")); v.status != 400 || v.errMsg() != "Challenge token is not valid." {
				t.Fatalf("answer after the grace: %d %s", v.status, v.raw)
			}
		})
	})
}

// outageStore fails CreateCredentialForCode as a database that cannot be
// reached does, while down is set.
type outageStore struct {
	auth.Store
	down atomic.Bool
}

func (o *outageStore) CreateCredentialForCode(ctx context.Context, hash []byte, challengeID string, expiresAt time.Time, c *auth.Credential) error {
	if o.down.Load() {
		return fmt.Errorf("store: connection refused: %w", auth.ErrUnavailable)
	}
	return o.Store.CreateCredentialForCode(ctx, hash, challengeID, expiresAt, c)
}

// TestCredentialCodeOutageNotCounted: an answer that fails because the
// database is unreachable is the server's fault, not a wrong guess. It
// gets the 503 of an outage and does not count against MaxCodeAttempts,
// so an outage cannot spend a user's code; a correct answer after the
// outage adds the credential.
func TestCredentialCodeOutageNotCounted(t *testing.T) {
	forEachStore(t, func(t *testing.T, a *env) {
		st := &outageStore{Store: a.store}
		e := a.restart(func(c *auth.Config) { c.Store = st })
		u := a.newUser()
		code := a.mustCredentialCode(u)
		st.down.Store(true)
		for i := range auth.MaxCodeAttempts + 2 {
			r := e.codeInit(code)
			if r.status != 200 {
				t.Fatalf("code/init during the outage, attempt %d: %d %s", i, r.status, r.raw)
			}
			if v := e.codeVerify(r, newKeySigner(t, "ES256"), r.str("challenge")); v.status != 503 {
				t.Fatalf("answer during the outage, attempt %d: %d %s, want 503", i, v.status, v.raw)
			}
		}
		st.down.Store(false)
		r := e.codeInit(code)
		if r.status != 200 {
			t.Fatalf("code/init after the outage: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "ES256")
		if v := e.codeVerify(r, k, r.str("challenge")); v.status != 200 {
			t.Fatalf("answer after the outage: %d %s", v.status, v.raw)
		}
		a.login(u, k)
	})
}
