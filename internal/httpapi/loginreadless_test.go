package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/token"
)

// loginReads counts the store calls a login can make: the reads it made
// before it had a readless path, and its two writes.
type loginReads struct {
	auth.Store
	reads    atomic.Int64 // LoginSubject, ChallengeSpent, User, Credentials
	readless atomic.Int64 // CreateLoginForChallenge
	read     atomic.Int64 // CreateAccessTokenForChallenge
}

func (s *loginReads) LoginSubject(ctx context.Context, orgID, userID, challengeID string) (bool, *auth.User, []*auth.Credential, error) {
	s.reads.Add(1)
	return s.Store.LoginSubject(ctx, orgID, userID, challengeID)
}

func (s *loginReads) ChallengeSpent(ctx context.Context, id string) (bool, error) {
	s.reads.Add(1)
	return s.Store.ChallengeSpent(ctx, id)
}

func (s *loginReads) User(ctx context.Context, orgID, id string) (*auth.User, error) {
	s.reads.Add(1)
	return s.Store.User(ctx, orgID, id)
}

func (s *loginReads) Credentials(ctx context.Context, orgID, userID string) ([]*auth.Credential, error) {
	s.reads.Add(1)
	return s.Store.Credentials(ctx, orgID, userID)
}

func (s *loginReads) CreateLoginForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken, kind auth.CredentialKind) (string, error) {
	s.readless.Add(1)
	return s.Store.CreateLoginForChallenge(ctx, challengeID, expiresAt, t, kind)
}

func (s *loginReads) CreateAccessTokenForChallenge(ctx context.Context, challengeID string, expiresAt time.Time, t *auth.AccessToken) error {
	s.read.Add(1)
	return s.Store.CreateAccessTokenForChallenge(ctx, challengeID, expiresAt, t)
}

func (s *loginReads) reset() { s.reads.Store(0); s.readless.Store(0); s.read.Store(0) }

// loginAnswer is the body of POST /auth/login answering the challenge ch
// with k; forge spoils the signature (still valid base64url).
func loginAnswer(ch resp, k *keySigner, forge bool) map[string]any {
	a := k.assert(ch.str("challenge"))
	if forge {
		ca := a["credentialAssertion"].(map[string]string)
		ca["signature"] = ca["signature"][:len(ca["signature"])-4] + "AAAA"
	}
	return map[string]any{"challengeIdentifier": ch.str("challengeIdentifier"), "firstFactor": a}
}

// TestLoginReadless: a Key login whose credential login init found reads
// nothing between init and its write, and its write refuses what the read
// would have refused: a user deactivated, made SSO-required or renamed, or
// a credential deactivated, between init and login, is refused with the
// one 401, its challenge spent. Replays, wrong and malformed signatures
// and decoys get the answers they always got. On both stores.
func TestLoginReadless(t *testing.T) {
	const bad, unauth = "Challenge token is not valid.", "Not Authorized."
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			raw := open(t)
			ids := raw.(auth.IdentityStore)
			st := &loginReads{Store: raw}
			e := newEnv(t, st)
			ctx := t.Context()
			admin := e.newUser()
			initLogin := func(u *user) resp {
				t.Helper()
				r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": u.orgID, "username": u.username})
				if r.status != 200 {
					t.Fatalf("login/init: %d %s", r.status, r.raw)
				}
				return r
			}
			answer := func(body map[string]any) resp { return e.do("POST", "/auth/login", "", body) }

			// A hit: no read, the readless write, a token naming the user.
			ch := initLogin(admin)
			st.reset()
			ok := answer(loginAnswer(ch, admin.signer, false))
			if ok.status != 200 {
				t.Fatalf("login: %d %s", ok.status, ok.raw)
			}
			if r, w, o := st.reads.Load(), st.readless.Load(), st.read.Load(); r != 0 || w != 1 || o != 0 {
				t.Errorf("login after init: %d reads, %d readless writes, %d read-path writes; want 0, 1, 0", r, w, o)
			}
			if c, err := e.iss.Verify(ok.str("token")); err != nil || c.Username != admin.username || c.UserID != admin.userID || c.Kind != token.KindLogin {
				t.Errorf("token: %+v, %v", c, err)
			}
			if r := e.do("GET", "/auth/users/"+admin.userID, ok.str("token"), nil); r.status != 200 {
				t.Errorf("the readless login's token: %d %s", r.status, r.raw)
			}

			// Replays of a spent challenge: the replay's 400 whatever the
			// signature, with no read first.
			for _, forge := range []bool{false, true} {
				st.reset()
				if r := answer(loginAnswer(ch, admin.signer, forge)); r.status != 400 || r.errMsg() != bad {
					t.Errorf("replay (forged %v): %d %s, want 400 %q", forge, r.status, r.raw, bad)
				}
				if n := st.reads.Load(); n != 0 {
					t.Errorf("replay (forged %v) took the read path (%d reads)", forge, n)
				}
			}

			// A wrong signature: 401, and the challenge burnt.
			ch = initLogin(admin)
			st.reset()
			if r := answer(loginAnswer(ch, admin.signer, true)); r.status != 401 || r.errMsg() != unauth {
				t.Errorf("wrong signature: %d %s, want 401", r.status, r.raw)
			}
			if n := st.reads.Load(); n != 0 {
				t.Errorf("wrong signature took the read path (%d reads)", n)
			}
			if r := answer(loginAnswer(ch, admin.signer, false)); r.status != 400 || r.errMsg() != bad {
				t.Errorf("right answer to a burnt challenge: %d %s, want 400", r.status, r.raw)
			}
			// A malformed signature: 400, as on the read path, and burnt.
			ch = initLogin(admin)
			mal := loginAnswer(ch, admin.signer, false)
			mal["firstFactor"].(map[string]any)["credentialAssertion"].(map[string]string)["signature"] = "!!"
			if r := answer(mal); r.status != 400 || r.errMsg() == bad {
				t.Errorf("malformed signature: %d %s, want 400 (not a replay's)", r.status, r.raw)
			}
			if r := answer(loginAnswer(ch, admin.signer, false)); r.status != 400 || r.errMsg() != bad {
				t.Errorf("right answer after a malformed one: %d %s, want 400", r.status, r.raw)
			}

			// An answer of another kind than its credential's: 401, as
			// pickCredential refuses it on the read path.
			ch = initLogin(admin)
			other := loginAnswer(ch, admin.signer, false)
			other["firstFactor"].(map[string]any)["kind"] = "PasswordProtectedKey"
			if r := answer(other); r.status != 401 || r.errMsg() != unauth {
				t.Errorf("a Key answered as a PasswordProtectedKey: %d %s, want 401", r.status, r.raw)
			}

			// Changes between init and login, each refused by the write.
			for i, c := range []struct {
				name   string
				change func(u *user)
			}{
				{"user deactivated", func(u *user) {
					v, err := raw.User(ctx, u.orgID, u.userID)
					if err != nil {
						t.Fatal(err)
					}
					v.IsActive = false
					if err := ids.UpdateUser(ctx, v); err != nil {
						t.Fatal(err)
					}
				}},
				{"user archived", func(u *user) {
					v, _ := raw.User(ctx, u.orgID, u.userID)
					v.IsActive, v.IsArchived = false, true
					if err := ids.UpdateUser(ctx, v); err != nil {
						t.Fatal(err)
					}
				}},
				{"made SSO-required", func(u *user) {
					v, _ := raw.User(ctx, u.orgID, u.userID)
					v.IsSSORequired = true
					if err := ids.UpdateUser(ctx, v); err != nil {
						t.Fatal(err)
					}
				}},
				{"credential deactivated", func(u *user) {
					if err := raw.SetCredentialActive(ctx, u.orgID, u.userID, u.credUUID, false); err != nil {
						t.Fatal(err)
					}
				}},
			} {
				t.Run(c.name, func(t *testing.T) {
					u := e.invite(admin, fmt.Sprintf("change%d@example.com", i))
					ch := initLogin(u)
					c.change(u)
					st.reset()
					if r := answer(loginAnswer(ch, u.signer, false)); r.status != 401 || r.errMsg() != unauth {
						t.Errorf("login after the change: %d %s, want 401", r.status, r.raw)
					}
					if r, w := st.reads.Load(), st.readless.Load(); r != 0 || w != 1 {
						t.Errorf("%d reads and %d readless writes, want 0 and 1 (the readless path)", r, w)
					}
					// Spent by the refused write: answered again, a replay
					// (unspent, it would be refused as the user is: 401).
					if r := answer(loginAnswer(ch, u.signer, false)); r.status != 400 || r.errMsg() != bad {
						t.Errorf("the refused login's challenge answered again: %d %s, want 400 %q", r.status, r.raw, bad)
					}
					sessions, err := ids.AccessTokens(ctx, u.orgID, u.userID, token.KindLogin)
					if err != nil || len(sessions) != 1 { // the one register made
						t.Errorf("login sessions after the refusal: %d, %v; want 1", len(sessions), err)
					}
				})
			}

			// Renamed between init and login: logged in, readless, and the
			// token carries the new name, the one the write found (as the
			// read path's carries the name it read).
			u := e.invite(admin, "rename@example.com")
			ch = initLogin(u)
			v, _ := raw.User(ctx, u.orgID, u.userID)
			v.Username = "renamed@example.com"
			if err := ids.UpdateUser(ctx, v); err != nil {
				t.Fatal(err)
			}
			st.reset()
			r := answer(loginAnswer(ch, u.signer, false))
			if c, err := e.iss.Verify(r.str("token")); r.status != 200 || err != nil || c.Username != v.Username {
				t.Errorf("login after a rename: %d %s, %+v %v; want the name %q", r.status, r.raw, c, err, v.Username)
			}
			if n := st.reads.Load(); n != 0 {
				t.Errorf("login after a rename: %d reads, want 0", n)
			}

			// A credential no login of this Service has used yet, found by
			// login init alone: readless.
			k3 := newKeySigner(t, "ES256")
			e.addKey(admin, k3)
			ch = initLogin(admin)
			st.reset()
			if r := answer(loginAnswer(ch, k3, false)); r.status != 200 {
				t.Fatalf("login with a key init found: %d %s", r.status, r.raw)
			}
			if n := st.reads.Load(); n != 0 {
				t.Errorf("login with a key init found: %d reads, want 0", n)
			}

			// A credential added after init is not cached: the read path
			// logs in with it and fills the cache for the next login.
			k2 := newKeySigner(t, "EdDSA")
			ch = initLogin(admin)
			e.addKey(admin, k2)
			st.reset()
			if r := answer(loginAnswer(ch, k2, false)); r.status != 200 {
				t.Fatalf("login with the new key: %d %s", r.status, r.raw)
			}
			if r, w := st.reads.Load(), st.read.Load(); r != 1 || w != 1 {
				t.Errorf("a miss: %d reads, %d read-path writes; want 1, 1", r, w)
			}

			// A decoy: the read path, and its answers as before.
			d := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": admin.orgID, "username": "nobody@example.com"})
			if d.status != 200 {
				t.Fatalf("decoy init: %d %s", d.status, d.raw)
			}
			claim := *admin.signer
			claim.credID = allowIDs(t, d)[0]
			st.reset()
			if r := answer(loginAnswer(d, &claim, false)); r.status != 401 || r.errMsg() != unauth {
				t.Errorf("decoy answer: %d %s, want 401", r.status, r.raw)
			}
			if n := st.reads.Load(); n != 1 {
				t.Errorf("decoy answer: %d reads, want 1 (the read path)", n)
			}
			if r := answer(loginAnswer(d, &claim, false)); r.status != 400 || r.errMsg() != bad {
				t.Errorf("decoy answered again: %d %s, want 400", r.status, r.raw)
			}
		})
	}
}

// TestLoginRefusalPadded: a failed login (401, or 400 for a replay) lasts
// at least the refusal floor on every path of Login: a decoy's answer and
// its replay, a wrong signature on the readless path and its replay, a
// wrong signature on the read path, and a readless login refused by its
// write. The readless path skips the read a decoy's answer costs, so
// unpadded it would tell a real user's challenge from a decoy
// (docs/abuse.md). It asserts a lower bound only, which the padding
// guarantees: no time this machine could miss.
func TestLoginRefusalPadded(t *testing.T) {
	const floor = 150 * time.Millisecond
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			raw := open(t)
			st := &loginReads{Store: raw}
			e := newEnv(t, st, func(c *auth.Config) { c.RefusalFloor = floor })
			admin := e.newUser()
			initLogin := func(orgID, username string) resp {
				t.Helper()
				r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": orgID, "username": username})
				if r.status != 200 {
					t.Fatalf("login/init: %d %s", r.status, r.raw)
				}
				return r
			}
			refusedAs := func(status int, what string, body map[string]any, reads int64) {
				t.Helper()
				st.reset()
				start := time.Now()
				r := e.do("POST", "/auth/login", "", body)
				took := time.Since(start)
				if r.status != status {
					t.Fatalf("%s: %d %s, want %d", what, r.status, r.raw, status)
				}
				if n := st.reads.Load(); n != reads {
					t.Errorf("%s: %d reads, want %d (the path under test)", what, n, reads)
				}
				if took < floor {
					t.Errorf("%s: refused after %v, before the %v floor", what, took, floor)
				}
			}
			refused := func(what string, body map[string]any, reads int64) { t.Helper(); refusedAs(401, what, body, reads) }
			d := initLogin(admin.orgID, "nobody@example.com")
			claim := *admin.signer
			claim.credID = allowIDs(t, d)[0]
			refused("decoy", loginAnswer(d, &claim, false), 1)
			// Replayed (garbage again): a decoy's is refused by its read,
			// a real user's by its signature check and burn.
			refusedAs(400, "decoy, replayed", loginAnswer(d, &claim, true), 1)
			real := initLogin(admin.orgID, admin.username)
			refused("readless, wrong signature", loginAnswer(real, admin.signer, true), 0)
			refusedAs(400, "readless, replayed", loginAnswer(real, admin.signer, true), 0)
			k2 := newKeySigner(t, "EdDSA")
			ch := initLogin(admin.orgID, admin.username)
			e.addKey(admin, k2) // after init: not cached, the read path
			refused("read path, wrong signature", loginAnswer(ch, k2, true), 1)
			ch = initLogin(admin.orgID, admin.username)
			if err := raw.SetCredentialActive(t.Context(), admin.orgID, admin.userID, admin.credUUID, false); err != nil {
				t.Fatal(err)
			}
			refused("readless, refused by the write", loginAnswer(ch, admin.signer, false), 0)
		})
	}
}

// TestLoginReadlessReplicas: two Services on one store (replicas sharing
// the challenge key), login init on one and the login on the other. The
// second has not seen the init: its first login reads (and logs in), and
// fills its cache for the next. A login refused by its write (the
// credential deactivated meanwhile) drops the entry: once the credential
// is active again, the next login on that replica reads again.
func TestLoginReadlessReplicas(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			raw := open(t)
			st := &loginReads{Store: raw}
			key := make([]byte, auth.ChallengeKeySize)
			rand.Read(key)
			e := newEnv(t, st, func(c *auth.Config) { c.ChallengeKey = slices.Clone(key) })
			b, err := auth.New(auth.Config{Store: st, Tokens: e.iss, Now: e.clock.Now, ChallengeKey: slices.Clone(key)})
			if err != nil {
				t.Fatal(err)
			}
			admin := e.newUser()
			// loginOnB answers, on replica b, a challenge of replica e.
			loginOnB := func(k *keySigner) (reads int64, err error) {
				t.Helper()
				ch := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": admin.orgID, "username": admin.username})
				if ch.status != 200 {
					t.Fatalf("login/init: %d %s", ch.status, ch.raw)
				}
				raw, _ := json.Marshal(k.assert(ch.str("challenge")))
				var a auth.Assertion
				if err := json.Unmarshal(raw, &a); err != nil {
					t.Fatal(err)
				}
				st.reset()
				_, err = b.Login(t.Context(), ch.str("challengeIdentifier"), &a)
				return st.reads.Load(), err
			}
			for i, want := range []int64{1, 0, 0} {
				if n, err := loginOnB(admin.signer); err != nil || n != want {
					t.Errorf("login %d on the other replica: %d reads, %v; want %d reads and a login", i, n, err, want)
				}
			}
			// The credential deactivated between init and login: b's
			// readless login is refused by its write.
			ctx := t.Context()
			ch := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": admin.orgID, "username": admin.username})
			if err := raw.SetCredentialActive(ctx, admin.orgID, admin.userID, admin.credUUID, false); err != nil {
				t.Fatal(err)
			}
			rawA, _ := json.Marshal(admin.signer.assert(ch.str("challenge")))
			var a auth.Assertion
			if err := json.Unmarshal(rawA, &a); err != nil {
				t.Fatal(err)
			}
			st.reset()
			if _, err := b.Login(ctx, ch.str("challengeIdentifier"), &a); auth.ErrorCode(err) != auth.Unauthenticated || st.reads.Load() != 0 {
				t.Errorf("readless login of a deactivated credential: %v, %d reads; want 401 and none", err, st.reads.Load())
			}
			if err := raw.SetCredentialActive(ctx, admin.orgID, admin.userID, admin.credUUID, true); err != nil {
				t.Fatal(err)
			}
			if n, err := loginOnB(admin.signer); err != nil || n != 1 {
				t.Errorf("login after the refusal: %d reads, %v; want 1 read (the entry dropped) and a login", n, err)
			}
		})
	}
}

// TestLoginMalformedAnswerParity: a malformed answer gets the same status
// and message whether it names a real user's listed credential (on the
// readless path or the read path) or a decoy's, so the status tells
// nobody which names are in use. Undecodable fields are refused (400)
// before any credential is looked up; content found malformed only with
// the credential in hand (a clientData that is not JSON) is the one 401
// every refused login gets, as a decoy's answer is.
func TestLoginMalformedAnswerParity(t *testing.T) {
	raw := stores(t)["sqlite"](t)
	st := &loginReads{Store: raw}
	e := newEnv(t, st)
	admin := e.newUser()
	initLogin := func(name string) resp {
		t.Helper()
		r := e.do("POST", "/auth/login/init", "", map[string]string{"orgId": admin.orgID, "username": name})
		if r.status != 200 {
			t.Fatalf("login/init %s: %d %s", name, r.status, r.raw)
		}
		return r
	}
	spoil := []struct {
		what  string
		field string
		value string
		want  int
	}{
		{"signature not base64url", "signature", "!!", 400},
		{"clientData not base64url", "clientData", "!!", 400},
		{"clientData not JSON", "clientData", b64([]byte("not json")), 401},
		{"clientData challenge a number", "clientData", b64([]byte(`{"type":"key.get","challenge":1,"origin":"x"}`)), 401},
		{"clientData a JSON array", "clientData", b64([]byte(`[]`)), 401},
	}
	for _, sp := range spoil {
		t.Run(sp.what, func(t *testing.T) {
			answer := func(ch resp, k *keySigner) resp {
				body := loginAnswer(ch, k, false)
				body["firstFactor"].(map[string]any)["credentialAssertion"].(map[string]string)[sp.field] = sp.value
				return e.do("POST", "/auth/login", "", body)
			}
			// The real user, readless: its init cached its key.
			st.reset()
			readless := answer(initLogin(admin.username), admin.signer)
			if n := st.reads.Load(); n != 0 {
				t.Fatalf("readless answer made %d reads", n)
			}
			// The real user, read path: a key added after init is not
			// cached, so its answer reads.
			k := newKeySigner(t, "ES256")
			ch := initLogin(admin.username)
			e.addKey(admin, k)
			st.reset()
			read := answer(ch, k)
			if n := st.reads.Load(); n == 0 {
				t.Fatal("read-path answer made no read")
			}
			// A decoy, naming one of its listed ids.
			d := initLogin("nobody-" + sp.field + "@example.com")
			claim := *admin.signer
			claim.credID = allowIDs(t, d)[0]
			decoy := answer(d, &claim)
			for name, r := range map[string]resp{"readless": readless, "read": read, "decoy": decoy} {
				if r.status != sp.want || r.errMsg() != decoy.errMsg() {
					t.Errorf("%s: %d %q; decoy %d %q; want %d and the same message", name, r.status, r.errMsg(), decoy.status, decoy.errMsg(), sp.want)
				}
			}
		})
	}
}
