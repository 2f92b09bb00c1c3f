package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/httpsig"
	"github.com/signet-auth/signet/internal/token"
)

// The audit log (issue 6, spec 8, docs/audit.md). Recording happens in two
// store calls that already exist in the life of a user action, so it adds
// no round trip of its own:
//
//   - ActionComplete writes the action together with its pending entry:
//     the identity, the credential and its public key, what was signed and
//     the assertion exactly as received, and spends the challenge, in one
//     transaction (CreateActionForChallenge);
//   - UseAction spends the token and appends the pending entry to the org's
//     hash chain in the same transaction (UseAuditedAction), so no request
//     can get past the user-action check, and no effect can happen,
//     without its entry;
//   - when the request is over, its HTTP status is stored as an outcome of
//     the entry (RecordOutcome), outside the chain.

// AuditStore persists the audit log.
type AuditStore interface {
	// UseAuditedAction is UseAction that, in the same transaction, sets the
	// action's pending entry's Target (the request target as received),
	// seals it at now after its org's chain head and appends it. Errors as
	// UseAction; ErrNotFound too when the action has no pending entry (the
	// token is then left unspent).
	UseAuditedAction(ctx context.Context, tokenHash []byte, target string, now time.Time) (*Action, *audit.Entry, error)
	// RecordOutcome stores the status of the request an entry was spent
	// on. ErrDuplicate when the entry has one; ErrNotFound when there is no
	// such entry.
	RecordOutcome(ctx context.Context, o *audit.Outcome) error
	// QueueOutcome records o like RecordOutcome, but may return before it
	// is committed: a store with group commit writes it in its next commit
	// (issue 13), so that it costs no durable write of its own. done is
	// called once with RecordOutcome's result; it must not write to the
	// store. The store's own reads of the audit log see o once QueueOutcome
	// has returned.
	QueueOutcome(ctx context.Context, o *audit.Outcome, done func(error))
	// AuditSummaries lists the org's entries, with their outcomes, in
	// chain order.
	AuditSummaries(ctx context.Context, q AuditQuery) ([]audit.Summary, error)
	// AuditRecords returns the org's entries with seq > afterSeq, in chain
	// order, at most limit of them.
	AuditRecords(ctx context.Context, orgID string, afterSeq int64, limit int) ([]audit.Record, error)
	// AuditRecord returns one entry of the org. ErrNotFound when none.
	AuditRecord(ctx context.Context, orgID, id string) (*audit.Record, error)
	// UncheckpointedHeads returns the head of every chain (orgID "" ) or
	// of one org's, whose latest checkpoint is older than its head.
	UncheckpointedHeads(ctx context.Context, orgID string) ([]audit.Head, error)
	// CreateCheckpoint stores c. ErrDuplicate when the org has one at that
	// seq already (another replica was first).
	CreateCheckpoint(ctx context.Context, c *audit.Checkpoint) error
	// Checkpoints lists the org's checkpoints by seq.
	Checkpoints(ctx context.Context, orgID string) ([]*audit.Checkpoint, error)
}

// AuditQuery selects audit entries of one org: From <= Time < To (zero
// From or To: unbounded), of one user when UserID is set, at most Limit.
type AuditQuery struct {
	OrgID    string
	From, To time.Time
	UserID   string
	Limit    int
}

// MaxAuditRows caps one audit log listing (spec 8).
const MaxAuditRows = 100000

// detachedSigner signs checkpoints with the current token key
// (token.Issuer.SignDetached).
type detachedSigner interface {
	SignDetached(payload []byte) (kid string, sig []byte, err error)
}

// createAction spends the challenge ch and stores the action of its
// verified assertion and, unless the audit log is off, its pending entry,
// in one transaction. ErrUsed when the challenge was spent before.
func (s *Service) createAction(ctx context.Context, act *Action, p *Principal, c *Credential, a *Assertion, ch *Challenge) error {
	if s.cfg.DisableAudit {
		return s.store.CreateActionForChallenge(ctx, ch.ID, ch.ExpiresAt, act, nil)
	}
	ca := a.CredentialAssertion
	e := &audit.Entry{
		ID: act.ID, OrgID: act.OrgID,
		UserID: p.UserID, Username: p.Username, TokenID: p.TokenID, TokenKind: string(p.Kind),
		CredentialUUID: c.UUID, CredID: c.CredID, CredentialKind: string(c.Kind), PublicKey: c.PublicKey, RPID: c.RPID,
		Method: act.Method, Path: act.Path, Query: act.Query, PayloadHash: act.PayloadHash,
		ActionTokenHash: actionTokenHash(act.TokenHash), Challenge: ch.Challenge,
		ClientData: ca.ClientData, AuthenticatorData: ca.AuthenticatorData, Signature: ca.Signature,
		UserHandle: ca.UserHandle, Algorithm: ca.Algorithm,
	}
	return s.store.CreateActionForChallenge(ctx, ch.ID, ch.ExpiresAt, act, e)
}

// useAction spends the token with this hash and, unless the audit log is
// off, appends its entry, recording the request target as received, in the
// same transaction.
func (s *Service) useAction(ctx context.Context, tokenHash []byte, target string) (*Action, error) {
	if s.cfg.DisableAudit {
		return s.store.UseAction(ctx, tokenHash, s.now())
	}
	a, _, err := s.store.UseAuditedAction(ctx, tokenHash, target, s.now())
	return a, err
}

// RecordOutcome stores the HTTP status the request that spent a ended
// with. It never fails the request: a failure is logged.
func (s *Service) RecordOutcome(ctx context.Context, a *Action, status int) {
	if a == nil || s.cfg.DisableAudit {
		return
	}
	o := &audit.Outcome{EntryID: a.ID, Status: status, Time: s.clock()}
	// The request is answered: the outcome goes in the store's next commit
	// (QueueOutcome) rather than one of its own. A crash before that commit
	// leaves the entry without an outcome, as a crash during the request
	// always could (audit.Record.Outcome nil).
	after, cancel := afterwards(ctx)
	defer cancel()
	log, logCtx := s.log, context.WithoutCancel(ctx)
	orgID, id := a.OrgID, a.ID
	s.store.QueueOutcome(after, o, func(err error) {
		if err != nil {
			log.ErrorContext(logCtx, "recording the outcome of an action failed", "org", orgID, "action", id, "err", err)
		}
	})
}

// AuditLogs lists the caller's org's signed actions performed in [from,
// to), of one user if userID is set, at most MaxAuditRows; truncated
// reports that more matched (spec 8).
func (s *Service) AuditLogs(ctx context.Context, p *Principal, from, to time.Time, userID string) (rows []audit.Summary, truncated bool, err error) {
	if !to.After(from) {
		return nil, false, Errorf(Invalid, "endTime must be after startTime")
	}
	rows, err = s.store.AuditSummaries(ctx, AuditQuery{OrgID: p.OrgID, From: from, To: to, UserID: userID, Limit: MaxAuditRows + 1})
	if err != nil {
		return nil, false, internalErr(err)
	}
	if len(rows) > MaxAuditRows {
		return rows[:MaxAuditRows], true, nil
	}
	return rows, false, nil
}

// AuditLog returns one entry of the caller's org.
func (s *Service) AuditLog(ctx context.Context, p *Principal, id string) (*audit.Record, error) {
	r, err := s.store.AuditRecord(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, wrap(NotFound, "audit log entry not found", err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return r, nil
}

// Checkpoint signs the head of every org's chain that moved since its last
// checkpoint (orgID "") or of one org's, with the current token key, and
// returns how many it wrote. The server's maintenance loop calls it every
// minute; an export calls it for its org.
func (s *Service) Checkpoint(ctx context.Context, orgID string) (int, error) {
	sg, ok := s.tokens.(detachedSigner)
	if !ok {
		return 0, errors.New("auth: checkpoint: the token issuer cannot sign detached payloads")
	}
	heads, err := s.store.UncheckpointedHeads(ctx, orgID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range heads {
		c := &audit.Checkpoint{OrgID: h.OrgID, Seq: h.Seq, Hash: h.Hash, Time: s.clock()}
		if c.KID, c.Signature, err = sg.SignDetached(c.Payload()); err != nil {
			return n, err
		}
		switch err := s.store.CreateCheckpoint(ctx, c); {
		case errors.Is(err, ErrDuplicate): // another replica was first
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// ExportAudit checkpoints the org's chain and returns all of it, with the
// public keys of every signing key signet has had, for offline
// verification (audit.Verify).
func (s *Service) ExportAudit(ctx context.Context, orgID string) (*audit.Export, error) {
	if _, err := s.Checkpoint(ctx, orgID); err != nil {
		return nil, err
	}
	x := &audit.Export{Format: audit.Format, OrgID: orgID, ExportedAt: s.clock(), Entries: []*audit.Entry{}, Outcomes: []*audit.Outcome{}}
	for after := int64(0); ; {
		recs, err := s.store.AuditRecords(ctx, orgID, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			redactForExport(r.Entry)
			x.Entries = append(x.Entries, r.Entry)
			if r.Outcome != nil {
				x.Outcomes = append(x.Outcomes, r.Outcome)
			}
			after = r.Entry.Seq
		}
		if len(recs) < 1000 {
			break
		}
	}
	cps, err := s.store.Checkpoints(ctx, orgID)
	if err != nil {
		return nil, err
	}
	x.Checkpoints = cps
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	x.JWKS = token.PublicJWKS(keys)
	return x, nil
}

// redactForExport replaces the bearer token of an RFC 9421 entry stored
// before signet stopped keeping tokens (its base holds the authorization
// value itself) with the digest new entries store, and marks it
// RedactedAtExport: an export never hands out a token. Its stored hash
// covers the token, so an auditor recomputes it only with the token
// (signet audit verify --token); its place in the chain is checked
// regardless. docs/audit.md, "Entries stored with a token".
func redactForExport(e *audit.Entry) {
	if e.Kind != "" || !strings.HasPrefix(e.Algorithm, audit.HTTPSigPrefix) {
		return
	}
	field := &e.ClientData
	if e.CredentialKind == string(KindFido2) {
		field = &e.Challenge
	}
	base, err := base64.RawURLEncoding.DecodeString(*field)
	if err != nil {
		return
	}
	if stored, found := httpsig.DigestAuthorization(base); found {
		*field = base64.RawURLEncoding.EncodeToString(stored)
		e.RedactedAtExport = true
	}
}
