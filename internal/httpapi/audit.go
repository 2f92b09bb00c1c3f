package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/httpsig"
)

// outcomeStatus is the status a signed request ended with: that of its
// error, as observe will write it, or the one the handler wrote.
func outcomeStatus(w http.ResponseWriter, err error) int {
	if err != nil {
		if st, ok := status[auth.ErrorCode(err)]; ok {
			return st
		}
		return http.StatusInternalServerError
	}
	if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
		return rec.status
	}
	return http.StatusOK
}

// auditTime reads an ISO-8601 time of the audit query: RFC 3339 with or
// without fractions, or a bare date (midnight UTC).
func auditTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, auth.Errorf(auth.Invalid, "%s is required", name)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, auth.Errorf(auth.Invalid, "%s must be an ISO-8601 date or time", name)
}

// listAuditLogs answers GET /auth/action/logs with a CSV document served
// as a JSON string, which is what the SDKs parse (spec 8).
func (s *Server) listAuditLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	from, err := auditTime("startTime", q.Get("startTime"))
	if err != nil {
		return err
	}
	to, err := auditTime("endTime", q.Get("endTime"))
	if err != nil {
		return err
	}
	rows, truncated, err := s.svc.AuditLogs(r.Context(), c.p, from, to, q.Get("userId"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"Date Performed", "Audit Log ID", "User ID", "Username", "Primary Credential ID", "Action Path", "Summary"})
	for _, e := range rows {
		summary := e.Method + " " + e.Path
		if e.Status != 0 {
			summary += " -> " + strconv.Itoa(e.Status)
		}
		cw.Write(neutralize(date(e.Time), e.ID, e.UserID, e.Username, e.CredentialUUID, e.Path, summary))
	}
	cw.Flush()
	if truncated {
		w.Header().Set("X-Dfns-Result-Truncated", "true")
		b.WriteString("# TRUNCATED: more than " + strconv.Itoa(auth.MaxAuditRows) + " entries matched; narrow startTime and endTime\n")
	}
	writeJSON(w, http.StatusOK, b.String())
	return nil
}

// neutralize returns the cells of one CSV row made safe to open in a
// spreadsheet (OWASP, "CSV Injection"): a cell that starts with a
// character a spreadsheet reads as the start of a formula (=, +, -, @, tab,
// carriage return, or the full-width =, +, -, @ some spreadsheets also
// honour) gets a leading single quote, so it shows as text and never runs.
// A name such as =HYPERLINK(...) then reads '=HYPERLINK(...). The JSON of
// /auth/action/logs/{id} and of signet audit export keep the values as
// recorded, since the hash chain covers them.
func neutralize(cells ...string) []string {
	for i, c := range cells {
		if c == "" {
			continue
		}
		switch r, _ := utf8.DecodeRuneInString(c); r {
		case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
			cells[i] = "'" + c
		}
	}
	return cells
}

// auditLog is the body of GET /auth/action/logs/{id} (spec 8). actionToken
// is never the user-action token itself, which signet does not keep: it is
// the unpadded base64url SHA-256 of it, so whoever holds the token can
// match it. The signet member adds what an auditor needs to re-verify the
// assertion and the entry's place in the chain.
type auditLog struct {
	ID                    string          `json:"id"`
	Action                string          `json:"action"`
	ActionToken           string          `json:"actionToken"`
	UserID                string          `json:"userId"`
	Username              string          `json:"username"`
	DatePerformed         string          `json:"datePerformed"`
	FirstFactorCredential auditCredential `json:"firstFactorCredential"`
	Signet                auditExtra      `json:"signet"`
}

type auditCredential struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	PublicKey string         `json:"publicKey"`
	Assertion auditAssertion `json:"assertion"`
}

type auditAssertion struct {
	AuthenticatorData *string `json:"authenticatorData"`
	ClientData        string  `json:"clientData"`
	Signature         string  `json:"signature"`
}

type auditExtra struct {
	Seq         int64  `json:"seq"`
	Hash        string `json:"hash"`
	PrevHash    string `json:"prevHash"`
	CredID      string `json:"credId"`
	Challenge   string `json:"challenge"`
	PayloadHash string `json:"payloadHash"`
	TokenID     string `json:"tokenId"`
	TokenKind   string `json:"tokenKind"`
	// Target is the request target as received ("" for entries appended
	// before signet recorded it); action is what was signed.
	Target string `json:"target,omitempty"`
	Status *int   `json:"status"` // null: no outcome recorded
}

func (s *Server) getAuditLog(w http.ResponseWriter, r *http.Request, c *call) error {
	rec, err := s.svc.AuditLog(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	e := rec.Entry
	b64 := base64.RawURLEncoding.EncodeToString
	out := auditLog{
		ID: e.ID, Action: e.Method + " " + e.FullPath(), ActionToken: b64(e.ActionTokenHash),
		UserID: e.UserID, Username: e.Username, DatePerformed: date(e.Time),
		FirstFactorCredential: auditCredential{
			ID: e.CredentialUUID, Kind: e.CredentialKind,
			PublicKey: auth.DisplayPublicKey(&auth.Credential{Kind: auth.CredentialKind(e.CredentialKind), PublicKey: e.PublicKey}),
			Assertion: auditAssertion{ClientData: e.ClientData, Signature: e.Signature},
		},
		Signet: auditExtra{Seq: e.Seq, Hash: b64(e.Hash), PrevHash: b64(e.PrevHash), CredID: e.CredID,
			Challenge: e.Challenge, PayloadHash: b64(e.PayloadHash), TokenID: e.TokenID, TokenKind: e.TokenKind,
			Target: e.Target},
	}
	if e.AuthenticatorData != "" {
		out.FirstFactorCredential.Assertion.AuthenticatorData = &e.AuthenticatorData
	}
	if strings.HasPrefix(e.Algorithm, audit.HTTPSigPrefix) {
		// The RFC 9421 base holds the signer's bearer token (the covered
		// authorization field): never shown, the rest of it is (a Key's
		// base is its clientData, a passkey's its challenge).
		if e.AuthenticatorData == "" {
			out.FirstFactorCredential.Assertion.ClientData = redactBase(e.ClientData)
		} else {
			out.Signet.Challenge = redactBase(e.Challenge)
		}
	}
	if rec.Outcome != nil {
		out.Signet.Status = &rec.Outcome.Status
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// redactBase redacts the authorization field of a base64url signature
// base (httpsig.RedactBase); a value that does not decode is dropped.
func redactBase(b64 string) string {
	base, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(httpsig.RedactBase(base))
}
