package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/signet-auth/signet/client"
)

// ---- policies and approvals (docs/policies.md) ----

func printPolicy(w io.Writer, p *client.Policy) {
	fmt.Fprintf(w, "policy\t%s\nname\t%s\nstatus\t%s\nactivity\t%s\naction\t%s\n", p.ID, p.Name, p.Status, p.ActivityKind, p.Action.Kind)
	for i, g := range p.Action.ApprovalGroups {
		who := "any user"
		if g.Approvers.UserID != nil {
			who = fmt.Sprint(g.Approvers.UserID.In)
		}
		fmt.Fprintf(w, "group %d\t%d of %s\n", i+1, g.Quorum, who)
	}
}

// readPolicy reads a policy body (the JSON of POST /v2/policies) from a
// file.
func readPolicy(file string) (client.PolicyRequest, error) {
	var req client.PolicyRequest
	if file == "" {
		return req, errors.New("--file is required: the policy as JSON, as POST /v2/policies takes it")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("%s: %w", file, err)
	}
	return req, nil
}

func (o *cliOpts) policy(ctx context.Context, sub string, args []string) error {
	var file, status, pageToken *string
	var limit *int
	switch sub {
	case "create", "update":
		file = o.fs.String("file", "", "JSON file of the policy: {name, activityKind, rule, action, filters}")
	case "list":
		status = o.fs.String("status", "", "Active or Archived")
		limit = o.fs.Int("limit", 0, "page size")
		pageToken = o.fs.String("pagination-token", "", "nextPageToken of the previous page")
	}
	id := []string{"POLICY_ID"}
	return o.runSub(ctx, "policy", sub, args, map[string]subcmd{
		"create": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.Policy, error) {
			req, err := readPolicy(*file)
			if err != nil {
				return nil, err
			}
			return c.CreatePolicy(ctx, req)
		}, printPolicy),
		"update": one(id, func(ctx context.Context, c *client.Client, pos []string) (*client.Policy, error) {
			req, err := readPolicy(*file)
			if err != nil {
				return nil, err
			}
			return c.UpdatePolicy(ctx, pos[0], req)
		}, printPolicy),
		"get":     byID(id[0], (*client.Client).GetPolicy, printPolicy),
		"archive": byID(id[0], (*client.Client).ArchivePolicy, printPolicy),
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.PolicyList, error) {
			return c.ListPolicies(ctx, *status, client.ListRequest{Limit: *limit, PaginationToken: *pageToken})
		}, func(w io.Writer, l *client.PolicyList) {
			fmt.Fprintln(w, "ID\tNAME\tACTIVITY\tACTION\tSTATUS")
			for _, p := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, p.ActivityKind, p.Action.Kind, p.Status)
			}
			nextPage(w, l.NextPageToken)
		}),
	})
}

func printApproval(w io.Writer, a *client.Approval) {
	cr := a.Activity.ChangeRequest
	fmt.Fprintf(w, "approval\t%s\nstatus\t%s\nactivity\t%s %s %s %s\ninitiator\t%s\nchange\t%s\n",
		a.ID, a.Status, a.Activity.Kind, cr.Kind, cr.OperationKind, cr.EntityID, a.InitiatorID, cr.Status)
	for _, d := range a.Decisions {
		fmt.Fprintf(w, "decision\t%s by %s\n", d.Value, d.UserID)
	}
	if r := a.Result; r != nil {
		fmt.Fprintf(w, "outcome\t%s\n", r.Outcome)
		if r.UpstreamStatus != 0 {
			fmt.Fprintf(w, "upstream status\t%d\n", r.UpstreamStatus)
		}
		if r.Reason != "" {
			fmt.Fprintf(w, "reason\t%s\n", r.Reason)
		}
	}
}

func (o *cliOpts) approval(ctx context.Context, sub string, args []string) error {
	var status, initiator, pageToken, reason *string
	var limit *int
	switch sub {
	case "list":
		status = o.fs.String("status", "", "Pending, Approved, Denied or Expired")
		initiator = o.fs.String("initiator", "", "only approvals this user initiated")
		limit = o.fs.Int("limit", 0, "page size")
		pageToken = o.fs.String("pagination-token", "", "nextPageToken of the previous page")
	case "approve", "deny":
		reason = o.fs.String("reason", "", "why (recorded with the decision)")
	}
	id := []string{"APPROVAL_ID"}
	decide := func(approve bool) subcmd {
		return one(id, func(ctx context.Context, c *client.Client, pos []string) (*client.Approval, error) {
			return c.Decide(ctx, pos[0], approve, *reason)
		}, printApproval)
	}
	return o.runSub(ctx, "approval", sub, args, map[string]subcmd{
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.ApprovalList, error) {
			return c.ListApprovals(ctx, client.ListApprovalsRequest{Status: *status, InitiatorID: *initiator,
				ListRequest: client.ListRequest{Limit: *limit, PaginationToken: *pageToken}})
		}, func(w io.Writer, l *client.ApprovalList) {
			fmt.Fprintln(w, "ID\tSTATUS\tACTIVITY\tINITIATOR\tDECISIONS")
			for _, a := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", a.ID, a.Status, a.Activity.Kind, a.InitiatorID, len(a.Decisions))
			}
			nextPage(w, l.NextPageToken)
		}),
		"get":     byID(id[0], (*client.Client).GetApproval, printApproval),
		"approve": decide(true),
		"deny":    decide(false),
	})
}
