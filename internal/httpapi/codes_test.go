package httpapi_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/mail/mailtest"
)

// waitMessages waits (up to 10s) until the test mail server holds n
// messages, since unauthenticated code requests mail in the background.
func (e *env) waitMessages(n int) []mailtest.Message {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := e.mail.Messages()
		if len(msgs) >= n {
			if len(msgs) > n {
				e.t.Fatalf("%d messages mailed, want %d", len(msgs), n)
			}
			return msgs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d messages mailed after 10s, want %d", len(msgs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// regInit calls /auth/registration/init.
func (e *env) regInit(orgID, username, code string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": orgID, "username": username, "registrationCode": code})
}

// TestRegistrationCodeSurvivesFailedAttempts: a registration that fails
// after init (a cancelled prompt, a wrong signature) leaves the code valid;
// only the successful registration spends it.
func TestRegistrationCodeSurvivesFailedAttempts(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "erin@example.com", "kind": "CustomerEmployee"})); r.status != 200 {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		code := e.mailedCode("erin@example.com")
		// Abandoned: init, never completed.
		if r := e.regInit(admin.orgID, "erin@example.com", code); r.status != 200 {
			t.Fatalf("init: %d %s", r.status, r.raw)
		}
		// Failed: the credential signs another challenge.
		r := e.regInit(admin.orgID, "erin@example.com", code)
		if r.status != 200 {
			t.Fatalf("init: %d %s", r.status, r.raw)
		}
		k := newKeySigner(t, "ES256")
		if r := e.do("POST", "/auth/registration", r.str("temporaryAuthenticationToken"), map[string]any{"firstFactorCredential": k.attest("not-the-challenge")}); r.status < 400 {
			t.Fatalf("registration over another challenge: %d %s", r.status, r.raw)
		}
		// The code still registers.
		erin := e.register(admin.orgID, "erin@example.com", code)
		if erin.token == "" {
			t.Fatal("no login after registering")
		}
		if r := e.regInit(admin.orgID, "erin@example.com", code); r.status != 401 {
			t.Fatalf("code after registering: %d %s", r.status, r.raw)
		}
	})
}

// TestCodeWrongGuessesBounded: MaxCodeAttempts wrong guesses spend a
// user's registration codes, and likewise recovery codes.
func TestCodeWrongGuessesBounded(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newUser()
		if r := e.signed(admin, "POST", "/auth/users", mustJSON(map[string]string{"email": "frank@example.com", "kind": "CustomerEmployee"})); r.status != 200 {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		code := e.mailedCode("frank@example.com")
		for i := range auth.MaxCodeAttempts - 1 {
			if r := e.regInit(admin.orgID, "frank@example.com", fmt.Sprintf("WRONG-%05d", i)); r.status != 401 {
				t.Fatalf("wrong guess %d: %d %s", i, r.status, r.raw)
			}
		}
		if r := e.regInit(admin.orgID, "frank@example.com", code); r.status != 200 {
			t.Fatalf("the code after %d wrong guesses: %d %s", auth.MaxCodeAttempts-1, r.status, r.raw)
		}
		if r := e.regInit(admin.orgID, "frank@example.com", "WRONG-LAST"); r.status != 401 {
			t.Fatalf("last wrong guess: %d", r.status)
		}
		if r := e.regInit(admin.orgID, "frank@example.com", code); r.status != 401 {
			t.Fatalf("the code after %d wrong guesses: %d %s", auth.MaxCodeAttempts, r.status, r.raw)
		}

		u, rk := e.newUserWithRecovery()
		rcode := e.mailedRecoveryCode(u)
		for range auth.MaxCodeAttempts {
			if r := e.recoveryInit(u, "AAAAA-BBBBB-CCCCC-DDDDD", rk.credID); r.status != 401 {
				t.Fatalf("wrong recovery code: %d", r.status)
			}
		}
		if r := e.recoveryInit(u, rcode, rk.credID); r.status != 401 {
			t.Fatalf("recovery code after %d wrong guesses: %d %s", auth.MaxCodeAttempts, r.status, r.raw)
		}
		// A fresh code works.
		if r := e.recoveryInit(u, e.mailedRecoveryCode(u), rk.credID); r.status != 200 {
			t.Fatalf("fresh recovery code: %d %s", r.status, r.raw)
		}
	})
}

// TestResendWithoutDelivery: with no mail configured, an anonymous resend
// is refused for every user alike and voids nothing.
func TestResendWithoutDelivery(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { resendWithoutDelivery(t, open) })
	}
}

func resendWithoutDelivery(t *testing.T, open func(testing.TB) auth.Store) {
	{
		e := newEnv(t, open(t), func(c *auth.Config) { c.Delivery = nil })
		b, err := e.svc.Bootstrap(t.Context(), "org", "gina@example.com")
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, who := range []string{"gina@example.com", "nobody@example.com"} {
			for _, path := range []string{"PUT /auth/registration/code", "POST /auth/recover/user/code"} {
				m, p, _ := cut(path)
				r := e.do(m, p, "", map[string]string{"orgId": b.Org.ID, "username": who})
				if r.status != 403 || r.str("error", "code") != "forbidden" {
					t.Fatalf("%s for %s without delivery: %d %s", path, who, r.status, r.raw)
				}
				bodies = append(bodies, path+string(r.raw))
			}
		}
		if bodies[0] != bodies[2] || bodies[1] != bodies[3] {
			t.Fatalf("answers differ between a user and nobody: %q", bodies)
		}
		if r := e.regInit(b.Org.ID, "gina@example.com", b.Code); r.status != 200 {
			t.Fatalf("the code after refused resends: %d %s", r.status, r.raw)
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestOneAnswerForAuthFailures: registration/init and recover/user/init
// refuse an unknown user, a registered one, a deactivated one, a service
// account and a wrong code with the same status and body. The medians of
// their times are logged, with the refusal floor (the default) and without
// it (1ns), interleaved in one run; docs/abuse.md reports them. Times are
// logged, never asserted.
func TestOneAnswerForAuthFailures(t *testing.T) {
	open := stores(t)["sqlite"]
	with, without := newOneAnswerEnv(t, open(t), 0), newOneAnswerEnv(t, open(t), time.Nanosecond)
	var first string
	for _, c := range with.cases {
		r := with.e.regInit(with.admin.orgID, c.username, "WRONG-CODE")
		if first == "" {
			first = string(r.raw)
		}
		if r.status != 401 || string(r.raw) != first {
			t.Errorf("registration/init, %s: %d %s; want the answer %s", c.name, r.status, r.raw, first)
		}
		r = with.e.do("POST", "/auth/recover/user/init", "", map[string]string{"orgId": with.admin.orgID, "username": c.username, "verificationCode": "WRONG", "credentialId": "x"})
		if r.status != 401 || string(r.raw) != first {
			t.Errorf("recover/user/init, %s: %d %s; want the answer %s", c.name, r.status, r.raw, first)
		}
	}
	const rounds = 45
	for i := range rounds {
		with.round(i)
		without.round(i)
	}
	with.report("with the 10ms floor")
	without.report("without a floor")

	// Code mails: the same answer after the same work for a user who gets
	// a code and for nobody (the code is stored and mailed afterwards).
	send := map[string][]time.Duration{}
	for range rounds {
		for _, who := range []string{with.admin.username, "nobody@example.com"} {
			start := time.Now()
			r := with.e.do("POST", "/auth/recover/user/code", "", map[string]string{"orgId": with.admin.orgID, "username": who})
			send[who] = append(send[who], time.Since(start))
			if r.status != 200 || r.str("message") != "success" {
				t.Fatalf("recover/user/code for %s: %d %s", who, r.status, r.raw)
			}
		}
	}
	for who, d := range send {
		slices.Sort(d)
		t.Logf("recover/user/code for %-20s median %v", who+":", d[len(d)/2])
	}
}

type oneAnswerEnv struct {
	t     *testing.T
	e     *env
	admin *user
	cases []struct{ name, username string }
	times map[string][]time.Duration
}

// newOneAnswerEnv makes an org holding a user of every kind a refusal
// can meet, on its own store and Service (with floor as RefusalFloor).
func newOneAnswerEnv(t *testing.T, st auth.Store, floor time.Duration) *oneAnswerEnv {
	e := newEnv(t, st, func(c *auth.Config) { c.RefusalFloor = floor })
	admin := e.newUser()
	gone := e.invite(admin, "ivan@example.com")
	if r := e.signed(admin, "PUT", "/auth/users/"+gone.userID+"/deactivate", "{}"); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.raw)
	}
	e.createServiceAccount(admin, "robot", "")
	o := &oneAnswerEnv{t: t, e: e, admin: admin, times: map[string][]time.Duration{},
		cases: []struct{ name, username string }{
			{"unknown user", "nobody@example.com"},
			{"registered user", admin.username},
			{"deactivated user", "ivan@example.com"},
			{"service account", "robot"},
			{"invited user, wrong code", ""},
		}}
	o.invite(0)
	return o
}

// invite gives the wrong-code case a fresh invited user, whose codes
// wrong guesses have not spent yet.
func (o *oneAnswerEnv) invite(i int) {
	name := fmt.Sprintf("t%d@example.com", i)
	if r := o.e.signed(o.admin, "POST", "/auth/users", mustJSON(map[string]string{"email": name, "kind": "CustomerEmployee"})); r.status != 200 {
		o.t.Fatalf("create user: %d %s", r.status, r.raw)
	}
	o.cases[len(o.cases)-1].username = name
}

func (o *oneAnswerEnv) round(i int) {
	if i > 0 && i%(auth.MaxCodeAttempts-1) == 0 {
		o.invite(i)
	}
	for _, c := range o.cases {
		start := time.Now()
		o.e.regInit(o.admin.orgID, c.username, "WRONG-CODE")
		o.times[c.name] = append(o.times[c.name], time.Since(start))
	}
}

func (o *oneAnswerEnv) report(label string) {
	for _, c := range o.cases {
		d := o.times[c.name]
		slices.Sort(d)
		o.t.Logf("registration/init refusal %s, %-26s median %v", label, c.name+":", d[len(d)/2])
	}
}
