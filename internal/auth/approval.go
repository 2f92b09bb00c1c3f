package auth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/token"
)

// Approvals (docs/policies.md). A request whose activity a RequestApproval
// policy triggers is not executed: gate stores it as an approval, with the
// operation it asked for, and the caller gets PendingError (HTTP 202 with
// the change request). Approvers decide through Decide; the decision that
// completes every group's quorum resolves the approval Approved with one
// conditional write (PolicyStore.ResolveApproval), so of any number of
// concurrent deciders, on any replica, exactly one runs the operation, as
// the initiator, with the initiator's authority checked again then. Any
// eligible approver's denial, or autoRejectTimeout passing
// (ExpireApprovals, from the server's maintenance loop), resolves it
// Denied or Expired and the operation never runs.

// Pending operations: what an approved activity runs.
const (
	opAssign            = "assign"
	opRevoke            = "revoke"
	opUpdatePermission  = "updatePermission"
	opArchivePermission = "archivePermission"
	opUpdatePolicy      = "updatePolicy"
	opArchivePolicy     = "archivePolicy"
)

// opOperation is the operation the route of each pending operation needs:
// the initiator must still hold it when the approval completes.
var opOperation = map[string]string{
	opAssign:            "Permissions:Assign",
	opRevoke:            "Permissions:Revoke",
	opUpdatePermission:  "Permissions:Update",
	opArchivePermission: "Permissions:Archive",
	opUpdatePolicy:      "Policies:Update",
	opArchivePolicy:     "Policies:Archive",
}

// PendingOp is the operation an approval runs once approved: the
// initiator's request, as decoded when it was signed.
type PendingOp struct {
	Op           string             `json:"op"`
	PermissionID string             `json:"permissionId,omitempty"`
	IdentityID   string             `json:"identityId,omitempty"`
	AssignmentID string             `json:"assignmentId,omitempty"`
	PolicyID     string             `json:"policyId,omitempty"`
	Permission   *PermissionRequest `json:"permission,omitempty"`
	Policy       *PolicyRequest     `json:"policy,omitempty"`
	Archived     bool               `json:"archived,omitempty"`
	// Operation and Request are those of a held gateway request (opForward).
	Operation string       `json:"operation,omitempty"`
	Request   *HeldRequest `json:"request,omitempty"`
}

// ChangeRequest is the activity of an approval as Dfns shows it (spec 6):
// what the initiator asked to change. Its status and dates come from the
// approval (ChangeStatus).
type ChangeRequest struct {
	ID            string          `json:"id"`
	Requester     Requester       `json:"requester"`
	EntityID      string          `json:"entityId"`
	Kind          string          `json:"kind"` // Assignment, Permission or Policy
	OperationKind string          `json:"operationKind"`
	Body          json.RawMessage `json:"body"`
}

// Requester is who asked for a change.
type Requester struct {
	UserID  string `json:"userId"`
	TokenID string `json:"tokenId,omitempty"`
}

// ChangeStatus is the status of an approval's change request: Pending
// until it is resolved and, if approved, run; then Applied or Failed;
// Rejected when denied or expired.
func ChangeStatus(a *Approval) string {
	switch a.Status {
	case ApprovalDenied, ApprovalExpired:
		return "Rejected"
	case ApprovalApproved:
		if a.Outcome != "" {
			return a.Outcome
		}
	}
	return "Pending"
}

// PendingError is returned, in place of the result, by a request a policy
// holds for approval. It is not a failure: the handler adapter answers 202
// with the approval's change request.
type PendingError struct {
	Approval *Approval
}

func (e *PendingError) Error() string { return "pending approval " + e.Approval.ID }

// pendingActivity is a request that policies of its activity kind may gate.
type pendingActivity struct {
	kind     string
	filterID string // the permission or policy the activity is about
	change   ChangeRequest
	op       PendingOp
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("auth: marshal of a plain struct: " + err.Error())
	}
	return b
}

func pendingAssignment(a *Assignment, operationKind string, op *PendingOp) *pendingActivity {
	body := map[string]any{"id": a.ID, "permissionId": a.PermissionID, "identityId": a.IdentityID, "isImmutable": a.IsImmutable}
	return &pendingActivity{kind: ActivityPermissionsAssign, filterID: a.PermissionID, op: *op,
		change: ChangeRequest{EntityID: a.ID, Kind: "Assignment", OperationKind: operationKind, Body: mustJSON(body)}}
}

func pendingPermission(pm *Permission, op *PendingOp) *pendingActivity {
	body := map[string]any{"id": pm.ID, "name": pm.Name, "status": "Active", "operations": pm.Operations,
		"isImmutable": pm.IsImmutable, "isArchived": pm.IsArchived}
	return &pendingActivity{kind: ActivityPermissionsModify, filterID: pm.ID, op: *op,
		change: ChangeRequest{EntityID: pm.ID, Kind: "Permission", OperationKind: "Update", Body: mustJSON(body)}}
}

func pendingPolicy(pol *Policy, op *PendingOp) *pendingActivity {
	body := map[string]any{"id": pol.ID, "name": pol.Name, "status": pol.Status, "activityKind": pol.ActivityKind,
		"rule": pol.Rule, "action": pol.Action}
	if pol.Filters != nil {
		body["filters"] = pol.Filters
	}
	return &pendingActivity{kind: ActivityPoliciesModify, filterID: pol.ID, op: *op,
		change: ChangeRequest{EntityID: pol.ID, Kind: "Policy", OperationKind: "Update", Body: mustJSON(body)}}
}

// matches reports whether a policy's filters select the activity.
func (pol *Policy) matches(filterID string) bool {
	if pol.Filters == nil {
		return true
	}
	f := pol.Filters.PermissionID
	if pol.ActivityKind == ActivityPoliciesModify {
		f = pol.Filters.PolicyID
	}
	return f == nil || slices.Contains(f.In, filterID)
}

// refuseGoverned refuses an activity of kind on filterID that an active
// Block or RequestApproval policy applies to, for writes that cannot be
// held as an approval; the message says how to go through the gate.
func (s *Service) refuseGoverned(ctx context.Context, p *Principal, kind, filterID string) error {
	if p.approval != "" {
		return nil
	}
	pols, err := s.store.ActivePolicies(ctx, p.OrgID, kind)
	if err != nil {
		return internalErr(err)
	}
	for _, pol := range pols {
		if pol.matches(filterID) && pol.Action.Kind != ActionNoAction {
			s.log.InfoContext(ctx, "activity refused: a policy governs it", "org", p.OrgID, "policy", pol.ID, "activity", kind, "by", p.UserID)
			return Errorf(Forbidden, "policy %s governs %s of this permission: create the service account without permissionId, then assign the permission (POST /permissions/{permissionId}/assignments)", pol.ID, kind)
		}
	}
	return nil
}

// gate applies the org's active policies of the activity's kind to a
// request that is otherwise allowed, just before it would write: nil lets
// it run; a Block policy refuses it (403); RequestApproval policies hold
// it as an approval (PendingError). A principal running an approved
// activity (Principal.approval) passes: its approval was the gate.
func (s *Service) gate(ctx context.Context, p *Principal, act *pendingActivity) error {
	if p.approval != "" {
		return nil
	}
	pols, err := s.store.ActivePolicies(ctx, p.OrgID, act.kind)
	if err != nil {
		return internalErr(err)
	}
	var h holding
	for _, pol := range pols {
		if !pol.matches(act.filterID) {
			continue
		}
		switch pol.Action.Kind {
		case ActionBlock:
			s.log.InfoContext(ctx, "activity blocked by policy", "org", p.OrgID, "policy", pol.ID, "activity", act.kind, "by", p.UserID)
			return Errorf(Forbidden, "%s is blocked by policy %s", act.kind, pol.ID)
		case ActionRequestApproval:
			h.add(pol)
		}
	}
	if len(h.groups) == 0 {
		return nil
	}
	return s.hold(ctx, p, act, &h)
}

// holding gathers the RequestApproval policies that triggered on an
// activity: their groups, their ids and the shortest timeout.
type holding struct {
	groups  []ApprovalGroup
	ids     []string
	reasons []string
	timeout *int
}

func (h *holding) add(pol *Policy) {
	h.groups = append(h.groups, pol.Action.ApprovalGroups...)
	h.ids = append(h.ids, pol.ID)
	h.reasons = append(h.reasons, pol.Rule.triggerReason())
	if t := pol.Action.AutoRejectTimeout; t != nil && (h.timeout == nil || *t < *h.timeout) {
		h.timeout = t
	}
}

// hold stores an activity as a pending approval and returns the
// PendingError that answers its request.
func (s *Service) hold(ctx context.Context, p *Principal, act *pendingActivity, h *holding) error {
	now := s.clock()
	ap := &Approval{ID: newID("ap"), OrgID: p.OrgID, InitiatorID: p.UserID, Status: ApprovalPending,
		CreatedAt: now, UpdatedAt: now}
	if h.timeout != nil {
		exp := now.Add(time.Duration(*h.timeout) * time.Minute)
		ap.ExpiresAt = &exp
	}
	act.change.ID = newID("cr")
	act.change.Requester = Requester{UserID: p.UserID}
	if p.Kind != token.KindLogin {
		act.change.Requester.TokenID = p.TokenID
	}
	ap.Data = ApprovalData{ActivityKind: act.kind, Change: act.change, Operation: act.op, Groups: h.groups,
		PolicyIDs: h.ids, PolicyReasons: h.reasons, InitiatorTokenID: p.TokenID}
	if err := s.store.CreateApproval(ctx, ap); err != nil {
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "activity held for approval", "org", p.OrgID, "approval", ap.ID, "activity", act.kind, "by", p.UserID)
	return &PendingError{Approval: ap}
}

// eligible reports whether a user (a service account if sa) may decide
// for group g of an approval initiated by initiator.
func eligible(g *ApprovalGroup, initiator, user string, sa bool) bool {
	if user == initiator && !g.InitiatorCanApprove {
		return false
	}
	if sa && !g.ServiceAccountsCanApprove {
		return false
	}
	return g.Approvers.UserID == nil || slices.Contains(g.Approvers.UserID.In, user)
}

// quorumReached reports whether every group has its quorum of approvals
// by users it counts.
func quorumReached(a *Approval) bool {
	for i := range a.Data.Groups {
		g := &a.Data.Groups[i]
		n := 0
		for _, d := range a.Decisions {
			if d.Value == DecisionApproved && eligible(g, a.InitiatorID, d.UserID, d.ServiceAccount) {
				n++
			}
		}
		if n < g.Quorum {
			return false
		}
	}
	return true
}

// approval loads an approval of the caller's org.
func (s *Service) approval(ctx context.Context, p *Principal, id string) (*Approval, error) {
	if err := validID("approvalId", id); err != nil {
		return nil, err
	}
	a, err := s.store.Approval(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "approval not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return a, nil
}

// Approval returns one approval of the caller's org.
func (s *Service) Approval(ctx context.Context, p *Principal, id string) (*Approval, error) {
	return s.approval(ctx, p, id)
}

// ListApprovals lists a page of the org's approvals, of one status and
// one initiator if set.
func (s *Service) ListApprovals(ctx context.Context, p *Principal, status ApprovalStatus, initiatorID string, pg Page) ([]*Approval, string, error) {
	switch status {
	case "", ApprovalPending, ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return nil, "", Errorf(Invalid, "status must be Pending, Approved, Denied or Expired")
	}
	if initiatorID != "" {
		if err := validID("initiatorId", initiatorID); err != nil {
			return nil, "", err
		}
	}
	q, limit, err := pageQuery(pg)
	if err != nil {
		return nil, "", err
	}
	as, err := s.store.ListApprovals(ctx, p.OrgID, ApprovalQuery{Status: status, InitiatorID: initiatorID, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, "", internalErr(err)
	}
	as, next := nextToken(as, limit, func(a *Approval) string { return a.ID })
	return as, next, nil
}

// DecisionRequest is the body of POST /v2/policy-approvals/{id}/decisions.
type DecisionRequest struct {
	Value  string `json:"value"`
	Reason string `json:"reason,omitempty"`
}

// Decide records the caller's decision on an approval of its org. Only a
// user some group of the approval counts may decide (the initiator and
// service accounts only where the group allows), once. A denial resolves
// the approval Denied; the approval that completes every quorum resolves
// it Approved and runs the held operation.
func (s *Service) Decide(ctx context.Context, p *Principal, id string, req *DecisionRequest) (*Approval, error) {
	if req.Value != DecisionApproved && req.Value != DecisionDenied {
		return nil, Errorf(Invalid, "value must be Approved or Denied")
	}
	if len(req.Reason) > 1000 {
		return nil, Errorf(Invalid, "reason must be at most 1000 characters")
	}
	a, err := s.approval(ctx, p, id)
	if err != nil {
		return nil, err
	}
	sa := p.Kind == token.KindServiceAccount
	ok := false
	for i := range a.Data.Groups {
		ok = ok || eligible(&a.Data.Groups[i], a.InitiatorID, p.UserID, sa)
	}
	if !ok {
		s.log.WarnContext(ctx, "approval decision refused", "org", p.OrgID, "approval", a.ID, "by", p.UserID, "reason", "not an approver")
		return nil, Errorf(Forbidden, "the caller is not an approver of this approval")
	}
	now := s.clock()
	if a.Status != ApprovalPending {
		return nil, Errorf(Conflict, "approval is %s", a.Status)
	}
	if a.ExpiresAt != nil && !now.Before(*a.ExpiresAt) {
		s.expire(ctx, a)
		return nil, Errorf(Conflict, "approval is %s", ApprovalExpired)
	}
	d := &Decision{ApprovalID: a.ID, OrgID: a.OrgID, UserID: p.UserID, ServiceAccount: sa, Value: req.Value,
		Reason: req.Reason, CreatedAt: now}
	switch err := s.store.AddDecision(ctx, d); {
	case errors.Is(err, ErrDuplicate):
		return nil, Errorf(Conflict, "the caller has decided on this approval already")
	case errors.Is(err, ErrUsed):
		return nil, Errorf(Conflict, "approval is no longer pending")
	case errors.Is(err, ErrNotFound):
		return nil, Errorf(NotFound, "approval not found")
	case err != nil:
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "approval decision", "org", p.OrgID, "approval", a.ID, "by", p.UserID, "value", req.Value)
	if err := s.settle(ctx, a.OrgID, a.ID); err != nil {
		return nil, err
	}
	return s.approval(ctx, p, id)
}

// settle resolves a pending approval whose decisions decide it. Each
// decider calls it after its own decision committed, so the last of any
// concurrent deciders sees every decision; ResolveApproval lets exactly
// one of them resolve it.
func (s *Service) settle(ctx context.Context, orgID, id string) error {
	a, err := s.store.Approval(ctx, orgID, id)
	if err != nil {
		return internalErr(err)
	}
	if a.Status != ApprovalPending {
		return nil
	}
	denied := slices.ContainsFunc(a.Decisions, func(d Decision) bool { return d.Value == DecisionDenied })
	if !denied && !quorumReached(a) {
		return nil
	}
	status := ApprovalApproved
	if denied {
		status = ApprovalDenied
	}
	switch err := s.store.ResolveApproval(ctx, orgID, id, status, s.clock()); {
	case errors.Is(err, ErrUsed): // another decider resolved it
		return nil
	case err != nil:
		return internalErr(err)
	}
	s.log.InfoContext(ctx, "approval resolved", "org", orgID, "approval", id, "status", status)
	if status == ApprovalApproved {
		s.run(ctx, a, false)
		return nil
	}
	s.auditResolution(ctx, a, ApprovalDenied, ApprovalResult{})
	return nil
}

// run executes an approved activity, which this Service alone claimed, and
// records its outcome. rerun says FinishInterrupted claimed a run that was
// interrupted, whose write may already be done.
func (s *Service) run(ctx context.Context, a *Approval, rerun bool) {
	r, err := s.execute(ctx, a, rerun)
	if err != nil {
		r = ApprovalResult{Outcome: OutcomeFailed, Reason: failReason(err)}
		s.log.WarnContext(ctx, "approved activity failed", "org", a.OrgID, "approval", a.ID, "err", err)
	}
	s.record(ctx, a, r)
}

// failReason is the reason an approval shows for a failed run: the
// message of a domain error; never the text of an internal one.
func failReason(err error) string {
	if ErrorCode(err) == Internal {
		return "internal error"
	}
	return ErrorMessage(err)
}

// record stores the result of an approved activity and audits it.
func (s *Service) record(ctx context.Context, a *Approval, r ApprovalResult) {
	after, cancel := afterwards(ctx)
	defer cancel()
	switch err := s.store.SetApprovalOutcome(after, a.OrgID, a.ID, r, s.clock()); {
	case errors.Is(err, ErrUsed):
		// FinishInterrupted recorded it first (this run outlived its
		// lease): the first record stands, and was audited.
		s.log.WarnContext(ctx, "an approval's outcome was recorded already", "org", a.OrgID, "approval", a.ID, "outcome", r.Outcome)
		return
	case err != nil:
		s.log.ErrorContext(ctx, "recording an approval's outcome failed", "org", a.OrgID, "approval", a.ID, "err", err)
	}
	s.auditResolution(after, a, ApprovalApproved, r)
}

// auditResolution appends how an approval was resolved to its org's audit
// chain (audit.KindApproval): the initiator's request and every decision
// are there already as signed actions; this entry is the result (with,
// for a gateway request, the upstream's status). Only the replica that
// resolved the approval writes it. A failure is logged: the resolution
// has happened.
func (s *Service) auditResolution(ctx context.Context, a *Approval, status ApprovalStatus, r ApprovalResult) {
	if s.cfg.DisableAudit {
		return
	}
	type decision struct {
		UserID string `json:"userId"`
		Value  string `json:"value"`
	}
	detail := struct {
		ApprovalID      string     `json:"approvalId"`
		ActivityKind    string     `json:"activityKind"`
		ChangeRequestID string     `json:"changeRequestId"`
		EntityID        string     `json:"entityId"`
		Status          string     `json:"status"`
		Outcome         string     `json:"outcome,omitempty"`
		Reason          string     `json:"reason,omitempty"`
		UpstreamStatus  int        `json:"upstreamStatus,omitempty"`
		Decisions       []decision `json:"decisions"`
	}{a.ID, a.Data.ActivityKind, a.Data.Change.ID, a.Data.Change.EntityID, string(status), r.Outcome, r.Reason,
		r.UpstreamStatus, []decision{}}
	for _, d := range a.Decisions {
		detail.Decisions = append(detail.Decisions, decision{d.UserID, d.Value})
	}
	e := &audit.Entry{ID: newOrderedID("uj"), OrgID: a.OrgID, UserID: a.InitiatorID, TokenID: a.Data.InitiatorTokenID,
		Path: "/v2/policy-approvals/" + a.ID, Kind: audit.KindApproval, Detail: string(mustJSON(detail))}
	if err := s.store.AppendAuditEntry(ctx, e, s.clock()); err != nil {
		s.log.ErrorContext(ctx, "auditing an approval's resolution failed", "org", a.OrgID, "approval", a.ID, "err", err)
	}
}

// execute runs the held operation as its initiator: the initiator's user
// (and, for a PAT or service account, its token) must still be active, and
// must hold the route's operation and pass every rule the request passed
// when it was signed, as things are now. A held gateway request is
// forwarded to the upstream.
//
// rerun is true when FinishInterrupted runs it again after an interrupted
// run: a revocation finding its assignment gone is then the interrupted
// run's own write (an assignment, whose id is its own, is recognised on
// every run).
func (s *Service) execute(ctx context.Context, a *Approval, rerun bool) (ApprovalResult, error) {
	applied := ApprovalResult{Outcome: OutcomeApplied}
	st, err := s.store.Principal(ctx, a.OrgID, a.Data.InitiatorTokenID)
	if err != nil {
		return applied, err
	}
	u := st.User
	if u.ID != a.InitiatorID || !u.IsActive || u.IsArchived {
		return applied, Errorf(Forbidden, "the initiator is no longer active")
	}
	if st.Token.Kind != token.KindLogin && (!st.Token.IsActive || st.Token.IsArchived) {
		return applied, Errorf(Forbidden, "the initiator's token is no longer active")
	}
	p := &Principal{OrgID: a.OrgID, UserID: u.ID, Username: u.Username, UserKind: u.Kind, TokenID: st.Token.ID,
		Kind: st.Token.Kind, CredentialUUID: st.Token.CredentialUUID, PermissionID: st.Token.PermissionID, approval: a.ID}
	op := a.Data.Operation
	operation := opOperation[op.Op]
	if op.Op == opForward {
		operation = op.Operation
	}
	if operation == "" {
		return applied, Errorf(Internal, "unknown pending operation %q", op.Op)
	}
	if err := s.Authorize(ctx, p, operation); err != nil {
		return applied, err
	}
	switch op.Op {
	case opForward:
		return s.forward(ctx, p, &op)
	case opAssign:
		_, err = s.createAssignment(ctx, p, op.PermissionID, op.IdentityID, op.AssignmentID)
		if err != nil && ErrorCode(err) == Conflict && s.assigned(ctx, a.OrgID, &op) {
			err = nil // a run interrupted after its write (FinishInterrupted)
		}
	case opRevoke:
		err = s.DeleteAssignment(ctx, p, op.PermissionID, op.AssignmentID)
		if rerun && ErrorCode(err) == NotFound {
			err = nil // deleted by the interrupted run
		}
	case opUpdatePermission:
		_, err = s.UpdatePermission(ctx, p, op.PermissionID, op.Permission)
	case opArchivePermission:
		_, err = s.ArchivePermission(ctx, p, op.PermissionID, op.Archived)
	case opUpdatePolicy:
		_, err = s.UpdatePolicy(ctx, p, op.PolicyID, op.Policy)
	case opArchivePolicy:
		_, err = s.ArchivePolicy(ctx, p, op.PolicyID)
	}
	return applied, err
}

// assigned reports whether the assignment an approval creates exists with
// the approval's id: the run that made it was interrupted before it
// recorded its outcome.
func (s *Service) assigned(ctx context.Context, orgID string, op *PendingOp) bool {
	a, err := s.store.Assignment(ctx, orgID, op.PermissionID, op.AssignmentID)
	return err == nil && a.IdentityID == op.IdentityID
}

// expire resolves a due approval Expired; a concurrent resolution wins.
func (s *Service) expire(ctx context.Context, a *Approval) bool {
	err := s.store.ResolveApproval(ctx, a.OrgID, a.ID, ApprovalExpired, s.clock())
	if err != nil {
		if !errors.Is(err, ErrUsed) {
			s.log.ErrorContext(ctx, "expiring an approval failed", "org", a.OrgID, "approval", a.ID, "err", err)
		}
		return false
	}
	s.log.InfoContext(ctx, "approval expired", "org", a.OrgID, "approval", a.ID)
	s.auditResolution(ctx, a, ApprovalExpired, ApprovalResult{})
	return true
}

// ExpireApprovals resolves Expired every pending approval whose
// autoRejectTimeout has passed and returns how many it resolved. The
// server's maintenance loop calls it every minute; replicas racing on one
// approval resolve it once.
func (s *Service) ExpireApprovals(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := s.store.DueApprovals(ctx, s.clock(), 100)
		if err != nil {
			return n, err
		}
		before := n
		for _, a := range due {
			if s.expire(ctx, a) {
				n++
			}
		}
		if len(due) < 100 || n == before { // the rest on the next round
			return n, nil
		}
	}
}
