package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signet-auth/signet/internal/audit"
	"github.com/signet-auth/signet/internal/auth"
)

// Policies, approvals and decisions (migration 0014, docs/policies.md).

const policyColumns = `id, org_id, name, activity_kind, status, spec, created_at, updated_at`

func scanPolicy(sc scanner) (*auth.Policy, error) {
	var p auth.Policy
	var spec string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.OrgID, &p.Name, &p.ActivityKind, &p.Status, &spec, &created, &updated); err != nil {
		return nil, err
	}
	if err := p.SetSpec(spec); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &p, nil
}

// CreatePolicy inserts p.
func (s *Store) CreatePolicy(ctx context.Context, p *auth.Policy) error {
	spec, err := p.Spec()
	if err != nil {
		return wrap("create policy", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO policies (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, p.ActivityKind, p.Status, spec, millis(p.CreatedAt), millis(p.UpdatedAt))
	return wrap("create policy", err)
}

// Policy returns one policy of the org.
func (s *Store) Policy(ctx context.Context, orgID, id string) (*auth.Policy, error) {
	p, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE org_id = ? AND id = ?`, orgID, id))
	return p, wrap("policy", err)
}

func (s *Store) policies(ctx context.Context, op, query string, args ...any) ([]*auth.Policy, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var ps []*auth.Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		ps = append(ps, p)
	}
	return ps, wrap(op, rows.Err())
}

// ListPolicies returns a page of the org's policies by id.
func (s *Store) ListPolicies(ctx context.Context, orgID string, q auth.PolicyQuery) ([]*auth.Policy, error) {
	return s.policies(ctx, "list policies", `SELECT `+policyColumns+` FROM policies
		WHERE org_id = ? AND (? = '' OR status = ?) AND id > ? ORDER BY id LIMIT ?`,
		orgID, q.Status, q.Status, q.After, limit(q.Limit))
}

// ActivePolicies returns the org's active policies of one activity kind.
func (s *Store) ActivePolicies(ctx context.Context, orgID, kind string) ([]*auth.Policy, error) {
	return s.policies(ctx, "active policies", `SELECT `+policyColumns+` FROM policies
		WHERE org_id = ? AND activity_kind = ? AND status = ? ORDER BY id`, orgID, kind, auth.PolicyActive)
}

// UpdatePolicy writes the mutable fields of p.
func (s *Store) UpdatePolicy(ctx context.Context, p *auth.Policy) error {
	spec, err := p.Spec()
	if err != nil {
		return wrap("update policy", err)
	}
	res, err := s.write.ExecContext(ctx, `UPDATE policies SET name = ?, activity_kind = ?, status = ?, spec = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, p.Name, p.ActivityKind, p.Status, spec, millis(p.UpdatedAt), p.OrgID, p.ID)
	return wrap("update policy", affected(res, err))
}

// affected turns a write that matched no row into auth.ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

const approvalColumns = `id, org_id, initiator_id, status, outcome, data, expires_at, created_at, updated_at, resolved_at,
	outcome_reason, upstream_status`

func scanApproval(sc scanner) (*auth.Approval, error) {
	var a auth.Approval
	var data string
	var expires, resolved sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.OrgID, &a.InitiatorID, &a.Status, &a.Outcome, &data, &expires, &created, &updated, &resolved,
		&a.Reason, &a.UpstreamStatus); err != nil {
		return nil, err
	}
	if err := a.Data.Decode(data); err != nil {
		return nil, err
	}
	a.ExpiresAt, a.ResolvedAt = fromNullMillis(expires), fromNullMillis(resolved)
	a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &a, nil
}

// CreateApproval inserts a.
func (s *Store) CreateApproval(ctx context.Context, a *auth.Approval) error {
	data, err := a.Data.Encode()
	if err != nil {
		return wrap("create approval", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO approvals (`+approvalColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.InitiatorID, a.Status, a.Outcome, data, nullMillis(a.ExpiresAt),
		millis(a.CreatedAt), millis(a.UpdatedAt), nullMillis(a.ResolvedAt), a.Reason, a.UpstreamStatus)
	return wrap("create approval", err)
}

// withDecisions reads the decisions of the approvals, by date.
func (s *Store) withDecisions(ctx context.Context, as []*auth.Approval) error {
	for _, a := range as {
		rows, err := s.read.QueryContext(ctx, `SELECT user_id, service_account, value, reason, created_at
			FROM approval_decisions WHERE approval_id = ? AND org_id = ? ORDER BY created_at, user_id`, a.ID, a.OrgID)
		if err != nil {
			return err
		}
		for rows.Next() {
			d := auth.Decision{ApprovalID: a.ID, OrgID: a.OrgID}
			var at int64
			if err := rows.Scan(&d.UserID, &d.ServiceAccount, &d.Value, &d.Reason, &at); err != nil {
				rows.Close()
				return err
			}
			d.CreatedAt = fromMillis(at)
			a.Decisions = append(a.Decisions, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) approvals(ctx context.Context, op, query string, args ...any) ([]*auth.Approval, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var as []*auth.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		as = append(as, a)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrap(op, err)
	}
	return as, wrap(op, s.withDecisions(ctx, as))
}

// Approval returns one approval of the org with its decisions.
func (s *Store) Approval(ctx context.Context, orgID, id string) (*auth.Approval, error) {
	as, err := s.approvals(ctx, "approval", `SELECT `+approvalColumns+` FROM approvals WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, wrap("approval", auth.ErrNotFound)
	}
	return as[0], nil
}

// ListApprovals returns a page of the org's approvals by id.
func (s *Store) ListApprovals(ctx context.Context, orgID string, q auth.ApprovalQuery) ([]*auth.Approval, error) {
	return s.approvals(ctx, "list approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE org_id = ? AND (? = '' OR status = ?) AND (? = '' OR initiator_id = ?) AND id > ? ORDER BY id LIMIT ?`,
		orgID, q.Status, q.Status, q.InitiatorID, q.InitiatorID, q.After, limit(q.Limit))
}

// AddDecision inserts d only while its approval is pending.
func (s *Store) AddDecision(ctx context.Context, d *auth.Decision) error {
	return wrap("add decision", s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM approvals WHERE org_id = ? AND id = ?`, d.OrgID, d.ApprovalID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != string(auth.ApprovalPending) {
			return auth.ErrUsed
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO approval_decisions
			(approval_id, user_id, org_id, service_account, value, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ApprovalID, d.UserID, d.OrgID, d.ServiceAccount, d.Value, d.Reason, millis(d.CreatedAt))
		return dbError(err)
	}))
}

// ResolveApproval moves a pending approval to status: one conditional
// UPDATE, so exactly one of concurrent callers changes it.
func (s *Store) ResolveApproval(ctx context.Context, orgID, id string, status auth.ApprovalStatus, now time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE approvals SET status = ?, updated_at = ?, resolved_at = ?
		WHERE org_id = ? AND id = ? AND status = ?`, status, millis(now), millis(now), orgID, id, auth.ApprovalPending)
	if err = affected(res, err); errors.Is(err, auth.ErrNotFound) {
		var n int
		if qerr := s.read.QueryRowContext(ctx, `SELECT count(*) FROM approvals WHERE org_id = ? AND id = ?`, orgID, id).Scan(&n); qerr != nil {
			return wrap("resolve approval", qerr)
		}
		if n > 0 {
			err = auth.ErrUsed
		}
	}
	return wrap("resolve approval", err)
}

// SetApprovalOutcome records what became of an approved activity, once.
func (s *Store) SetApprovalOutcome(ctx context.Context, orgID, id string, r auth.ApprovalResult, now time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE approvals SET outcome = ?, outcome_reason = ?, upstream_status = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND outcome = ''`, r.Outcome, r.Reason, r.UpstreamStatus, millis(now), orgID, id)
	return wrap("set approval outcome", s.usedOrMissing(ctx, orgID, id, affected(res, err)))
}

// usedOrMissing turns the ErrNotFound of a conditional write on an
// approval into ErrUsed when the approval exists.
func (s *Store) usedOrMissing(ctx context.Context, orgID, id string, err error) error {
	if !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	var n int
	if qerr := s.read.QueryRowContext(ctx, `SELECT count(*) FROM approvals WHERE org_id = ? AND id = ?`, orgID, id).Scan(&n); qerr != nil {
		return qerr
	}
	if n > 0 {
		return auth.ErrUsed
	}
	return err
}

// UnfinishedApprovals returns approvals resolved Approved without an
// outcome, not updated after before.
func (s *Store) UnfinishedApprovals(ctx context.Context, before time.Time, n int) ([]*auth.Approval, error) {
	return s.approvals(ctx, "unfinished approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE status = ? AND outcome = '' AND updated_at <= ? ORDER BY updated_at LIMIT ?`,
		auth.ApprovalApproved, millis(before), limit(n))
}

// ClaimUnfinishedApproval claims an unfinished approval with one
// conditional UPDATE.
func (s *Store) ClaimUnfinishedApproval(ctx context.Context, orgID, id string, before, now time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE approvals SET updated_at = ?
		WHERE org_id = ? AND id = ? AND status = ? AND outcome = '' AND updated_at <= ?`,
		millis(now), orgID, id, auth.ApprovalApproved, millis(before))
	return wrap("claim unfinished approval", s.usedOrMissing(ctx, orgID, id, affected(res, err)))
}

// DueApprovals returns pending approvals, of any org, due at now.
func (s *Store) DueApprovals(ctx context.Context, now time.Time, n int) ([]*auth.Approval, error) {
	return s.approvals(ctx, "due approvals", `SELECT `+approvalColumns+` FROM approvals
		WHERE status = ? AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
		auth.ApprovalPending, millis(now), limit(n))
}

// AppendAuditEntry seals e after its org's head and appends it in one write
// transaction (SQLite's single writer serialises appends).
func (s *Store) AppendAuditEntry(ctx context.Context, e *audit.Entry, now time.Time) error {
	return wrap("append audit entry", s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.sealAndAppend(ctx, tx, e, e.Target, now)
	}))
}
