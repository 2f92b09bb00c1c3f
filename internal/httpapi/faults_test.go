package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/httpapi"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/server"
	"github.com/signet-auth/signet/internal/sqlite"
)

// getFault sends a GET and returns the status, the Retry-After header and the
// decoded body.
func getFault(t *testing.T, url string) (int, string, resp) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r resp
	r.status = res.StatusCode
	if err := decodeJSON(res, &r.body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, res.Header.Get("Retry-After"), r
}

// TestSQLiteCannotWrite: while another process holds SQLite's write lock
// (the database answers reads but takes no write), /healthz still answers
// ok at once, /readyz says unready with the failing check, and a request
// that must write gets 503 "unavailable" with Retry-After instead of a 500
// or a wait; once the lock is gone, /readyz is ready again and the same
// request succeeds.
func TestSQLiteCannotWrite(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	st, err := sqlite.Open(t.Context(), path, sqlite.BusyTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	u := e.newUser()
	api, err := httpapi.New(httpapi.Config{Service: e.svc, JWKS: e.iss.JWKS, Ping: st.Ping,
		RequestTimeout: 2 * time.Second, Readiness: server.Readiness(st, e.iss, nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	// A write that needs no signature: logging out revokes the session in
	// the store. (Action init writes nothing since challenges are sealed.)
	initAction := func() resp {
		return e.do("PUT", "/auth/logout", u.token, map[string]any{})
	}

	if st, _, r := getFault(t, srv.URL+"/readyz"); st != http.StatusOK || r.str("status") != "ready" {
		t.Fatalf("/readyz before the fault = %d %v", st, r.body)
	}

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the readiness interval

	start := time.Now()
	if st, _, r := getFault(t, srv.URL+"/healthz"); st != http.StatusOK || r.str("status") != "ok" {
		t.Errorf("/healthz while the database cannot write = %d %v, want 200 ok", st, r.body)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("/healthz took %v while the database was locked", took)
	}
	st2, retry, r := getFault(t, srv.URL+"/readyz")
	if st2 != http.StatusServiceUnavailable || r.str("status") != "unready" || r.str("checks", "database") != "failing" || retry == "" {
		t.Errorf("/readyz while the database cannot write = %d (Retry-After %q) %v, want 503 unready, database failing", st2, retry, r.body)
	}
	if r.str("checks", "migrations") != "ok" || r.str("checks", "signing_key") != "ok" {
		t.Errorf("/readyz blames more than the database: %v", r.body)
	}
	res := initAction()
	if res.status != http.StatusServiceUnavailable || res.str("error", "code") != "unavailable" || res.errMsg() == "internal error" {
		t.Errorf("a write while the database is locked = %d %s, want 503 unavailable", res.status, res.raw)
	}

	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if st, _, r := getFault(t, srv.URL+"/readyz"); st != http.StatusOK || r.str("status") != "ready" {
		t.Errorf("/readyz after the fault = %d %v, want 200 ready", st, r.body)
	}
	if res := initAction(); res.status != http.StatusOK {
		t.Errorf("a write after the fault = %d %s, want 200", res.status, res.raw)
	}
}

// TestUnavailableAnswer: the 503 of an unavailable dependency carries
// Retry-After and the one error body.
func TestUnavailableAnswer(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	st, err := sqlite.Open(t.Context(), path, sqlite.BusyTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	u := e.newUser()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	// Logging out writes (it revokes the session); action init no longer
	// does, since challenges are sealed.
	req, _ := http.NewRequest("PUT", e.url+"/auth/logout", stringsReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := decodeJSON(res, &body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != httpapi.RetryAfter ||
		body.Error.Status != 503 || body.Error.Code != "unavailable" || body.Error.Message == "" {
		t.Errorf("got %d Retry-After %q %+v", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
}

func decodeJSON(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// TestSpentActionFailedOnDependency: a signed write whose user action was
// spent, then whose own write stalled in PostgreSQL past the request's
// deadline, is answered 503 within the deadline, does not take effect, and
// its action's outcome records the 503, readable by its signer. The stall
// is real: a trigger that sleeps inside the insert.
func TestSpentActionFailedOnDependency(t *testing.T) {
	url := pgtest.URL(t)
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	admin := e.newUser()
	api, err := httpapi.New(httpapi.Config{Service: e.svc, JWKS: e.iss.JWKS, Ping: st.Ping, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.url = srv.URL

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `
		CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'stalled' THEN PERFORM pg_sleep(5); END IF; RETURN NEW; END $$;
		CREATE TRIGGER stall BEFORE INSERT ON permissions FOR EACH ROW EXECUTE FUNCTION stall();`); err != nil {
		t.Fatal(err)
	}

	body := `{"name":"stalled","operations":["Auth:Users:Read"]}`
	a := e.userAction(admin.token, admin.signer, "POST", "/permissions", body)
	start := time.Now()
	r := e.do("POST", "/permissions", admin.token, body, "X-DFNS-USERACTION", a.str("userAction"))
	took := time.Since(start)
	if r.status != http.StatusServiceUnavailable || r.str("error", "code") != "unavailable" {
		t.Fatalf("stalled write = %d %s, want 503 unavailable", r.status, r.raw)
	}
	if took > 4*time.Second {
		t.Errorf("the answer took %v with a 1s request deadline", took)
	}
	o := e.do("GET", "/auth/action/"+a.str("id"), admin.token, nil)
	if o.str("state") != "used" || outcomeStatus(o) != http.StatusServiceUnavailable {
		t.Errorf("outcome of the spent action = %d %s, want used, 503", o.status, o.raw)
	}
	// Past the stall: the server must have abandoned the statement, not
	// finished it after its client gave up.
	time.Sleep(5 * time.Second)
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM permissions WHERE name = 'stalled'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the write that was answered 503 took effect: %d rows (%v)", n, err)
	}
}

// TestOutageIsNotAnAuthFailure: a step of an authentication that cannot
// write because the database is unavailable answers 503, not the 401 of a
// failed authentication (which would make a client drop a good token or
// code); once the database is back, the same step succeeds.
func TestOutageIsNotAnAuthFailure(t *testing.T) {
	path := t.TempDir() + "/signet.db"
	st, err := sqlite.Open(t.Context(), path, sqlite.BusyTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	b, err := e.svc.Bootstrap(t.Context(), "outage org", "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	k := newKeySigner(t, "ES256")
	r := e.do("POST", "/auth/registration/init", "", map[string]string{"orgId": b.Org.ID, "username": b.User.Username, "registrationCode": b.Code})
	if r.status != 200 {
		t.Fatalf("registration/init: %d %s", r.status, r.raw)
	}
	temp, challenge := r.str("temporaryAuthenticationToken"), r.str("challenge")

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/auth/registration", temp, map[string]any{"firstFactorCredential": k.attest(challenge)})
	if r.status != http.StatusServiceUnavailable || r.str("error", "code") != "unavailable" {
		t.Errorf("registration while the database cannot write = %d %s, want 503 unavailable, not 401", r.status, r.raw)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/auth/registration", temp, map[string]any{"firstFactorCredential": k.attest(challenge)})
	if r.status != 200 {
		t.Errorf("registration after the outage = %d %s, want 200", r.status, r.raw)
	}
}
