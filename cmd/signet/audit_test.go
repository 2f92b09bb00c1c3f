package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-auth/signet/client"
)

// TestAuditExportVerify records signed calls on a real server, exports the
// org's audit log with `signet audit export`, verifies it with `signet audit
// verify`, then edits the file and expects verify to name the entry.
func TestAuditExportVerify(t *testing.T) {
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	run := func(args ...string) (int, string, string) { return runMain(t, args...) }
	b := bootstrap(t, run, db, key)
	url := serveInProcess(t, "--database", db, "--key-file", key)
	c, _ := registerAndLogin(t, url, b)
	for _, name := range []string{"readers", "writers"} {
		if _, err := c.CreatePermission(context.Background(), client.CreatePermissionRequest{Name: name, Operations: []string{"Auth:Users:Read"}}); err != nil {
			t.Fatalf("signed call: %v", err)
		}
	}

	file := filepath.Join(dir, "audit.json")
	if code, _, errs := run("audit", "export", "--database", db, "--key-file", key, "--org", b.OrgID, "--out", file); code != 0 {
		t.Fatalf("audit export: %d %s", code, errs)
	}
	code, out, errs := run("audit", "verify", file)
	if code != 0 || !strings.HasPrefix(out, "OK org "+b.OrgID+": 2 entries, 1 checkpoints") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}

	raw, _ := os.ReadFile(file)
	var x map[string]any
	json.Unmarshal(raw, &x)
	e := x["entries"].([]any)[1].(map[string]any)
	e["path"] = "/auth/users"
	raw, _ = json.Marshal(x)
	os.WriteFile(file, raw, 0o600)
	code, out, _ = run("audit", "verify", file)
	if code == 0 || !strings.Contains(out, "FAIL entry 2 ("+e["id"].(string)+"): hash does not match") {
		t.Fatalf("verify of an edited export: %d %s", code, out)
	}
}

// TestAuditVerifyTokens makes RFC 9421 signed calls, exports the log (which
// holds no token), and verifies it: without the token the signatures are
// reported as bound to a token the server does not keep; with the token
// (--tokens-file) they are re-verified; a wrong one (--token) fails.
func TestAuditVerifyTokens(t *testing.T) {
	dir := t.TempDir()
	db, key := "sqlite:"+filepath.Join(dir, "signet.db"), filepath.Join(dir, "signet.key")
	run := func(args ...string) (int, string, string) { return runMain(t, args...) }
	b := bootstrap(t, run, db, key)
	url := serveInProcess(t, "--database", db, "--key-file", key)
	_, signer := registerAndLogin(t, url, b)
	anon, _ := client.New(url, client.AllowInsecureHTTP())
	res, err := anon.Login(context.Background(), client.LoginInitRequest{OrgID: b.OrgID, Username: b.Username}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url, client.AllowInsecureHTTP(), client.WithToken(res.Token), client.WithSigner(signer), client.WithHTTPSignatures(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePermission(context.Background(), client.CreatePermissionRequest{Name: "readers", Operations: []string{"Auth:Users:Read"}}); err != nil {
		t.Fatalf("signed call: %v", err)
	}

	file := filepath.Join(dir, "audit.json")
	if code, _, errs := run("audit", "export", "--database", db, "--key-file", key, "--org", b.OrgID, "--out", file); code != 0 {
		t.Fatalf("audit export: %d %s", code, errs)
	}
	if raw, _ := os.ReadFile(file); !strings.Contains(string(raw), "rfc9421:") || strings.Contains(string(raw), res.Token) {
		t.Fatalf("the export has no RFC 9421 entry, or holds the token")
	}
	code, out, errs := run("audit", "verify", file)
	if code != 0 || !strings.Contains(out, "entry 1 (uj-") || !strings.Contains(out, "signature bound to a token the server does not keep: verified at request time, chain intact") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
	tokens := filepath.Join(dir, "tokens.txt")
	os.WriteFile(tokens, []byte("# the login token\n"+res.Token+"\n"), 0o600)
	code, out, errs = run("audit", "verify", "--tokens-file", tokens, file)
	if code != 0 || !strings.Contains(out, "1 RFC 9421 entries re-verified") || strings.Contains(out, "does not keep") {
		t.Fatalf("audit verify --tokens-file: %d %s %s", code, out, errs)
	}
	code, out, _ = run("audit", "verify", "--token", res.Token+"x", file)
	if code == 0 || !strings.Contains(out, "FAIL token 1: fits no entry") {
		t.Fatalf("audit verify with a wrong token: %d %s", code, out)
	}
}
