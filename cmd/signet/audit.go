package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/config"
	"github.com/signet-auth/signet/internal/server"
)

// audit runs "signet audit export|verify".
func (m *Main) audit(ctx context.Context, args []string) error {
	sub, rest, err := m.group("audit", args)
	if err != nil {
		return err
	}
	if sub == "export" {
		return m.auditExport(ctx, rest)
	}
	return m.auditVerify(rest)
}

func (m *Main) auditExport(ctx context.Context, args []string) error {
	var orgID, out string
	cfg, err := m.flags("audit export", args, config.StoreFlags(), func(fs *flag.FlagSet) {
		fs.StringVar(&orgID, "org", "", "org whose audit log to export (required)")
		fs.StringVar(&out, "out", "", "file to write (required)")
		m.deprecate(fs, "org-id", "org")
	})
	if err != nil {
		return err
	}
	if orgID == "" || out == "" {
		return usagef("--org and --out are required (run: signet audit export -h)")
	}
	parts, err := server.Assemble(ctx, cfg, server.NewLogger(cfg, m.Stderr))
	if err != nil {
		return err
	}
	defer parts.Close()
	x, err := parts.Service.ExportAudit(ctx, orgID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "wrote %d entries and %d checkpoints of org %s to %s\n", len(x.Entries), len(x.Checkpoints), orgID, out)
	// Entries stored before signet stopped keeping bearer tokens: the
	// export redacted them, the database (and its backups) did not.
	var held []string
	seen := map[string]bool{}
	n := 0
	for _, e := range x.Entries {
		if !e.RedactedAtExport {
			continue
		}
		n++
		if !seen[e.TokenID] {
			seen[e.TokenID] = true
			held = append(held, e.TokenID+" ("+e.TokenKind+")")
		}
	}
	if n > 0 {
		fmt.Fprintf(m.Stderr, "warning: %d RFC 9421 entries were stored with the signer's bearer token, before signet stopped keeping tokens; "+
			"the export redacted them, but the database and its backups hold these tokens: revoke the ones still valid (docs/audit.md, \"Entries stored with a token\"): %s\n",
			n, strings.Join(held, ", "))
	}
	return nil
}

func (m *Main) auditVerify(args []string) error {
	fs := newFlagSet("audit verify")
	jwksFile := fs.String("jwks", "", "JWKS of the token keys to trust for checkpoints (e.g. saved from /.well-known/jwks.json), instead of the file's own")
	var tokens []string
	fs.Func("token", "a bearer token (PAT, service-account or login token) whose RFC 9421 entries to re-verify whole; repeatable. Prefer --tokens-file: a command line is visible to other users", func(v string) error {
		tokens = append(tokens, v)
		return nil
	})
	tokensFile := fs.String("tokens-file", "", "file of bearer tokens, one a line (blank lines and lines starting with # skipped), whose RFC 9421 entries to re-verify whole")
	if err := m.parseFlags(fs, "audit verify", args, "FILE"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one argument, the export FILE (run: signet audit verify -h)")
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var x audit.Export
	if err := json.Unmarshal(b, &x); err != nil {
		return fmt.Errorf("%s is not an audit export: %w", fs.Arg(0), err)
	}
	var trusted []byte
	if *jwksFile != "" {
		if trusted, err = os.ReadFile(*jwksFile); err != nil {
			return err
		}
	}
	if *tokensFile != "" {
		tb, err := os.ReadFile(*tokensFile)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(tb), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				tokens = append(tokens, l)
			}
		}
	}
	r := audit.VerifyWith(&x, audit.Options{JWKS: trusted, Tokens: tokens})
	for _, p := range r.Problems {
		fmt.Fprintln(m.Stdout, "FAIL", p)
	}
	if !r.OK() {
		return fmt.Errorf("%d problem(s) in %s", len(r.Problems), fs.Arg(0))
	}
	fmt.Fprintf(m.Stdout, "OK org %s: %d entries, %d checkpoints; entries 1 to %d covered by checkpoints signed by %v\n",
		x.OrgID, r.Entries, r.Checkpoints, r.Covered, r.KIDs)
	if trusted == nil {
		fmt.Fprintln(m.Stdout, "note: checkpoint keys were taken from the file itself; pass --jwks to check them against keys you trust")
	}
	if r.Rebound > 0 {
		fmt.Fprintf(m.Stdout, "note: %d RFC 9421 entries re-verified with the tokens given\n", r.Rebound)
	}
	for _, w := range r.Unbound {
		fmt.Fprintf(m.Stdout, "note: %s: signature bound to a token the server does not keep: verified at request time, chain intact (pass its token to re-verify it)\n", w)
	}
	for _, w := range r.Redacted {
		fmt.Fprintf(m.Stdout, "note: %s: stored with its token before signet stopped keeping tokens and redacted by the export: place in the chain checked, content hash and signature only with its token\n", w)
	}
	if r.Covered < int64(r.Entries) {
		fmt.Fprintf(m.Stdout, "note: entries %d to %d are after the last checkpoint\n", r.Covered+1, r.Entries)
	}
	return nil
}
