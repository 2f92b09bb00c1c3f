package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// Policies, approvals and decisions (migration 0014, docs/policies.md).

const policyColumns = `id, org_id, name, activity_kind, status, spec, created_at, updated_at`

func scanPolicy(row rowScanner) (*auth.Policy, error) {
	var p auth.Policy
	var spec string
	if err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.ActivityKind, &p.Status, &spec, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	if err := p.SetSpec(spec); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

// CreatePolicy inserts p.
func (s *Store) CreatePolicy(ctx context.Context, p *auth.Policy) error {
	spec, err := p.Spec()
	if err != nil {
		return dbErr("create policy", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO policies (`+policyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.OrgID, p.Name, p.ActivityKind, p.Status, spec, p.CreatedAt, p.UpdatedAt)
	return dbErr("create policy", err)
}

// Policy returns one policy of the org.
func (s *Store) Policy(ctx context.Context, orgID, id string) (*auth.Policy, error) {
	p, err := scanPolicy(s.pool.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, dbErr("policy", err)
	}
	return p, nil
}

func (s *Store) policies(ctx context.Context, op, query string, args ...any) ([]*auth.Policy, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var ps []*auth.Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		ps = append(ps, p)
	}
	return ps, dbErr(op, rows.Err())
}

// ListPolicies returns a page of the org's policies by id.
func (s *Store) ListPolicies(ctx context.Context, orgID string, q auth.PolicyQuery) ([]*auth.Policy, error) {
	return s.policies(ctx, "list policies", `SELECT `+policyColumns+` FROM policies
		WHERE org_id = $1 AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT $4`,
		orgID, q.Status, q.After, limit(q.Limit))
}

// activePoliciesSQL reads org $1's policies of activity kind $2 in status
// $3 (the gate's read, policies_by_kind).
const activePoliciesSQL = `SELECT ` + policyColumns + ` FROM policies
		WHERE org_id = $1 AND activity_kind = $2 AND status = $3 ORDER BY id`

// ActivePolicies returns the org's active policies of one activity kind.
func (s *Store) ActivePolicies(ctx context.Context, orgID, kind string) ([]*auth.Policy, error) {
	return s.policies(ctx, "active policies", activePoliciesSQL, orgID, kind, auth.PolicyActive)
}

// UpdatePolicy writes the mutable fields of p.
func (s *Store) UpdatePolicy(ctx context.Context, p *auth.Policy) error {
	spec, err := p.Spec()
	if err != nil {
		return dbErr("update policy", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE policies SET name = $1, activity_kind = $2, status = $3, spec = $4, updated_at = $5
		WHERE org_id = $6 AND id = $7`, p.Name, p.ActivityKind, p.Status, spec, p.UpdatedAt, p.OrgID, p.ID)
	if err != nil {
		return dbErr("update policy", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update policy")
	}
	return nil
}

const approvalColumns = `id, org_id, initiator_id, status, outcome, data, expires_at, created_at, updated_at, resolved_at,
	outcome_reason, upstream_status`

func scanApproval(row rowScanner) (*auth.Approval, error) {
	var a auth.Approval
	var data, status string
	if err := row.Scan(&a.ID, &a.OrgID, &a.InitiatorID, &status, &a.Outcome, &data, &a.ExpiresAt, &a.CreatedAt,
		&a.UpdatedAt, &a.ResolvedAt, &a.Reason, &a.UpstreamStatus); err != nil {
		return nil, err
	}
	if err := a.Data.Decode(data); err != nil {
		return nil, err
	}
	a.Status = auth.ApprovalStatus(status)
	a.ExpiresAt, a.ResolvedAt = utcPtr(a.ExpiresAt), utcPtr(a.ResolvedAt)
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
	return &a, nil
}

// CreateApproval inserts a.
func (s *Store) CreateApproval(ctx context.Context, a *auth.Approval) error {
	data, err := a.Data.Encode()
	if err != nil {
		return dbErr("create approval", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO approvals (`+approvalColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		a.ID, a.OrgID, a.InitiatorID, string(a.Status), a.Outcome, data, a.ExpiresAt, a.CreatedAt, a.UpdatedAt, a.ResolvedAt,
		a.Reason, a.UpstreamStatus)
	return dbErr("create approval", err)
}

// withDecisions reads the decisions of the approvals, by date.
func (s *Store) withDecisions(ctx context.Context, as []*auth.Approval) error {
	for _, a := range as {
		rows, err := s.pool.Query(ctx, `SELECT user_id, service_account, value, reason, created_at
			FROM approval_decisions WHERE approval_id = $1 AND org_id = $2 ORDER BY created_at, user_id`, a.ID, a.OrgID)
		if err != nil {
			return err
		}
		for rows.Next() {
			d := auth.Decision{ApprovalID: a.ID, OrgID: a.OrgID}
			if err := rows.Scan(&d.UserID, &d.ServiceAccount, &d.Value, &d.Reason, &d.CreatedAt); err != nil {
				rows.Close()
				return err
			}
			d.CreatedAt = utc(d.CreatedAt)
			a.Decisions = append(a.Decisions, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) approvals(ctx context.Context, op, query string, args ...any) ([]*auth.Approval, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	var as []*auth.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			rows.Close()
			return nil, dbErr(op, err)
		}
		as = append(as, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return as, dbErr(op, s.withDecisions(ctx, as))
}

// Approval returns one approval of the org with its decisions.
func (s *Store) Approval(ctx context.Context, orgID, id string) (*auth.Approval, error) {
	as, err := s.approvals(ctx, "approval", `SELECT `+approvalColumns+` FROM approvals WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, notFound("approval")
	}
	return as[0], nil
}

// ListApprovals returns a page of the org's approvals by id.
func (s *Store) ListApprovals(ctx context.Context, orgID string, q auth.ApprovalQuery) ([]*auth.Approval, error) {
	return s.approvals(ctx, "list approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE org_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR initiator_id = $3) AND id > $4 ORDER BY id LIMIT $5`,
		orgID, string(q.Status), q.InitiatorID, q.After, limit(q.Limit))
}

// AddDecision inserts d only while its approval is pending: the approval's
// row is share-locked, so a concurrent ResolveApproval waits for it.
func (s *Store) AddDecision(ctx context.Context, d *auth.Decision) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM approvals WHERE org_id = $1 AND id = $2 FOR SHARE`, d.OrgID, d.ApprovalID).Scan(&status)
		if err != nil {
			return err
		}
		if status != string(auth.ApprovalPending) {
			return auth.ErrUsed
		}
		_, err = tx.Exec(ctx, `INSERT INTO approval_decisions
			(approval_id, user_id, org_id, service_account, value, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.ApprovalID, d.UserID, d.OrgID, d.ServiceAccount, d.Value, d.Reason, d.CreatedAt)
		return err
	})
	if errors.Is(err, auth.ErrUsed) {
		return err
	}
	return dbErr("add decision", err)
}

// ResolveApproval moves a pending approval to status: one conditional
// UPDATE; a concurrent one waits for the row and then matches nothing.
func (s *Store) ResolveApproval(ctx context.Context, orgID, id string, status auth.ApprovalStatus, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE approvals SET status = $1, updated_at = $2, resolved_at = $2
		WHERE org_id = $3 AND id = $4 AND status = $5`, string(status), now, orgID, id, string(auth.ApprovalPending))
	if err != nil {
		return dbErr("resolve approval", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM approvals WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&n); err != nil {
		return dbErr("resolve approval", err)
	}
	if n == 0 {
		return notFound("resolve approval")
	}
	return auth.ErrUsed
}

// SetApprovalOutcome records what became of an approved activity, once.
func (s *Store) SetApprovalOutcome(ctx context.Context, orgID, id string, r auth.ApprovalResult, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE approvals SET outcome = $1, outcome_reason = $2, upstream_status = $3, updated_at = $4
		WHERE org_id = $5 AND id = $6 AND outcome = ''`, r.Outcome, r.Reason, r.UpstreamStatus, now, orgID, id)
	if err != nil {
		return dbErr("set approval outcome", err)
	}
	if tag.RowsAffected() == 0 {
		return s.usedOrMissing(ctx, "set approval outcome", orgID, id)
	}
	return nil
}

// usedOrMissing is the error of a conditional write on an approval that
// matched no row: ErrUsed when the approval exists, else ErrNotFound.
func (s *Store) usedOrMissing(ctx context.Context, op, orgID, id string) error {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM approvals WHERE org_id = $1 AND id = $2`, orgID, id).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n > 0 {
		return fmt.Errorf("%s: %w", op, auth.ErrUsed)
	}
	return notFound(op)
}

// UnfinishedApprovals returns approvals resolved Approved without an
// outcome, not updated after before.
func (s *Store) UnfinishedApprovals(ctx context.Context, before time.Time, n int) ([]*auth.Approval, error) {
	return s.approvals(ctx, "unfinished approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE status = $1 AND outcome = '' AND updated_at <= $2 ORDER BY updated_at LIMIT $3`,
		string(auth.ApprovalApproved), before, limit(n))
}

// ClaimUnfinishedApproval claims an unfinished approval with one
// conditional UPDATE.
func (s *Store) ClaimUnfinishedApproval(ctx context.Context, orgID, id string, before, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE approvals SET updated_at = $1
		WHERE org_id = $2 AND id = $3 AND status = $4 AND outcome = '' AND updated_at <= $5`,
		now, orgID, id, string(auth.ApprovalApproved), before)
	if err != nil {
		return dbErr("claim unfinished approval", err)
	}
	if tag.RowsAffected() == 0 {
		return s.usedOrMissing(ctx, "claim unfinished approval", orgID, id)
	}
	return nil
}

// DueApprovals returns pending approvals, of any org, due at now.
func (s *Store) DueApprovals(ctx context.Context, now time.Time, n int) ([]*auth.Approval, error) {
	return s.approvals(ctx, "due approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE status = $1 AND expires_at IS NOT NULL AND expires_at <= $2 ORDER BY expires_at LIMIT $3`,
		string(auth.ApprovalPending), now, limit(n))
}

// AppendAuditEntry seals e after its org's head and appends it in one
// transaction; the head row is locked first, as UseAuditedAction does, so
// appends of one org on any replica take turns.
func (s *Store) AppendAuditEntry(ctx context.Context, e *audit.Entry, now time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return appendSealed(ctx, tx, e, e.Target, now)
	})
	return dbErr("append audit entry", err)
}
