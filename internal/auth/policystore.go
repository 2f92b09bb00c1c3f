package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/signet-auth/signet/internal/audit"
)

// Policy is a rule over one activity kind of an org and what happens when
// it triggers (docs/policies.md; @dfns/sdk 0.8.21 generated/policies).
type Policy struct {
	ID           string
	OrgID        string
	Name         string
	ActivityKind string
	Status       string // PolicyActive or PolicyArchived
	Rule         PolicyRule
	Action       PolicyAction
	Filters      *PolicyFilters
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Policy statuses.
const (
	PolicyActive   = "Active"
	PolicyArchived = "Archived"
)

// policySpec is the stored form of a policy's rule, action and filters:
// one JSON document the stores keep opaque.
type policySpec struct {
	Rule    PolicyRule     `json:"rule"`
	Action  PolicyAction   `json:"action"`
	Filters *PolicyFilters `json:"filters,omitempty"`
}

// Spec returns the stored form of the policy's rule, action and filters.
func (p *Policy) Spec() (string, error) {
	b, err := json.Marshal(policySpec{Rule: p.Rule, Action: p.Action, Filters: p.Filters})
	return string(b), err
}

// SetSpec sets the rule, action and filters from their stored form.
func (p *Policy) SetSpec(spec string) error {
	var s policySpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("policy %s: spec: %w", p.ID, err)
	}
	p.Rule, p.Action, p.Filters = s.Rule, s.Action, s.Filters
	return nil
}

// ApprovalStatus is the state of an approval (Dfns: Pending, Approved,
// Denied, Expired). Only Pending changes, once.
type ApprovalStatus string

// Approval statuses.
const (
	ApprovalPending  ApprovalStatus = "Pending"
	ApprovalApproved ApprovalStatus = "Approved"
	ApprovalDenied   ApprovalStatus = "Denied"
	ApprovalExpired  ApprovalStatus = "Expired"
)

// Approval outcomes: what became of an approved activity when it ran.
const (
	OutcomeApplied = "Applied"
	OutcomeFailed  = "Failed"
)

// Approval is an activity a policy held until its approval groups decide.
type Approval struct {
	ID          string // ap-…
	OrgID       string
	InitiatorID string // the initiator's user id
	Status      ApprovalStatus
	// Outcome is set once an approved activity ran: OutcomeApplied or
	// OutcomeFailed ("" before; an approval resolved Approved whose
	// outcome stays "" was claimed by a replica that stopped before it
	// finished, docs/policies.md).
	Outcome string
	// Reason says why an outcome is Failed ("" otherwise).
	Reason string
	// UpstreamStatus is the status code the upstream answered a gateway
	// request forwarded on approval (0: not forwarded, or no answer).
	UpstreamStatus int
	Data           ApprovalData
	ExpiresAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ResolvedAt     *time.Time
	Decisions      []Decision // by date
}

// ApprovalData is what an approval holds beyond its state: the activity as
// Dfns shows it, the operation to run on approval, and the approval groups
// of the policies that triggered, as they were then. Stored as one JSON
// document the stores keep opaque.
type ApprovalData struct {
	ActivityKind string          `json:"activityKind"`
	Change       ChangeRequest   `json:"changeRequest"`
	Operation    PendingOp       `json:"operation"`
	Groups       []ApprovalGroup `json:"groups"`
	PolicyIDs    []string        `json:"policyIds"`
	// PolicyReasons says why each policy of PolicyIDs triggered (the same
	// order): its rule, e.g. "JsonFieldThreshold: /amount above 10000".
	// Absent in approvals stored before it existed: AlwaysTrigger then.
	PolicyReasons []string `json:"policyReasons,omitempty"`
	// InitiatorTokenID is the token the initiator signed with: its
	// authority (a PAT's restriction) is re-checked on approval.
	InitiatorTokenID string `json:"initiatorTokenId"`
}

// Encode returns the stored form of d.
func (d *ApprovalData) Encode() (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

// Decode sets d from its stored form.
func (d *ApprovalData) Decode(s string) error {
	if err := json.Unmarshal([]byte(s), d); err != nil {
		return fmt.Errorf("approval data: %w", err)
	}
	return nil
}

// ApprovalResult is what became of an approved activity.
type ApprovalResult struct {
	Outcome        string // OutcomeApplied or OutcomeFailed
	Reason         string // why it failed
	UpstreamStatus int    // the upstream's status code (gateway), 0 if none
}

// Decision values.
const (
	DecisionApproved = "Approved"
	DecisionDenied   = "Denied"
)

// Decision is one approver's answer to an approval.
type Decision struct {
	ApprovalID string
	OrgID      string
	UserID     string
	// ServiceAccount records that the decider was a service account, so
	// that each group counts it only where it allows service accounts.
	ServiceAccount bool
	Value          string // DecisionApproved or DecisionDenied
	Reason         string
	CreatedAt      time.Time
}

// PolicyQuery selects a page of an org's policies by id.
type PolicyQuery struct {
	Status string // "" = any
	After  string
	Limit  int
}

// ApprovalQuery selects a page of an org's approvals by id.
type ApprovalQuery struct {
	Status      ApprovalStatus // "" = any
	InitiatorID string         // "" = any
	After       string
	Limit       int
}

// PolicyStore persists policies, approvals and decisions (docs/policies.md).
type PolicyStore interface {
	// CreatePolicy inserts p. ErrNotFound when its org does not exist.
	CreatePolicy(ctx context.Context, p *Policy) error
	// Policy returns one policy of the org. ErrNotFound when none.
	Policy(ctx context.Context, orgID, id string) (*Policy, error)
	// ListPolicies returns a page of the org's policies by id.
	ListPolicies(ctx context.Context, orgID string, q PolicyQuery) ([]*Policy, error)
	// UpdatePolicy writes Name, ActivityKind, Rule, Action, Filters,
	// Status and UpdatedAt. ErrNotFound when p is not in p.OrgID.
	UpdatePolicy(ctx context.Context, p *Policy) error
	// ActivePolicies returns the org's active policies of one activity
	// kind.
	ActivePolicies(ctx context.Context, orgID, activityKind string) ([]*Policy, error)

	// CreateApproval inserts a (Pending, without decisions).
	CreateApproval(ctx context.Context, a *Approval) error
	// Approval returns one approval of the org with its decisions.
	// ErrNotFound when none.
	Approval(ctx context.Context, orgID, id string) (*Approval, error)
	// ListApprovals returns a page of the org's approvals by id, with
	// their decisions.
	ListApprovals(ctx context.Context, orgID string, q ApprovalQuery) ([]*Approval, error)
	// AddDecision records d, atomically only while its approval is
	// Pending. ErrDuplicate when d.UserID decided on it before; ErrUsed
	// when the approval is no longer pending; ErrNotFound when there is no
	// such approval in d.OrgID.
	AddDecision(ctx context.Context, d *Decision) error
	// ResolveApproval moves a Pending approval to status at now, as one
	// conditional write: of any number of concurrent calls (on any
	// replica) exactly one succeeds; the others get ErrUsed. ErrNotFound
	// when there is no such approval in the org.
	ResolveApproval(ctx context.Context, orgID, id string, status ApprovalStatus, now time.Time) error
	// SetApprovalOutcome records what became of an approved activity,
	// once: ErrUsed when an outcome was recorded before; ErrNotFound when
	// there is no such approval in the org.
	SetApprovalOutcome(ctx context.Context, orgID, id string, r ApprovalResult, now time.Time) error
	// UnfinishedApprovals returns at most limit approvals, of any org,
	// resolved Approved without an outcome and not updated after before:
	// the replica that resolved them stopped before it recorded one.
	UnfinishedApprovals(ctx context.Context, before time.Time, limit int) ([]*Approval, error)
	// ClaimUnfinishedApproval claims an unfinished approval (Approved, no
	// outcome, not updated after before) by setting its UpdatedAt to now,
	// as one conditional write: of concurrent callers exactly one
	// succeeds; the others get ErrUsed. The claim is a lease: a claimer
	// that stops too leaves the approval to be claimed again after it.
	ClaimUnfinishedApproval(ctx context.Context, orgID, id string, before, now time.Time) error
	// DueApprovals returns at most limit Pending approvals, of any org,
	// whose ExpiresAt is at or before now.
	DueApprovals(ctx context.Context, now time.Time, limit int) ([]*Approval, error)
	// AppendAuditEntry seals e after its org's chain head at now and
	// appends it, serialised with every other append of the org (as
	// UseAuditedAction): the entries signet makes itself (audit.Kind).
	AppendAuditEntry(ctx context.Context, e *audit.Entry, now time.Time) error
}
