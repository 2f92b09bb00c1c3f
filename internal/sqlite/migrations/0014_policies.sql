-- 0014: policies and approvals (issue 15, docs/policies.md). A policy's
-- rule, action and filters are one JSON document (spec) the domain owns;
-- so is what an approval holds beyond its state (data). status is the only
-- column that decides: an approval leaves Pending once, by a conditional
-- UPDATE, which is how exactly one replica runs an approved activity.
CREATE TABLE policies (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES orgs (id),
    name          TEXT    NOT NULL,
    activity_kind TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    spec          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
-- The gate's read: an org's active policies of one activity kind.
CREATE INDEX policies_by_kind ON policies (org_id, activity_kind, status);

CREATE TABLE approvals (
    id           TEXT    NOT NULL PRIMARY KEY,
    org_id       TEXT    NOT NULL REFERENCES orgs (id),
    initiator_id TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL DEFAULT '',
    data         TEXT    NOT NULL,
    expires_at   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    resolved_at  INTEGER
) STRICT;
CREATE INDEX approvals_by_org ON approvals (org_id, id);
-- The expiry sweep.
CREATE INDEX approvals_due ON approvals (expires_at) WHERE status = 'Pending' AND expires_at IS NOT NULL;

-- One decision per approver per approval: the primary key.
CREATE TABLE approval_decisions (
    approval_id     TEXT    NOT NULL REFERENCES approvals (id),
    user_id         TEXT    NOT NULL,
    org_id          TEXT    NOT NULL,
    service_account INTEGER NOT NULL,
    value           TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (approval_id, user_id)
) STRICT;
