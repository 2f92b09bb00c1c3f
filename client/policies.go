package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Policies and approvals (docs/policies.md): the Dfns policy API,
// /v2/policies and /v2/policy-approvals. A call a policy holds for approval
// fails with an *Error of Code CodePolicyPending; Pending returns its change
// request.

// Policy is a rule over an activity kind and what happens when it
// triggers.
type Policy struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Status       string         `json:"status"` // Active or Archived
	ActivityKind string         `json:"activityKind"`
	Rule         PolicyRule     `json:"rule"`
	Action       PolicyAction   `json:"action"`
	Filters      *PolicyFilters `json:"filters,omitempty"`
	DateCreated  time.Time      `json:"dateCreated"`
	DateUpdated  time.Time      `json:"dateUpdated"`
}

// PolicyRule says when a policy triggers: Kind "AlwaysTrigger", or, for a
// policy over an operation of the gateway's route file, "JsonFieldThreshold"
// with a Configuration (docs/policies.md, "Gateway mode").
type PolicyRule struct {
	Kind          string             `json:"kind"`
	Configuration *RuleConfiguration `json:"configuration,omitempty"`
}

// RuleConfiguration configures a JsonFieldThreshold rule: it triggers when
// the number at Pointer (RFC 6901) in the signed request body is above
// Above, or when the body has no number there.
type RuleConfiguration struct {
	Pointer string   `json:"pointer,omitempty"`
	Above   *float64 `json:"above,omitempty"`
}

// PolicyAction is "Block", "NoAction" or "RequestApproval" with its
// groups and an optional timeout in minutes.
type PolicyAction struct {
	Kind              string          `json:"kind"`
	ApprovalGroups    []ApprovalGroup `json:"approvalGroups,omitempty"`
	AutoRejectTimeout *int            `json:"autoRejectTimeout,omitempty"`
}

// ApprovalGroup is a set of approvers of which Quorum must approve.
// Approvers with no UserID: any user of the org.
type ApprovalGroup struct {
	Name      string `json:"name,omitempty"`
	Quorum    int    `json:"quorum"`
	Approvers struct {
		UserID *IDList `json:"userId,omitempty"`
	} `json:"approvers"`
	InitiatorCanApprove       bool `json:"initiatorCanApprove,omitempty"`
	ServiceAccountsCanApprove bool `json:"serviceAccountsCanApprove,omitempty"`
}

// IDList is {"in": [ids]}.
type IDList struct {
	In []string `json:"in"`
}

// PolicyFilters narrows a policy to some permissions or policies.
type PolicyFilters struct {
	PermissionID *IDList `json:"permissionId,omitempty"`
	PolicyID     *IDList `json:"policyId,omitempty"`
}

// PolicyRequest is the body of CreatePolicy and UpdatePolicy.
type PolicyRequest struct {
	Name         string         `json:"name"`
	ActivityKind string         `json:"activityKind"`
	Rule         PolicyRule     `json:"rule"`
	Action       PolicyAction   `json:"action"`
	Filters      *PolicyFilters `json:"filters,omitempty"`
}

// PolicyList is one page of policies.
type PolicyList struct {
	Items         []Policy `json:"items"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

// Approval is an activity a policy holds until its groups decide.
type Approval struct {
	ID          string `json:"id"`
	InitiatorID string `json:"initiatorId"`
	Activity    struct {
		Kind          string        `json:"kind"`
		ChangeRequest ChangeRequest `json:"changeRequest"`
	} `json:"activity"`
	Status            string     `json:"status"` // Pending, Approved, Denied or Expired
	ExpirationDate    *time.Time `json:"expirationDate,omitempty"`
	DateCreated       time.Time  `json:"dateCreated"`
	DateUpdated       time.Time  `json:"dateUpdated"`
	DateResolved      *time.Time `json:"dateResolved,omitempty"`
	PolicyEvaluations []struct {
		PolicyID  string `json:"policyId"`
		Triggered bool   `json:"triggered"`
		Reason    string `json:"reason"`
	} `json:"policyEvaluations"`
	Decisions []struct {
		UserID string    `json:"userId"`
		Date   time.Time `json:"date"`
		Reason *string   `json:"reason"`
		Value  string    `json:"value"`
	} `json:"decisions"`
	// Result is set once an approved activity ran (signet, beyond Dfns).
	Result *ApprovalResult `json:"result,omitempty"`
}

// ApprovalResult is what became of an approved activity: Outcome Applied
// or Failed, why it failed, and for a request held by the gateway the
// status code the upstream answered (0 when it did not answer).
type ApprovalResult struct {
	Outcome        string `json:"outcome"`
	Reason         string `json:"reason,omitempty"`
	UpstreamStatus int    `json:"upstreamStatus,omitempty"`
}

// ApprovalList is one page of approvals.
type ApprovalList struct {
	Items         []Approval `json:"items"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// ListApprovalsRequest pages the approvals, of one status (Pending,
// Approved, Denied, Expired) and one initiator if set.
type ListApprovalsRequest struct {
	ListRequest
	Status      string
	InitiatorID string
}

// Pending returns the change request of a call a policy held for approval
// (HTTP 202), and false for any other error.
func Pending(err error) (*ChangeRequest, bool) {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePolicyPending {
		return nil, false
	}
	var cr ChangeRequest
	if json.Unmarshal(e.Body, &cr) != nil {
		return nil, false
	}
	return &cr, true
}

// CreatePolicy creates a policy (POST /v2/policies).
func (c *Client) CreatePolicy(ctx context.Context, req PolicyRequest) (*Policy, error) {
	var out Policy
	return &out, c.do(ctx, &request{method: http.MethodPost, path: "/v2/policies", body: req, out: &out})
}

// ListPolicies lists one page of the org's policies, of one status if
// status is set (GET /v2/policies).
func (c *Client) ListPolicies(ctx context.Context, status string, req ListRequest) (*PolicyList, error) {
	q := req.values()
	if status != "" {
		q.Set("status", status)
	}
	var out PolicyList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/v2/policies", query: q, out: &out})
}

// GetPolicy returns a policy (GET /v2/policies/:policyId).
func (c *Client) GetPolicy(ctx context.Context, policyID string) (*Policy, error) {
	var out Policy
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/v2/policies/%s", policyID), out: &out})
}

// UpdatePolicy replaces a policy (PUT /v2/policies/:policyId). A
// Policies:Modify policy may hold it for approval (Pending).
func (c *Client) UpdatePolicy(ctx context.Context, policyID string, req PolicyRequest) (*Policy, error) {
	var out Policy
	return &out, c.do(ctx, &request{method: http.MethodPut, path: pathf("/v2/policies/%s", policyID), body: req, out: &out})
}

// ArchivePolicy archives a policy (DELETE /v2/policies/:policyId). A
// Policies:Modify policy may hold it for approval (Pending).
func (c *Client) ArchivePolicy(ctx context.Context, policyID string) (*Policy, error) {
	var out Policy
	return &out, c.do(ctx, &request{method: http.MethodDelete, path: pathf("/v2/policies/%s", policyID), body: empty, out: &out})
}

// ListApprovals lists one page of the org's approvals (GET
// /v2/policy-approvals).
func (c *Client) ListApprovals(ctx context.Context, req ListApprovalsRequest) (*ApprovalList, error) {
	q := req.values()
	if req.Status != "" {
		q.Set("status", req.Status)
	}
	if req.InitiatorID != "" {
		q.Set("initiatorId", req.InitiatorID)
	}
	var out ApprovalList
	return &out, c.do(ctx, &request{method: http.MethodGet, path: "/v2/policy-approvals", query: q, out: &out})
}

// GetApproval returns an approval (GET /v2/policy-approvals/:approvalId).
func (c *Client) GetApproval(ctx context.Context, approvalID string) (*Approval, error) {
	var out Approval
	return &out, c.do(ctx, &request{method: http.MethodGet, path: pathf("/v2/policy-approvals/%s", approvalID), out: &out})
}

// Decide approves (approve true) or denies an approval, with an optional
// reason (POST /v2/policy-approvals/:approvalId/decisions), and returns
// the approval as it stands after the decision.
func (c *Client) Decide(ctx context.Context, approvalID string, approve bool, reason string) (*Approval, error) {
	body := struct {
		Value  string `json:"value"`
		Reason string `json:"reason,omitempty"`
	}{"Denied", reason}
	if approve {
		body.Value = "Approved"
	}
	var out Approval
	return &out, c.do(ctx, &request{method: http.MethodPost, path: pathf("/v2/policy-approvals/%s/decisions", approvalID), body: body, out: &out})
}
