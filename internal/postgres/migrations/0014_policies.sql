-- 0014: policies and approvals (issue 15, docs/policies.md). A policy's
-- rule, action and filters are one JSON document (spec) the domain owns;
-- so is what an approval holds beyond its state (data). status is the only
-- column that decides: an approval leaves Pending once, by a conditional
-- UPDATE, which is how exactly one replica runs an approved activity.
CREATE TABLE policies (
    id            text PRIMARY KEY,
    org_id        text    NOT NULL REFERENCES orgs (id),
    name          text    NOT NULL,
    activity_kind text    NOT NULL,
    status        text    NOT NULL,
    spec          text    NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
-- The gate's read: an org's active policies of one activity kind.
CREATE INDEX policies_by_kind ON policies (org_id, activity_kind, status);

CREATE TABLE approvals (
    id           text PRIMARY KEY,
    org_id       text    NOT NULL REFERENCES orgs (id),
    initiator_id text    NOT NULL,
    status       text    NOT NULL,
    outcome      text    NOT NULL DEFAULT '',
    data         text    NOT NULL,
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    resolved_at  timestamptz
);
CREATE INDEX approvals_by_org ON approvals (org_id, id);
-- The expiry sweep.
CREATE INDEX approvals_due ON approvals (expires_at) WHERE status = 'Pending' AND expires_at IS NOT NULL;

-- One decision per approver per approval: the primary key.
CREATE TABLE approval_decisions (
    approval_id     text    NOT NULL REFERENCES approvals (id),
    user_id         text    NOT NULL,
    org_id          text    NOT NULL,
    service_account boolean NOT NULL,
    value           text    NOT NULL,
    reason          text    NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (approval_id, user_id)
);
