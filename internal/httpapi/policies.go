package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/signet-auth/signet/internal/auth"
)

// The Dfns policy API (@dfns/sdk 0.8.21 PoliciesClient, docs/policies.md):
// /v2/policies and /v2/policy-approvals.

// policyJSON is a policy as the API shows it.
type policyJSON struct {
	ID           string              `json:"id"`
	Name         string              `json:"name"`
	Status       string              `json:"status"`
	ActivityKind string              `json:"activityKind"`
	Rule         auth.PolicyRule     `json:"rule"`
	Action       auth.PolicyAction   `json:"action"`
	Filters      *auth.PolicyFilters `json:"filters,omitempty"`
	DateCreated  string              `json:"dateCreated"`
	DateUpdated  string              `json:"dateUpdated"`
}

func policyOut(p *auth.Policy) policyJSON {
	return policyJSON{ID: p.ID, Name: p.Name, Status: p.Status, ActivityKind: p.ActivityKind, Rule: p.Rule, Action: p.Action,
		Filters: p.Filters, DateCreated: date(p.CreatedAt), DateUpdated: date(p.UpdatedAt)}
}

func writePolicy(w http.ResponseWriter, p *auth.Policy, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policyOut(p))
	return nil
}

// changeRequestJSON is an approval's activity as Dfns shows it (spec 6),
// and the body of a 202.
type changeRequestJSON struct {
	ID            string          `json:"id"`
	Requester     auth.Requester  `json:"requester"`
	Status        string          `json:"status"`
	EntityID      string          `json:"entityId"`
	DateCreated   string          `json:"dateCreated"`
	DateResolved  string          `json:"dateResolved,omitempty"`
	ApprovalID    string          `json:"approvalId"`
	Kind          string          `json:"kind"`
	OperationKind string          `json:"operationKind"`
	Body          json.RawMessage `json:"body"`
}

func changeRequestOut(a *auth.Approval) changeRequestJSON {
	c := a.Data.Change
	out := changeRequestJSON{ID: c.ID, Requester: c.Requester, Status: auth.ChangeStatus(a), EntityID: c.EntityID,
		DateCreated: date(a.CreatedAt), ApprovalID: a.ID, Kind: c.Kind, OperationKind: c.OperationKind, Body: c.Body}
	if a.ResolvedAt != nil && out.Status != "Pending" {
		out.DateResolved = date(*a.ResolvedAt)
	}
	return out
}

type activityJSON struct {
	Kind          string            `json:"kind"`
	ChangeRequest changeRequestJSON `json:"changeRequest"`
}

type evaluationJSON struct {
	PolicyID  string `json:"policyId"`
	Triggered bool   `json:"triggered"`
	Reason    string `json:"reason"`
}

type decisionJSON struct {
	UserID string  `json:"userId"`
	Date   string  `json:"date"`
	Reason *string `json:"reason"`
	Value  string  `json:"value"`
}

// approvalJSON is an approval as the API shows it.
type approvalJSON struct {
	ID                string           `json:"id"`
	InitiatorID       string           `json:"initiatorId"`
	Activity          activityJSON     `json:"activity"`
	Status            string           `json:"status"`
	ExpirationDate    string           `json:"expirationDate,omitempty"`
	DateCreated       string           `json:"dateCreated"`
	DateUpdated       string           `json:"dateUpdated"`
	DateResolved      string           `json:"dateResolved,omitempty"`
	PolicyEvaluations []evaluationJSON `json:"policyEvaluations"`
	Decisions         []decisionJSON   `json:"decisions"`
	// Result is what became of an approved activity once it ran (signet,
	// beyond Dfns; docs/policies.md): absent before.
	Result *resultJSON `json:"result,omitempty"`
}

// resultJSON is the outcome of an approved activity: Applied or Failed,
// why it failed, and for a gateway request the status code the upstream
// answered (absent when it did not answer).
type resultJSON struct {
	Outcome        string `json:"outcome"`
	Reason         string `json:"reason,omitempty"`
	UpstreamStatus int    `json:"upstreamStatus,omitempty"`
}

// WritePending answers a request a policy held for approval: 202 with its
// change request (the gateway's answer too, gateway.Config.Pending).
func WritePending(w http.ResponseWriter, a *auth.Approval) {
	writeJSON(w, http.StatusAccepted, changeRequestOut(a))
}

func approvalOut(a *auth.Approval) approvalJSON {
	out := approvalJSON{ID: a.ID, InitiatorID: a.InitiatorID, Status: string(a.Status),
		Activity:    activityJSON{Kind: a.Data.ActivityKind, ChangeRequest: changeRequestOut(a)},
		DateCreated: date(a.CreatedAt), DateUpdated: date(a.UpdatedAt),
		PolicyEvaluations: []evaluationJSON{}, Decisions: []decisionJSON{}}
	if a.ExpiresAt != nil {
		out.ExpirationDate = date(*a.ExpiresAt)
	}
	if a.ResolvedAt != nil {
		out.DateResolved = date(*a.ResolvedAt)
	}
	for i, id := range a.Data.PolicyIDs {
		reason := auth.RuleAlwaysTrigger
		if i < len(a.Data.PolicyReasons) {
			reason = a.Data.PolicyReasons[i]
		}
		out.PolicyEvaluations = append(out.PolicyEvaluations, evaluationJSON{PolicyID: id, Triggered: true, Reason: reason})
	}
	if a.Outcome != "" {
		out.Result = &resultJSON{Outcome: a.Outcome, Reason: a.Reason, UpstreamStatus: a.UpstreamStatus}
	}
	for _, d := range a.Decisions {
		dj := decisionJSON{UserID: d.UserID, Date: date(d.CreatedAt), Value: d.Value}
		if d.Reason != "" {
			dj.Reason = &d.Reason
		}
		out.Decisions = append(out.Decisions, dj)
	}
	return out
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.PolicyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.CreatePolicy(r.Context(), c.p, &req)
	return writePolicy(w, p, err)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ps, next, err := s.svc.ListPolicies(r.Context(), c.p, r.URL.Query().Get("status"), pg)
	if err != nil {
		return err
	}
	out := list[policyJSON]{Items: make([]policyJSON, 0, len(ps)), NextPageToken: next}
	for _, p := range ps {
		out.Items = append(out.Items, policyOut(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.svc.Policy(r.Context(), c.p, r.PathValue("policyId"))
	return writePolicy(w, p, err)
}

func (s *Server) updatePolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.PolicyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.UpdatePolicy(r.Context(), c.p, r.PathValue("policyId"), &req)
	return writePolicy(w, p, err)
}

func (s *Server) archivePolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct{}
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.svc.ArchivePolicy(r.Context(), c.p, r.PathValue("policyId"))
	return writePolicy(w, p, err)
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, c *call) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("approverId") != "" {
		return auth.Errorf(auth.Invalid, "approverId is not supported; filter by status or initiatorId")
	}
	as, next, err := s.svc.ListApprovals(r.Context(), c.p, auth.ApprovalStatus(q.Get("status")), q.Get("initiatorId"), pg)
	if err != nil {
		return err
	}
	out := list[approvalJSON]{Items: make([]approvalJSON, 0, len(as)), NextPageToken: next}
	for _, a := range as {
		out.Items = append(out.Items, approvalOut(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getApproval(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.svc.Approval(r.Context(), c.p, r.PathValue("approvalId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, approvalOut(a))
	return nil
}

func (s *Server) createDecision(w http.ResponseWriter, r *http.Request, c *call) error {
	var req auth.DecisionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, err := s.svc.Decide(r.Context(), c.p, r.PathValue("approvalId"), &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, approvalOut(a))
	return nil
}
