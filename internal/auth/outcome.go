package auth

import (
	"context"
	"errors"
	"strings"
	"time"
)

// The states of a user action as its caller can read them (ActionOutcome).
const (
	// ActionStateUnused: not spent yet, and not expired: the request it was
	// made for has not reached signet's check (or was refused before it).
	// It may be sent again with the same token until ExpiresAt.
	ActionStateUnused = "unused"
	// ActionStateExpired: expired unspent: nothing was done with it.
	ActionStateExpired = "expired"
	// ActionStateUsed: spent by a request; Status says how that request ended,
	// once it has.
	ActionStateUsed = "used"
)

// ActionOutcome is what a caller may learn of its own user action, so that
// a client that lost an answer (a network cut, a timeout) learns whether
// its request took effect before retrying it (docs/faults.md, issue 12).
type ActionOutcome struct {
	ID        string
	Method    string
	Path      string
	Query     string
	State     string // ActionStateUnused, ActionStateExpired or ActionStateUsed
	CreatedAt time.Time
	// ExpiresAt is zero once the action is only in the audit log: after
	// the sweep, and always for an RFC 9421 request (spent at creation).
	ExpiresAt time.Time
	UsedAt    *time.Time
	// Status is the HTTP status the spending request ended with; 0 while
	// none is recorded (the request is still running, or its process
	// stopped before it could record one).
	Status      int
	CompletedAt *time.Time
}

// ActionOutcome returns the state of the user action id, if p may read
// it: it must be of p's org and user, and, when p is a PAT or a service
// account, of p's own token (a user's login session reads every action of
// its user, whichever session or PAT signed it). Any other action, and an
// unknown one, is "not found" alike. A spent action is read from the audit
// log, which keeps it after the action itself is swept.
func (s *Service) ActionOutcome(ctx context.Context, p *Principal, id string) (*ActionOutcome, error) {
	notFound := func(cause error) error { return wrap(NotFound, "user action not found", cause) }
	if !strings.HasPrefix(id, "uj-") || len(id) > 64 {
		return nil, notFound(errors.New("not an action id"))
	}
	mine := func(userID, tokenID string) bool {
		return userID == p.UserID && (p.IsUserSession() || tokenID == p.TokenID)
	}
	rec, err := s.store.AuditRecord(ctx, p.OrgID, id)
	switch {
	case err == nil:
		e := rec.Entry
		if !mine(e.UserID, e.TokenID) {
			return nil, notFound(errors.New("action of another identity"))
		}
		used := e.Time
		o := &ActionOutcome{ID: e.ID, Method: e.Method, Path: e.Path, Query: e.Query, State: ActionStateUsed, UsedAt: &used}
		if strings.HasPrefix(e.Algorithm, AuditAlgPrefix) {
			// An RFC 9421 request: its action was created spent, in the
			// commit that appended this entry, and has no row
			// (SpendActionForChallenge): it was created when it was used,
			// and never had a token that could expire.
			o.CreatedAt = used
		} else if a, err := s.store.Action(ctx, p.OrgID, id); err == nil { // until swept
			o.CreatedAt, o.ExpiresAt = a.CreatedAt, a.ExpiresAt
		} else if !errors.Is(err, ErrNotFound) {
			return nil, internalErr(err)
		}
		if rec.Outcome != nil {
			done := rec.Outcome.Time
			o.Status, o.CompletedAt = rec.Outcome.Status, &done
		}
		return o, nil
	case !errors.Is(err, ErrNotFound):
		return nil, internalErr(err)
	}
	a, err := s.store.Action(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(err)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	if !mine(a.UserID, a.TokenID) {
		return nil, notFound(errors.New("action of another identity"))
	}
	o := &ActionOutcome{ID: a.ID, Method: a.Method, Path: a.Path, Query: a.Query, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, UsedAt: a.UsedAt}
	switch {
	case a.UsedAt != nil: // spent with the audit log off: no outcome is kept
		o.State = ActionStateUsed
	case !s.clock().Before(a.ExpiresAt):
		o.State = ActionStateExpired
	default:
		o.State = ActionStateUnused
	}
	return o, nil
}
