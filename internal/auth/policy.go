package auth

import (
	"context"
	"errors"
	"slices"
)

// Policies (issue 15, docs/policies.md): the Dfns policy engine for the
// three activity kinds of the auth domain. A policy over an activity kind
// either blocks the activity or holds it as an approval until every
// approval group reaches its quorum (approval.go). The shapes are those of
// @dfns/sdk 0.8.21 generated/policies/types.d.ts.

// Activity kinds signet's policies gate.
const (
	ActivityPermissionsAssign = "Permissions:Assign" // creating and deleting assignments
	ActivityPermissionsModify = "Permissions:Modify" // updating and archiving permissions
	ActivityPoliciesModify    = "Policies:Modify"    // updating and archiving policies
)

// activityOps are the operations whose requests an activity kind gates:
// creating, changing or archiving a policy over the kind needs the caller
// to hold them (the escalation rule, escalation.go), since such a policy
// decides who else must agree to their use.
var activityOps = map[string][]string{
	ActivityPermissionsAssign: {"Permissions:Assign", "Permissions:Revoke"},
	ActivityPermissionsModify: {"Permissions:Update", "Permissions:Archive"},
	ActivityPoliciesModify:    {"Policies:Update", "Policies:Archive"},
}

// Rule and action kinds.
const (
	RuleAlwaysTrigger     = "AlwaysTrigger"
	ActionBlock           = "Block"
	ActionRequestApproval = "RequestApproval"
	ActionNoAction        = "NoAction"
)

// Limits of a policy.
const (
	maxApprovalGroups = 10
	maxApprovers      = 100
	// maxAutoRejectTimeout is the longest autoRejectTimeout, in minutes
	// (30 days).
	maxAutoRejectTimeout = 30 * 24 * 60
)

// PolicyRule says when a policy triggers. Only AlwaysTrigger exists for the
// auth domain's activity kinds; its configuration is empty. A policy over a
// gateway operation may also use JsonFieldThreshold (gatewaypolicy.go).
type PolicyRule struct {
	Kind          string             `json:"kind"`
	Configuration *RuleConfiguration `json:"configuration,omitempty"`
}

// PolicyAction says what a triggered policy does.
type PolicyAction struct {
	Kind           string          `json:"kind"`
	ApprovalGroups []ApprovalGroup `json:"approvalGroups,omitempty"`
	// AutoRejectTimeout is in minutes; nil: the approval waits forever.
	AutoRejectTimeout *int `json:"autoRejectTimeout,omitempty"`
}

// ApprovalGroup is a set of users of which Quorum must approve.
type ApprovalGroup struct {
	Name                      string    `json:"name,omitempty"`
	Quorum                    int       `json:"quorum"`
	Approvers                 Approvers `json:"approvers"`
	InitiatorCanApprove       bool      `json:"initiatorCanApprove"`
	ServiceAccountsCanApprove bool      `json:"serviceAccountsCanApprove"`
}

// Approvers names a group's approvers; no UserID: any user of the org.
type Approvers struct {
	UserID *IDFilter `json:"userId,omitempty"`
}

// IDFilter is {"in": [ids]}.
type IDFilter struct {
	In []string `json:"in"`
}

// PolicyFilters narrows a policy to some permissions (Permissions:*) or
// some policies (Policies:Modify).
type PolicyFilters struct {
	PermissionID *IDFilter `json:"permissionId,omitempty"`
	PolicyID     *IDFilter `json:"policyId,omitempty"`
}

// PolicyRequest is the body of POST /v2/policies and PUT
// /v2/policies/{id}.
type PolicyRequest struct {
	Name         string         `json:"name"`
	ActivityKind string         `json:"activityKind"`
	Rule         *PolicyRule    `json:"rule"`
	Action       *PolicyAction  `json:"action"`
	Filters      *PolicyFilters `json:"filters,omitempty"`
}

// checkPolicy validates a policy request against the kinds signet gates
// and the org's users.
func (s *Service) checkPolicy(ctx context.Context, p *Principal, req *PolicyRequest) error {
	if err := checkPermissionName(req.Name); err != nil {
		return err
	}
	if _, ok := activityOps[req.ActivityKind]; !ok && !s.kinds[req.ActivityKind] {
		if len(s.kinds) == 0 {
			return Errorf(Invalid, "activityKind must be one of Permissions:Assign, Permissions:Modify, Policies:Modify")
		}
		return Errorf(Invalid, "activityKind must be one of Permissions:Assign, Permissions:Modify, Policies:Modify or an operation of the gateway's route file")
	}
	if err := s.checkRule(req.ActivityKind, req.Rule); err != nil {
		return err
	}
	if req.Action == nil {
		return Errorf(Invalid, "action is required")
	}
	a := req.Action
	switch a.Kind {
	case ActionBlock, ActionNoAction:
		if req.ActivityKind == ActivityPoliciesModify {
			return Errorf(Invalid, "a Policies:Modify policy must request approval")
		}
		if len(a.ApprovalGroups) > 0 || a.AutoRejectTimeout != nil {
			return Errorf(Invalid, "action %s takes no approvalGroups or autoRejectTimeout", a.Kind)
		}
	case ActionRequestApproval:
		if len(a.ApprovalGroups) == 0 || len(a.ApprovalGroups) > maxApprovalGroups {
			return Errorf(Invalid, "action.approvalGroups must hold 1 to %d groups", maxApprovalGroups)
		}
		if a.AutoRejectTimeout != nil && (*a.AutoRejectTimeout < 1 || *a.AutoRejectTimeout > maxAutoRejectTimeout) {
			return Errorf(Invalid, "action.autoRejectTimeout must be 1 to %d minutes", maxAutoRejectTimeout)
		}
		for i := range a.ApprovalGroups {
			if err := s.checkGroup(ctx, p, &a.ApprovalGroups[i]); err != nil {
				return err
			}
		}
	default:
		return Errorf(Invalid, "action.kind must be RequestApproval, Block or NoAction")
	}
	if f := req.Filters; f != nil && s.kinds[req.ActivityKind] {
		return Errorf(Invalid, "a policy over a gateway operation takes no filters")
	} else if f != nil {
		want, other := f.PermissionID, f.PolicyID
		field := "permissionId"
		if req.ActivityKind == ActivityPoliciesModify {
			want, other, field = f.PolicyID, f.PermissionID, "policyId"
		}
		if other != nil {
			return Errorf(Invalid, "filters of a %s policy take %s only", req.ActivityKind, field)
		}
		if want != nil {
			if len(want.In) == 0 || len(want.In) > maxApprovers {
				return Errorf(Invalid, "filters.%s.in must hold 1 to %d ids", field, maxApprovers)
			}
			for _, id := range want.In {
				if err := validID("filters."+field, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Service) checkGroup(ctx context.Context, p *Principal, g *ApprovalGroup) error {
	if len(g.Name) > 100 {
		return Errorf(Invalid, "approval group name must be at most 100 characters")
	}
	if g.Quorum < 1 {
		return Errorf(Invalid, "approval group quorum must be at least 1")
	}
	if g.Approvers.UserID == nil {
		return nil
	}
	in := g.Approvers.UserID.In
	if len(in) == 0 || len(in) > maxApprovers {
		return Errorf(Invalid, "approvers.userId.in must hold 1 to %d user ids", maxApprovers)
	}
	if g.Quorum > len(in) {
		return Errorf(Invalid, "approval group quorum %d is more than its %d approvers", g.Quorum, len(in))
	}
	for i, id := range in {
		if err := validID("approvers.userId.in", id); err != nil {
			return err
		}
		if slices.Contains(in[:i], id) {
			return Errorf(Invalid, "approver %s is named twice", id)
		}
		// Approvers are users of the caller's org: an id of another org
		// is the same "not found" as one that does not exist.
		if _, err := s.store.User(ctx, p.OrgID, id); errors.Is(err, ErrNotFound) {
			return Errorf(Invalid, "approver %s is not a user of this org", id)
		} else if err != nil {
			return internalErr(err)
		}
	}
	return nil
}

// policyAuthority is what creating, changing or archiving a policy over
// these activity kinds needs the caller to hold.
func policyAuthority(kinds ...string) authority {
	var ops [][]string
	for _, k := range kinds {
		if own, ok := activityOps[k]; ok {
			ops = append(ops, own)
		} else {
			ops = append(ops, []string{k}) // a gateway operation governs itself
		}
	}
	return opsAuthority(ops...)
}

// CreatePolicy creates an active policy.
func (s *Service) CreatePolicy(ctx context.Context, p *Principal, req *PolicyRequest) (*Policy, error) {
	if err := s.checkPolicy(ctx, p, req); err != nil {
		return nil, err
	}
	if err := s.confirmHolds(ctx, p, "cannot create this policy", policyAuthority(req.ActivityKind)); err != nil {
		return nil, err
	}
	now := s.clock()
	pol := &Policy{ID: newID("po"), OrgID: p.OrgID, Status: PolicyActive, CreatedAt: now, UpdatedAt: now}
	setPolicy(pol, req)
	if err := s.store.CreatePolicy(ctx, pol); err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "policy created", "org", p.OrgID, "policy", pol.ID, "activity", pol.ActivityKind, "by", p.UserID)
	return pol, nil
}

func setPolicy(pol *Policy, req *PolicyRequest) {
	pol.Name, pol.ActivityKind, pol.Rule, pol.Action, pol.Filters = req.Name, req.ActivityKind, *req.Rule, *req.Action, req.Filters
}

// policy loads a policy of the caller's org.
func (s *Service) policy(ctx context.Context, p *Principal, id string) (*Policy, error) {
	if err := validID("policyId", id); err != nil {
		return nil, err
	}
	pol, err := s.store.Policy(ctx, p.OrgID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "policy not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return pol, nil
}

// Policy returns one policy.
func (s *Service) Policy(ctx context.Context, p *Principal, id string) (*Policy, error) {
	return s.policy(ctx, p, id)
}

// ListPolicies lists a page of the org's policies, of one status if status
// is set.
func (s *Service) ListPolicies(ctx context.Context, p *Principal, status string, pg Page) ([]*Policy, string, error) {
	if status != "" && status != PolicyActive && status != PolicyArchived {
		return nil, "", Errorf(Invalid, "status must be Active or Archived")
	}
	q, limit, err := pageQuery(pg)
	if err != nil {
		return nil, "", err
	}
	ps, err := s.store.ListPolicies(ctx, p.OrgID, PolicyQuery{Status: status, After: q.After, Limit: q.Limit})
	if err != nil {
		return nil, "", internalErr(err)
	}
	ps, next := nextToken(ps, limit, func(pol *Policy) string { return pol.ID })
	return ps, next, nil
}

// UpdatePolicy replaces a policy's name, activity kind, rule, action and
// filters. Policies:Modify policies gate it (approval.go).
func (s *Service) UpdatePolicy(ctx context.Context, p *Principal, id string, req *PolicyRequest) (*Policy, error) {
	pol, err := s.policy(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pol.Status == PolicyArchived {
		return nil, Errorf(Invalid, "policy is archived")
	}
	if err := s.checkPolicy(ctx, p, req); err != nil {
		return nil, err
	}
	if err := s.confirmHolds(ctx, p, "cannot change this policy", policyAuthority(pol.ActivityKind, req.ActivityKind)); err != nil {
		return nil, err
	}
	setPolicy(pol, req)
	if err := s.gate(ctx, p, pendingPolicy(pol, &PendingOp{Op: opUpdatePolicy, PolicyID: pol.ID, Policy: req})); err != nil {
		return nil, err
	}
	return s.savePolicy(ctx, p, pol, "updated")
}

// ArchivePolicy archives a policy: it no longer triggers. Policies:Modify
// policies gate it (approval.go).
func (s *Service) ArchivePolicy(ctx context.Context, p *Principal, id string) (*Policy, error) {
	pol, err := s.policy(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pol.Status == PolicyArchived {
		return nil, Errorf(Invalid, "policy is archived")
	}
	if err := s.confirmHolds(ctx, p, "cannot archive this policy", policyAuthority(pol.ActivityKind)); err != nil {
		return nil, err
	}
	pol.Status = PolicyArchived
	if err := s.gate(ctx, p, pendingPolicy(pol, &PendingOp{Op: opArchivePolicy, PolicyID: pol.ID})); err != nil {
		return nil, err
	}
	return s.savePolicy(ctx, p, pol, "archived")
}

func (s *Service) savePolicy(ctx context.Context, p *Principal, pol *Policy, what string) (*Policy, error) {
	pol.UpdatedAt = s.clock()
	err := s.store.UpdatePolicy(ctx, pol)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(NotFound, "policy not found")
	}
	if err != nil {
		return nil, internalErr(err)
	}
	s.log.InfoContext(ctx, "policy "+what, "org", p.OrgID, "policy", pol.ID, "by", p.UserID)
	return pol, nil
}
