package client_test

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signet-auth/signet/client"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/sqlite"
	"github.com/signet-auth/signet/internal/token"
)

// mailbox is an auth.Delivery that keeps the codes it is given.
type mailbox struct {
	mu    sync.Mutex
	codes map[string]string // username -> last code
}

func (m *mailbox) SendRegistrationCode(_ context.Context, _ *auth.Org, u *auth.User, code string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[u.Username] = code
	return nil
}

func (m *mailbox) SendRecoveryCode(ctx context.Context, o *auth.Org, u *auth.User, code string) error {
	return m.SendRegistrationCode(ctx, o, u, code)
}

func (m *mailbox) SendLoginCode(ctx context.Context, o *auth.Org, u *auth.User, code string) error {
	return m.SendRegistrationCode(ctx, o, u, code)
}

// code waits up to five seconds for a code to username: the server mails
// codes after it has answered (docs/abuse.md), so the answer's timing does
// not tell who has an account.
func (m *mailbox) code(username string) string {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		c := m.codes[username]
		m.mu.Unlock()
		if c != "" || time.Now().After(deadline) {
			return c
		}
	}
}

// newMailServer runs a signet whose codes are delivered to a mailbox.
func newMailServer(t *testing.T) (string, *auth.Service, *mailbox) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/signet.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	iss, err := token.New(ctx, token.Config{Issuer: "signet-test", Store: st, MasterKey: master})
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{codes: map[string]string{}}
	svc, err := auth.New(auth.Config{Store: st, Tokens: iss, Delivery: mb})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Service: svc, JWKS: iss.JWKS, Ping: st.Ping})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv.URL, svc, mb
}

func newKey(t testing.TB, alg client.Algorithm) *client.KeySigner {
	t.Helper()
	priv, err := client.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := client.KeyID(priv.Public())
	k, err := client.NewKeySigner(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A user registered with a recovery key recovers with it: the new key
// logs in, the old one no longer does (spec 5.3).
func TestRecovery(t *testing.T) {
	requireServed(t, "POST", "/auth/recover/user/init")
	ctx := context.Background()
	url, svc, mb := newMailServer(t)
	b, err := svc.Bootstrap(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(url)
	old, rec, fresh := newKey(t, client.ES256), newKey(t, client.EdDSA), newKey(t, client.ES256K)

	// Register with a first factor and a recovery key over one challenge.
	ch, err := c.RegistrationInit(ctx, client.RegistrationInitRequest{OrgID: b.Org.ID, Username: b.User.Username, RegistrationCode: b.Code})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := old.CreateCredential(ctx, ch.Creation())
	recovery, _ := rec.CreateCredential(ctx, ch.Creation())
	recovery.CredentialKind = client.KindRecoveryKey
	if _, err := c.RegistrationComplete(ctx, ch.TemporaryAuthenticationToken, client.RegisterRequest{FirstFactorCredential: first, RecoveryCredential: recovery}); err != nil {
		t.Fatalf("register with a recovery key: %v", err)
	}
	login := client.LoginInitRequest{OrgID: b.Org.ID, Username: b.User.Username}
	// A recovery key cannot log in.
	if _, err := c.Login(ctx, login, rec); err == nil {
		t.Error("the recovery key logged in")
	}

	if _, err := c.SendRecoveryCode(ctx, client.CodeRequest{OrgID: b.Org.ID, Username: b.User.Username}); err != nil {
		t.Fatal(err)
	}
	code := mb.code(b.User.Username)
	if code == "" {
		t.Fatal("no recovery code delivered")
	}
	req := client.RecoveryInitRequest{OrgID: b.Org.ID, Username: b.User.Username, VerificationCode: code, CredentialID: rec.CredID()}
	reg, err := c.Recover(ctx, req, rec, fresh)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if reg.User.ID != b.User.ID || reg.Credential.UUID == "" {
		t.Errorf("recovered %+v", reg)
	}
	if _, err := c.Login(ctx, login, fresh); err != nil {
		t.Errorf("new key after recovery: %v", err)
	}
	if _, err := c.Login(ctx, login, old); err == nil {
		t.Error("old key still logs in after recovery")
	}
	// The code was single use.
	if _, err := c.Recover(ctx, req, rec, newKey(t, client.ES256)); err == nil {
		t.Error("recovery code used twice")
	}
}

// A one-time credential code lets another device add a key without a
// session (spec 5.4).
func TestCredentialCode(t *testing.T) {
	requireServed(t, "POST", "/auth/credentials/code/init")
	ctx := context.Background()
	s := newSession(t, client.ES256)
	exp := time.Now().Add(50 * time.Second)
	code, err := s.c.CreateCredentialCode(ctx, client.CredentialCodeRequest{Expiration: &exp})
	if err != nil {
		t.Fatalf("CreateCredentialCode: %v", err)
	}
	if code.Code == "" || code.Expiration.Before(time.Now()) {
		t.Fatalf("code = %+v", code)
	}

	// On the other device: no token.
	phone := newKey(t, client.EdDSA)
	ch, err := s.anon.CredentialCodeInit(ctx, client.CredentialCodeInitRequest{CredentialKind: client.KindKey, Code: code.Code})
	if err != nil {
		t.Fatalf("CredentialCodeInit: %v", err)
	}
	att, _ := phone.CreateCredential(ctx, ch.Creation())
	cred, err := s.anon.CredentialCodeComplete(ctx, client.CreateCredentialRequest{
		CredentialKind: att.CredentialKind, CredentialInfo: att.CredentialInfo, CredentialName: "phone", ChallengeIdentifier: ch.ChallengeIdentifier,
	})
	if err != nil {
		t.Fatalf("CredentialCodeComplete: %v", err)
	}
	if cred.Name != "phone" || cred.CredentialID != phone.CredID() {
		t.Errorf("credential = %+v", cred)
	}
	if _, err := s.anon.Login(ctx, client.LoginInitRequest{OrgID: s.orgID, Username: s.username}, phone); err != nil {
		t.Errorf("login with the added key: %v", err)
	}
	// Default expiry, and the code is single use.
	if _, err := s.c.CreateCredentialCode(ctx, client.CredentialCodeRequest{}); err != nil {
		t.Errorf("default expiration: %v", err)
	}
	if _, err := s.anon.CredentialCodeInit(ctx, client.CredentialCodeInitRequest{CredentialKind: client.KindKey, Code: code.Code}); err == nil {
		t.Error("credential code used twice")
	}
}

// A login code is mailed, opens one LoginInit that lists the user's
// PasswordProtectedKeys, and is spent by it; a wrong code is refused.
func TestSendLoginCode(t *testing.T) {
	ctx := context.Background()
	url, svc, mb := newMailServer(t)
	b, err := svc.Bootstrap(ctx, "acme", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(url)
	k := newKey(t, client.ES256)
	ch, err := c.RegistrationInit(ctx, client.RegistrationInitRequest{OrgID: b.Org.ID, Username: b.User.Username, RegistrationCode: b.Code})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := k.CreateCredential(ctx, ch.Creation())
	if _, err := c.RegistrationComplete(ctx, ch.TemporaryAuthenticationToken, client.RegisterRequest{FirstFactorCredential: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendLoginCode(ctx, client.CodeRequest{OrgID: b.Org.ID, Username: b.User.Username}); err != nil {
		t.Fatalf("SendLoginCode: %v", err)
	}
	code := mb.code(b.User.Username)
	if code == "" {
		t.Fatal("no login code delivered")
	}
	req := client.LoginInitRequest{OrgID: b.Org.ID, Username: b.User.Username, LoginCode: code + "x"}
	if _, err := c.LoginInit(ctx, req); err == nil {
		t.Error("LoginInit took a wrong login code")
	}
	req.LoginCode = code
	if _, err := c.LoginInit(ctx, req); err != nil {
		t.Fatalf("LoginInit with the login code: %v", err)
	}
	if _, err := c.LoginInit(ctx, req); err == nil {
		t.Error("a login code opened a second LoginInit")
	}
}
