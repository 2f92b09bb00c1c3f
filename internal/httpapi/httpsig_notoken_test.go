package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to read every column
	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/credential/passkeytest"
	"github.com/signet-auth/signet/internal/httpsig"
	"github.com/signet-auth/signet/internal/postgres"
	"github.com/signet-auth/signet/internal/postgres/pgtest"
	"github.com/signet-auth/signet/internal/sqlite"
)

// tokenForms are the ways a token can sit in stored bytes: as is, and
// inside any standard or base64url encoding of a longer string (the
// alignment-independent middle of its encoding at each of the three
// offsets), as an audit base is stored.
func tokenForms(tok string) []string {
	forms := []string{tok}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := range 3 {
			s := enc.EncodeToString(append(make([]byte, k), tok...))
			from := 0
			if k > 0 {
				from = 4
			}
			forms = append(forms, s[from:len(s)-4])
		}
	}
	return forms
}

// holdsToken names the first of tokens whose form is in b.
func holdsToken(b []byte, tokens map[string]string) string {
	for name, tok := range tokens {
		for _, f := range tokenForms(tok) {
			if bytes.Contains(b, []byte(f)) {
				return name
			}
		}
	}
	return ""
}

// The server keeps no copy of a bearer token (docs/audit.md, "No token in
// the audit trail"): after RFC 9421 requests signed under a login token, a
// PAT, a service-account token and a passkey user's login token (and
// refused ones), no column of any table, no byte of the SQLite files, no
// byte of the audit export and no log line at debug level holds any of
// them, in any encoding. The export still verifies; with the tokens it
// re-verifies every signature whole; a wrong token fails.
func TestHTTPSigStoresNoToken(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var (
				st    auth.Store
				db    *sql.DB
				files []string
				err   error
			)
			switch name {
			case "sqlite":
				path := t.TempDir() + "/signet.db"
				if st, err = sqlite.Open(ctx, path); err != nil {
					t.Fatal(err)
				}
				files = []string{path, path + "-wal"}
				db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
			case "postgres":
				url := pgtest.URL(t)
				if st, err = postgres.Open(ctx, url); err != nil {
					t.Fatal(err)
				}
				db, err = sql.Open("pgx", url)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close(); st.Close() })
			logs := &logBuf{}
			e := newEnv(t, st, func(c *auth.Config) {
				c.RPID, c.Origins = pkRPID, []string{pkOrigin}
				c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})

			u := e.newUser()
			pat := e.createPAT(u, "pat", "")
			sa := e.createServiceAccount(u, "sa", "")
			tokens := map[string]string{"login token": u.token, "PAT": pat.token, "service-account token": sa.token}
			offTokens := map[string]string{} // refused tokens: looked for in the log and the database
			for _, c := range []struct {
				name   string
				tok    string
				signer *keySigner
			}{
				{"login token", u.token, u.signer},
				{"PAT", pat.token, pat.signer},
				{"service-account token", sa.token, sa.signer},
			} {
				if r := e.send(e.httpsigRequest(c.tok, c.signer, "POST", "/permissions", permissionBody())); r.status == 400 || r.status == 401 {
					t.Fatalf("%s: %d %s", c.name, r.status, r.raw)
				}
				// Refused: signed by another identity's key, and with a
				// tampered signature. Error paths log too.
				if r := e.send(e.httpsigRequest(c.tok, newKeySigner(t, "ES256"), "POST", "/permissions", permissionBody())); r.status != 401 {
					t.Fatalf("%s signed by an unknown key: %d %s", c.name, r.status, r.raw)
				}
				bad := e.httpsigRequest(c.tok, c.signer, "POST", "/permissions", permissionBody())
				// A token one character off (a typo, a forgery) is refused
				// and must not be logged either.
				last := "A"
				if strings.HasSuffix(c.tok, "A") {
					last = "B"
				}
				off := c.tok[:len(c.tok)-1] + last
				offTokens[c.name+", one character off"] = off
				if r := e.send(e.httpsigRequest(off, c.signer, "POST", "/permissions", permissionBody())); r.status != 401 {
					t.Fatalf("%s one character off: %d %s", c.name, r.status, r.raw)
				}
				label, _, _ := strings.Cut(bad.hdr.Get("Signature"), "=")
				bad.hdr.Set("Signature", label+"=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
				if r := e.send(bad); r.status != 401 && r.status != 400 {
					t.Fatalf("%s with a bad signature: %d %s", c.name, r.status, r.raw)
				}
			}
			// A passkey signer: its entry keeps the base as its challenge.
			const pkName = "notoken@example.com"
			b, err := e.svc.Bootstrap(ctx, "org "+pkName, pkName)
			if err != nil {
				t.Fatal(err)
			}
			pk := e.registerPasskey(b.Org.ID, pkName, b.Code, passkeytest.New(pkRPID, pkOrigin))
			tokens["passkey user's login token"] = pk.token
			p := e.pkSignRequest(pk, "POST", "/permissions", permissionBody(), `;alg="webauthn-es256"`)
			p.assert(t, pk.cred, auth.PasskeyChallenge(p.base))
			if r := e.send(p.s); r.status != 200 {
				t.Fatalf("passkey signed request: %d %s", r.status, r.raw)
			}

			// Every column of every table.
			searched := maps.Clone(tokens)
			maps.Copy(searched, offTokens)
			for _, where := range scanColumns(t, db, name, searched) {
				t.Errorf("the database holds a token: %s", where)
			}
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if tok := holdsToken(raw, searched); tok != "" {
					t.Errorf("%s holds the %s", f, tok)
				}
			}

			for _, org := range []string{u.orgID, b.Org.ID} {
				x, err := e.svc.ExportAudit(ctx, org)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := json.Marshal(x)
				if err != nil {
					t.Fatal(err)
				}
				if tok := holdsToken(raw, tokens); tok != "" {
					t.Errorf("the export of %s holds the %s", org, tok)
				}
				x = roundTripExport(t, x)
				signed := 0
				for _, en := range x.Entries {
					if strings.HasPrefix(en.Algorithm, audit.HTTPSigPrefix) {
						signed++
					}
				}
				if want := map[string]int{u.orgID: 3, b.Org.ID: 1}[org]; signed != want {
					t.Fatalf("%d RFC 9421 entries in %s, want %d", signed, org, want)
				}
				// Without tokens: the chain verifies, the signatures are
				// reported bound to tokens the server does not keep.
				rep := audit.VerifyWith(x, audit.Options{JWKS: e.iss.JWKS()})
				if !rep.OK() || len(rep.Unbound) != signed || rep.Rebound != 0 {
					t.Fatalf("verify without tokens: %+v", rep)
				}
				// With the tokens: every signature re-verified whole.
				var all []string
				for _, tok := range tokens {
					if org == u.orgID && tok != pk.token || org == b.Org.ID && tok == pk.token {
						all = append(all, tok)
					}
				}
				rep = audit.VerifyWith(x, audit.Options{JWKS: e.iss.JWKS(), Tokens: all})
				if !rep.OK() || len(rep.Unbound) != 0 || rep.Rebound != signed {
					t.Fatalf("verify with the tokens: %+v", rep)
				}
				// A wrong token fits nothing and fails.
				rep = audit.VerifyWith(x, audit.Options{JWKS: e.iss.JWKS(), Tokens: []string{e.newUser().token}})
				if rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "fits no entry") {
					t.Fatalf("verify with a wrong token: %+v", rep)
				}
			}

			if tok := holdsToken(logs.bytes(), searched); tok != "" {
				t.Errorf("the log holds the %s", tok)
			}
			if !strings.Contains(string(logs.bytes()), "status=401") {
				t.Error("nothing was logged: the log check checks nothing")
			}
		})
	}
}

// scanColumns reads every column of every table of db and names the cells
// that hold one of tokens.
func scanColumns(t *testing.T, db *sql.DB, store string, tokens map[string]string) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if store == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found only tables %v", tables)
	}
	var found []string
	cells := 0
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = fmt.Append(nil, v)
				}
				cells++
				if tok := holdsToken(b, tokens); tok != "" {
					found = append(found, fmt.Sprintf("%s.%s holds the %s", table, cols[i], tok))
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if cells == 0 {
		t.Fatal("read no cell")
	}
	return found
}

// An entry stored with its token, as signet stored RFC 9421 bases before it
// stopped keeping tokens (here: a real request's entry with the token put
// back, appended to the chain as it was then): the database is left as it
// is (hash-chained entries are never rewritten), the export redacts the
// token and marks the entry, verify checks its place without the token and
// its hash and signature with it.
func TestHTTPSigOldEntryExport(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, open(t))
			u := e.newUser()
			pat := e.createPAT(u, "pat", "")
			if r := e.send(e.httpsigRequest(pat.token, pat.signer, "POST", "/permissions", permissionBody())); r.status != 200 {
				t.Fatalf("PAT: %d %s", r.status, r.raw)
			}
			x, err := e.svc.ExportAudit(ctx, u.orgID)
			if err != nil {
				t.Fatal(err)
			}
			var old *audit.Entry
			for _, en := range x.Entries {
				if strings.HasPrefix(en.Algorithm, audit.HTTPSigPrefix) {
					c := *en
					old = &c
				}
			}
			base, _ := base64.RawURLEncoding.DecodeString(old.ClientData)
			whole, ok := httpsig.RestoreAuthorization(base, httpsig.AuthorizationValues(pat.token))
			if !ok {
				t.Fatal("the PAT does not fit its entry")
			}
			old.ID, old.ClientData = "uj-old", base64.RawURLEncoding.EncodeToString(whole)
			if err := e.store.AppendAuditEntry(ctx, old, e.clock.Now()); err != nil {
				t.Fatal(err)
			}

			x, err = e.svc.ExportAudit(ctx, u.orgID)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(x)
			if tok := holdsToken(raw, map[string]string{"PAT": pat.token}); tok != "" {
				t.Fatal("the export holds the PAT of an entry stored with it")
			}
			x = roundTripExport(t, x)
			marked := 0
			for _, en := range x.Entries {
				if en.RedactedAtExport {
					marked++
				}
			}
			if marked != 1 {
				t.Fatalf("%d entries marked redactedAtExport, want 1", marked)
			}
			rep := audit.VerifyWith(x, audit.Options{JWKS: e.iss.JWKS()})
			if !rep.OK() || len(rep.Redacted) != 1 || len(rep.Unbound) != 1 {
				t.Fatalf("verify without the token: %+v", rep)
			}
			rep = audit.VerifyWith(x, audit.Options{JWKS: e.iss.JWKS(), Tokens: []string{pat.token}})
			if !rep.OK() || len(rep.Redacted) != 0 || rep.Rebound != 2 {
				t.Fatalf("verify with the token: %+v", rep)
			}
		})
	}
}
