package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/credential"
	"github.com/signet-auth/signet/internal/httpsig"
	"github.com/signet-auth/signet/internal/token"
)

// Format names the layout of an Export.
const Format = "signet-audit-export-v1"

// Export is one org's whole chain with everything needed to check it
// offline: the entries (each with its credential's public key), the
// outcomes, the signed checkpoints and the JWKS of the keys that signed
// them.
type Export struct {
	Format      string          `json:"format"`
	OrgID       string          `json:"orgId"`
	ExportedAt  time.Time       `json:"exportedAt"`
	Entries     []*Entry        `json:"entries"`
	Outcomes    []*Outcome      `json:"outcomes"`
	Checkpoints []*Checkpoint   `json:"checkpoints"`
	JWKS        json.RawMessage `json:"jwks"`
}

// Problem is one thing wrong with an export: where, and why.
type Problem struct {
	Where string // "entry 7 (uj-…)", "checkpoint 3", "export"
	Why   string
}

func (p Problem) String() string { return p.Where + ": " + p.Why }

// Report is what Verify found.
type Report struct {
	Entries     int
	Checkpoints int
	// Covered is the highest seq a valid checkpoint vouches for: entries
	// after it are only as good as the database they came from.
	Covered int64
	KIDs    []string // the key ids whose checkpoints verified
	// Unbound are the RFC 9421 entries whose signature is bound to a
	// bearer token signet does not keep (docs/audit.md) and that no token
	// given to Verify fits: their chain place and hash are checked, and
	// what can be checked without the token (the target a base covers, a
	// passkey's assertion), but not that the signature covers this base.
	// Verified at request time, chain intact.
	Unbound []string
	// Rebound counts the RFC 9421 entries re-verified whole with a token
	// given to Verify.
	Rebound int
	// Redacted are the entries whose base signet redacted when exporting
	// them (they were stored with the token, before signet stopped keeping
	// it): their place in the chain is checked, their content hash only
	// when a given token restores them.
	Redacted []string
	Problems []Problem
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(where, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Where: where, Why: fmt.Sprintf(format, args...)})
}

// Verify checks an export without any database: that the entries form one
// unbroken chain from the org's first entry (seq 1, 2, …, each linked to
// the previous one's hash, each hash matching its content), that every
// entry's assertion verifies with the public key stored in it over the
// challenge stored in it, and that every checkpoint's signature verifies
// and names the hash the chain has at its seq.
//
// Checkpoint signatures are checked with trustedJWKS when given (keys
// obtained independently, e.g. from /.well-known/jwks.json), else with the
// export's own JWKS, which only proves consistency: whoever could rewrite
// the database could also have replaced those keys.
func Verify(x *Export, trustedJWKS []byte) *Report {
	return VerifyWith(x, Options{JWKS: trustedJWKS})
}

// Options are what an auditor brings to VerifyWith beyond the export.
type Options struct {
	// JWKS is the trusted JWKS for checkpoints (nil: the export's own).
	JWKS []byte
	// Tokens are bearer tokens the auditor holds (as sent, with or without
	// "Bearer "). An RFC 9421 entry whose stored base stands for its
	// authorization value by a digest (docs/audit.md) is re-verified whole
	// with the token whose digest it carries. Every token given must fit
	// at least one entry, else it is reported as a problem: a token that
	// fits none is the wrong token, or its entries are missing.
	Tokens []string
}

// VerifyWith is Verify with the auditor's options.
func VerifyWith(x *Export, o Options) *Report {
	trustedJWKS := o.JWKS
	r := &Report{Entries: len(x.Entries), Checkpoints: len(x.Checkpoints)}
	used := make([]bool, len(o.Tokens))
	if x.Format != Format {
		r.add("export", "format is %q, want %q", x.Format, Format)
		return r
	}
	byID := map[string]bool{}
	prev := Genesis
	for i, e := range x.Entries {
		where := fmt.Sprintf("entry %d", i+1)
		if e == nil {
			r.add(where, "missing")
			continue
		}
		where = fmt.Sprintf("entry %d (%s)", i+1, e.ID)
		if byID[e.ID] {
			r.add(where, "id appears twice")
		}
		byID[e.ID] = true
		if e.OrgID != x.OrgID {
			r.add(where, "belongs to org %s, not %s", e.OrgID, x.OrgID)
		}
		if e.Seq != int64(i+1) {
			r.add(where, "has seq %d at position %d: an entry is missing, duplicated or out of order", e.Seq, i+1)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			r.add(where, "prevHash does not match the hash of the entry before it: the chain is broken here")
		}
		// An RFC 9421 entry stands for its bearer token by a digest: with
		// a token that fits, it is checked as signed.
		whole, tok := restore(e, o.Tokens)
		if tok >= 0 {
			used[tok] = true
			r.Rebound++
		}
		// The hash covers the entry as stored: the digest for an entry
		// stored without its token, the token for one stored before
		// (which the export redacted, and a fitting token restores).
		hashed := e
		if e.RedactedAtExport {
			hashed = whole
		}
		switch {
		case e.RedactedAtExport && (e.Kind != "" || !strings.HasPrefix(e.Algorithm, HTTPSigPrefix)):
			r.add(where, "redactedAtExport on an entry that is not an RFC 9421 request")
		case e.RedactedAtExport && whole == e:
			// Redacted by the export and no token fits: the stored hash
			// covers the token, so only its place can be checked.
			r.Redacted = append(r.Redacted, where)
		case !bytes.Equal(hashed.ComputeHash(), e.Hash):
			r.add(where, "hash does not match the entry's content: a field was altered")
		}
		switch e.Kind {
		case "":
			unbound, err := verifyAssertion(whole)
			if err != nil {
				r.add(where, "assertion: %v", err)
			} else if unbound && !(e.RedactedAtExport && whole == e) {
				r.Unbound = append(r.Unbound, where)
			}
		case KindApproval: // made by signet: the chain and checkpoints vouch for it
		default:
			r.add(where, "unknown kind %q", e.Kind)
		}
		prev = e.Hash
	}

	jwks, src := []byte(x.JWKS), "the export's JWKS"
	if trustedJWKS != nil {
		jwks, src = trustedJWKS, "the trusted JWKS"
	}
	kids := map[string]bool{}
	for i, c := range x.Checkpoints {
		where := fmt.Sprintf("checkpoint %d", i+1)
		if c == nil {
			r.add(where, "missing")
			continue
		}
		where = fmt.Sprintf("checkpoint %d (seq %d)", i+1, c.Seq)
		ok := true
		if c.OrgID != x.OrgID {
			r.add(where, "belongs to org %s, not %s", c.OrgID, x.OrgID)
			ok = false
		}
		if err := token.VerifyDetached(jwks, c.KID, c.Payload(), c.Signature); err != nil {
			r.add(where, "signature by key %s does not verify with %s: %v", c.KID, src, err)
			ok = false
		}
		switch {
		case c.Seq < 1 || c.Seq > int64(len(x.Entries)):
			r.add(where, "vouches for seq %d but the export has entries 1 to %d: entries were removed from the end", c.Seq, len(x.Entries))
			ok = false
		case x.Entries[c.Seq-1] == nil || !bytes.Equal(x.Entries[c.Seq-1].Hash, c.Hash):
			r.add(where, "signed head hash differs from the hash of entry %d: the chain was rewritten", c.Seq)
			ok = false
		}
		if ok {
			kids[c.KID] = true
			r.Covered = max(r.Covered, c.Seq)
		}
	}
	for kid := range kids {
		r.KIDs = append(r.KIDs, kid)
	}
	for i, u := range used {
		if !u {
			r.add(fmt.Sprintf("token %d", i+1), "fits no entry's signature base: it is not the token of any RFC 9421 entry of this export")
		}
	}
	for _, o := range x.Outcomes {
		if o == nil || !byID[o.EntryID] {
			r.add("outcomes", "an outcome names no entry of the export")
			break
		}
	}
	return r
}

// VerifyAssertion checks the signature an entry stores, with the public key
// it stores, over the challenge it stores: a Key credential's signature over
// clientData (spec 3.3), a passkey's over authenticatorData ||
// SHA-256(clientData) (WebAuthn §7.2), clientData carrying the challenge in
// either form (spec 3.6) and the right type. Origin allow-lists and sign
// counters are server policy at the time and are not re-checked; the origin
// is covered by the signature all the same.
//
// An RFC 9421 entry whose base stands for its authorization value by a
// digest (docs/audit.md) cannot be checked whole: a Key's signature is
// then not checked, a passkey's assertion is checked against the
// challenge its clientData carries (not against the base), and the base's
// method and target are checked; VerifyAssertion reports such an entry as
// an error, VerifyWith as unbound. Restore the base first (a token given
// to VerifyWith) to check it whole.
func VerifyAssertion(e *Entry) error {
	unbound, err := verifyAssertion(e)
	if err == nil && unbound {
		return errors.New("the signature base stands for its authorization value by a digest: the signature is bound to a token the server does not keep")
	}
	return err
}

// verifyAssertion is VerifyAssertion; unbound reports an RFC 9421 entry
// whose base holds a digest in place of the authorization value, checked
// as far as that allows.
func verifyAssertion(e *Entry) (unbound bool, err error) {
	if strings.HasPrefix(e.Algorithm, HTTPSigPrefix) {
		b := e.ClientData
		if e.CredentialKind == "Fido2" {
			b = e.Challenge
		}
		if base, err := credential.DecodeBase64URL(b); err == nil && len(httpsig.DigestedAuthorization(base)) > 0 {
			unbound = true
		}
	}
	return unbound, verifyAssertionAs(e, unbound)
}

func verifyAssertionAs(e *Entry, unbound bool) error {
	cd, err := credential.DecodeBase64URL(e.ClientData)
	if err != nil {
		return fmt.Errorf("clientData is not base64url: %w", err)
	}
	sig, err := credential.DecodeBase64URL(e.Signature)
	if err != nil {
		return fmt.Errorf("signature is not base64url: %w", err)
	}
	switch e.CredentialKind {
	case "Key":
		pub, err := credential.ParsePublicKeyPEM(e.PublicKey)
		if err == nil && strings.HasPrefix(e.Algorithm, HTTPSigPrefix) {
			if unbound {
				return coversTarget(e, cd)
			}
			return verifyHTTPSig(e, pub, cd, sig)
		}
		if err != nil {
			return fmt.Errorf("public key: %w", err)
		}
		return credential.VerifyKeyAssertion(pub, cd, sig, e.Challenge)
	case "Fido2":
		stored, err := credential.UnmarshalFido2(e.PublicKey)
		if err != nil {
			return fmt.Errorf("public key: %w", err)
		}
		ad, err := credential.DecodeBase64URL(e.AuthenticatorData)
		if err != nil {
			return fmt.Errorf("authenticatorData is not base64url: %w", err)
		}
		uh, err := credential.DecodeBase64URL(e.UserHandle)
		if err != nil {
			return fmt.Errorf("userHandle is not base64url: %w", err)
		}
		var o struct {
			Origin string `json:"origin"`
		}
		_ = json.Unmarshal(cd, &o) // a bad clientData fails below
		p := credential.Fido2Policy{RPID: e.RPID, Origins: []string{o.Origin}}
		cred := *stored
		cred.SignCount = 0 // counters are checked online only
		challenge := e.Challenge
		var base []byte
		if strings.HasPrefix(e.Algorithm, HTTPSigPrefix) {
			// A passkey's RFC 9421 signature: the challenge recorded is
			// the signature base, the assertion answers its SHA-256.
			if base, err = credential.DecodeBase64URL(e.Challenge); err != nil {
				return fmt.Errorf("signature base is not base64url: %w", err)
			}
			h := sha256.Sum256(base)
			challenge = credential.EncodeBase64URL(h[:])
			if unbound {
				// The assertion answers the SHA-256 of the base as
				// signed, token included: only the challenge clientData
				// carries can be checked against the signature.
				var c struct {
					Challenge string `json:"challenge"`
				}
				_ = json.Unmarshal(cd, &c)
				challenge = c.Challenge
			}
		}
		if _, _, err = credential.VerifyFido2Assertion(p, &cred, cd, ad, sig, uh, e.UserID, challenge, false); err != nil {
			return err
		}
		if base != nil {
			return coversTarget(e, base)
		}
		return nil
	}
	return errors.New("credential kind " + e.CredentialKind + " cannot sign actions")
}

// HTTPSigPrefix starts the Algorithm of an entry recorded for an RFC 9421
// signed request (docs/httpsig.md): ClientData is then the signature base,
// Signature the signature, and Algorithm the prefix and the RFC 9421
// algorithm.
const HTTPSigPrefix = "rfc9421:"

// verifyHTTPSig checks an RFC 9421 entry: the signature over the base it
// stores, and that the base's @method and @target-uri are the entry's
// method and target.
func verifyHTTPSig(e *Entry, pub *credential.PublicKey, base, sig []byte) error {
	if err := httpsig.Verify(strings.TrimPrefix(e.Algorithm, HTTPSigPrefix), pub.Key, base, sig); err != nil {
		return err
	}
	return coversTarget(e, base)
}

// coversTarget checks that a signature base's @method and @target-uri are
// the entry's method and target.
func coversTarget(e *Entry, base []byte) error {
	lines := strings.Split(string(base), "\n")
	if !slices.Contains(lines, `"@method": `+e.Method) {
		return errors.New("the signature base does not cover the entry's method")
	}
	target := e.Path
	if e.Query != "" {
		target += "?" + e.Query
	}
	for _, l := range lines {
		if u, ok := strings.CutPrefix(l, `"@target-uri": `); ok {
			if i := strings.Index(u, "://"); i >= 0 {
				if j := strings.IndexByte(u[i+3:], '/'); j >= 0 && u[i+3+j:] == target {
					return nil
				}
			}
		}
	}
	return errors.New("the signature base does not cover the entry's target")
}

// restore returns e with its signature base whole again when one of tokens
// fits the digest the base holds in place of its authorization value, and
// that token's index; else e itself and -1.
func restore(e *Entry, tokens []string) (*Entry, int) {
	if e.Kind != "" || !strings.HasPrefix(e.Algorithm, HTTPSigPrefix) || len(tokens) == 0 {
		return e, -1
	}
	field := &e.ClientData
	if e.CredentialKind == "Fido2" {
		field = &e.Challenge
	}
	base, err := credential.DecodeBase64URL(*field)
	if err != nil || len(httpsig.DigestedAuthorization(base)) == 0 {
		return e, -1
	}
	for i, t := range tokens {
		whole, ok := httpsig.RestoreAuthorization(base, httpsig.AuthorizationValues(t))
		if !ok {
			continue
		}
		c := *e
		if e.CredentialKind == "Fido2" {
			c.Challenge = credential.EncodeBase64URL(whole)
		} else {
			c.ClientData = credential.EncodeBase64URL(whole)
		}
		c.RedactedAtExport = false
		return &c, i
	}
	return e, -1
}
