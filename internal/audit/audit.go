// Package audit owns signet's tamper-evident record of user actions: the
// entry every spent user-action token leaves behind (who signed what, with
// which credential, and the assertion exactly as received), the per-org hash
// chain that links the entries, the signed checkpoints of a chain's head,
// and the offline verification of an exported chain. It is pure: no
// storage, no HTTP. internal/auth decides when entries are made; the stores
// append them; cmd/signet exports and verifies them. See docs/audit.md.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// Entry is one signed action, as appended to its org's chain. Every field
// but Hash is covered by Hash; PrevHash links it to the entry before it.
// Binary fields are base64 (standard) in JSON; the assertion fields are the
// base64url strings exactly as the client sent them.
type Entry struct {
	ID    string    `json:"id"` // uj-…, the user action's id
	OrgID string    `json:"orgId"`
	Seq   int64     `json:"seq"`  // 1, 2, … within the org
	Time  time.Time `json:"time"` // when the user-action token was spent

	// The identity that signed: a user's login session, a PAT or a
	// service-account token (TokenKind is token.Kind: Token, Pat,
	// ServiceAccount).
	UserID    string `json:"userId"`
	Username  string `json:"username"`
	TokenID   string `json:"tokenId"`
	TokenKind string `json:"tokenKind"`

	// The credential that signed, as stored when it signed: PublicKey is
	// the PEM of a Key credential, or the stored passkey record (JSON with
	// the COSE key) of a Fido2 one; RPID is the passkey's relying party.
	CredentialUUID string `json:"credentialUuid"`
	CredID         string `json:"credId"`
	CredentialKind string `json:"credentialKind"`
	PublicKey      string `json:"publicKey"`
	RPID           string `json:"rpId,omitempty"`

	// What was signed: the request the token was bound to, and the
	// challenge (which clientData must carry).
	Method          string `json:"method"`
	Path            string `json:"path"`
	Query           string `json:"query,omitempty"`
	PayloadHash     []byte `json:"payloadHash"`
	ActionTokenHash []byte `json:"actionTokenHash"` // SHA-256 of the user-action token
	Challenge       string `json:"challenge"`
	// Target is the request target the token was spent on, as received
	// (escaped path, then "?" and the raw query if any), beside what was
	// signed: a query parameter the route accepts unsigned shows here only.
	// Entries appended before it existed have none (see ComputeHash).
	Target string `json:"target,omitempty"`
	// Kind is empty for a signed action. KindApproval marks an entry
	// signet made itself: the resolution of a policy approval
	// (docs/policies.md), described by Detail (JSON). It carries no
	// assertion: the chain and its signed checkpoints vouch for it.
	Kind   string `json:"kind,omitempty"`
	Detail string `json:"detail,omitempty"`

	// The assertion exactly as received (base64url strings, spec 7).
	ClientData        string `json:"clientData"`
	AuthenticatorData string `json:"authenticatorData,omitempty"` // Fido2 only
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle,omitempty"`
	Algorithm         string `json:"algorithm,omitempty"`

	PrevHash []byte `json:"prevHash"`
	Hash     []byte `json:"hash"`

	// RedactedAtExport is set by an export on an RFC 9421 entry stored
	// before signet stopped keeping bearer tokens: the export replaced the
	// authorization value of its base by its digest, so Hash (over the
	// base as stored, token included) is recomputable only by whoever
	// restores the token (docs/audit.md, "Entries stored with a token").
	// Not covered by Hash.
	RedactedAtExport bool `json:"redactedAtExport,omitempty"`
}

// Outcome is the HTTP status a signed request ended with. It is recorded
// after the handler ran, in a record of its own: it is not part of the
// chain (see docs/audit.md).
type Outcome struct {
	EntryID string    `json:"entryId"`
	Status  int       `json:"status"`
	Time    time.Time `json:"time"`
}

// Record is an entry with its outcome, if one was recorded.
type Record struct {
	Entry   *Entry
	Outcome *Outcome // nil: none recorded (the process stopped mid-request)
}

// Summary is what a listing of the log shows of an entry (spec 8's CSV).
type Summary struct {
	ID             string
	Seq            int64
	Time           time.Time
	UserID         string
	Username       string
	CredentialUUID string
	Method         string
	Path           string
	Target         string // as received; "" for entries from before targets were recorded
	Status         int    // 0: no outcome recorded
}

// Head is the latest entry of an org's chain.
type Head struct {
	OrgID string
	Seq   int64
	Hash  []byte
}

// Checkpoint is a signature by one of signet's token keys over an org's
// chain head at a time: whoever holds the key's public half can tell that
// the chain up to Seq was this one by Time.
type Checkpoint struct {
	OrgID     string    `json:"orgId"`
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	Time      time.Time `json:"time"`
	KID       string    `json:"kid"`
	Signature []byte    `json:"signature"` // Ed25519 over Payload()
}

// KindApproval is the Kind of the entry recording how a policy approval
// was resolved (Approved and what running it did, Denied, or Expired).
const KindApproval = "approval"

// Genesis is the PrevHash of an org's first entry.
var Genesis = make([]byte, sha256.Size)

// Domain-separation prefixes. Each ends in a newline, which no JWT signing
// input (base64url and dots) can contain, so a checkpoint signature can
// never pass for a token signature of the same key, nor the other way
// round.
const (
	entryDomain      = "signet-audit-entry-v1\n"
	entryDomainV2    = "signet-audit-entry-v2\n" // v1 plus Target
	entryDomainV3    = "signet-audit-entry-v3\n" // v2 plus Kind and Detail
	checkpointDomain = "signet-audit-checkpoint-v1\n"
)

// timeFormat is how times enter hashes and signatures: UTC, milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// Seal gives e its place after prev (nil: e is the org's first entry) at
// time now, and computes its hash.
func Seal(e *Entry, prev *Head, now time.Time) {
	e.Seq, e.PrevHash = 1, Genesis
	if prev != nil && prev.Seq > 0 {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Time = now.UTC().Truncate(time.Millisecond)
	e.Hash = e.ComputeHash()
}

// ComputeHash returns SHA-256 over the canonical encoding of every field of
// e but Hash: a domain prefix, then each field as a 4-byte big-endian length
// and its bytes, in the order of the struct. Lengths make the encoding
// unambiguous; no JSON canonicalisation is involved.
//
// An entry with a Target is hashed under the v2 prefix, with Target after
// Challenge; one without (appended before signet recorded targets) under
// the v1 prefix, without it, so old chains keep verifying. The prefix is
// chosen by the content, so removing or adding a Target changes the hash.
func (e *Entry) ComputeHash() []byte {
	// The encoding is built in one buffer and hashed once: converting each
	// string field to []byte for a hash.Hash cost one copy and allocation
	// per field, in the store's writer turn of every signed request. An
	// RFC 9421 request's entry is ~1.5 KB, so the buffer is on the stack.
	var stack [2048]byte
	b := stack[:0]
	domain := entryDomain
	switch {
	case e.Kind != "":
		domain = entryDomainV3
	case e.Target != "":
		domain = entryDomainV2
	}
	b = append(b, domain...)
	var num [20]byte
	var tm [len(timeFormat) + 8]byte
	for _, f := range [...]string{e.ID, e.OrgID} {
		b = appendField(b, f)
	}
	b = appendFieldBytes(b, strconv.AppendInt(num[:0], e.Seq, 10))
	b = appendFieldBytes(b, e.Time.UTC().AppendFormat(tm[:0], timeFormat))
	for _, f := range [...]string{e.UserID, e.Username, e.TokenID, e.TokenKind,
		e.CredentialUUID, e.CredID, e.CredentialKind, e.PublicKey, e.RPID, e.Method, e.Path, e.Query} {
		b = appendField(b, f)
	}
	b = appendFieldBytes(b, e.PayloadHash)
	b = appendFieldBytes(b, e.ActionTokenHash)
	b = appendField(b, e.Challenge)
	switch domain {
	case entryDomainV3:
		b = appendField(appendField(appendField(b, e.Target), e.Kind), e.Detail)
	case entryDomainV2:
		b = appendField(b, e.Target)
	}
	for _, f := range [...]string{e.ClientData, e.AuthenticatorData, e.Signature, e.UserHandle, e.Algorithm} {
		b = appendField(b, f)
	}
	b = appendFieldBytes(b, e.PrevHash)
	sum := sha256.Sum256(b)
	return sum[:]
}

// appendField appends f as a 4-byte big-endian length and its bytes.
func appendField(b []byte, f string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(f))), f...)
}

func appendFieldBytes(b, f []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(f))), f...)
}

// Payload returns the bytes a checkpoint's signature covers: a domain
// prefix, then org, seq, head hash and time, length-prefixed like entries.
func (c *Checkpoint) Payload() []byte {
	b := []byte(checkpointDomain)
	for _, f := range [][]byte{
		[]byte(c.OrgID), []byte(strconv.FormatInt(c.Seq, 10)), c.Hash, []byte(c.Time.UTC().Format(timeFormat)),
	} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// FullPath is the action's signed path with its query, if it was signed with
// one (spec 12.1).
func (e *Entry) FullPath() string {
	if e.Query == "" {
		return e.Path
	}
	return e.Path + "?" + e.Query
}
