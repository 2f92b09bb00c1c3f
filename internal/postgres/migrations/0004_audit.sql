-- 0004: the audit log (internal/audit, docs/audit.md). 0003 belongs to
-- account recovery; migrations are applied by number, each once, so the
-- order in which the two land does not matter.
--
-- An entry's content is its JSON (audit.Entry) in `entry`; the other
-- columns of audit_entries copy what listings filter and show, so a listing
-- never reads the JSON. The chain's integrity is checked on the JSON (its
-- hash covers every field), never on the copies.

-- The entry a user action will append when it is spent, written with the
-- action by ActionComplete and gone with it when the sweep removes it.
CREATE TABLE action_evidence (
    action_id text PRIMARY KEY REFERENCES actions (id) ON DELETE CASCADE,
    entry     text NOT NULL
);

CREATE TABLE audit_entries (
    org_id          text        NOT NULL REFERENCES orgs (id),
    seq             bigint      NOT NULL CHECK (seq > 0),
    id              text        NOT NULL,
    time            timestamptz NOT NULL,
    user_id         text        NOT NULL,
    username        text        NOT NULL,
    credential_uuid text        NOT NULL,
    method          text        NOT NULL,
    path            text        NOT NULL,
    entry           text        NOT NULL,
    hash            bytea       NOT NULL,
    PRIMARY KEY (org_id, seq),
    CONSTRAINT audit_entries_id_key UNIQUE (id)
);
-- AuditSummaries: an org's entries in a time range.
CREATE INDEX audit_entries_time_idx ON audit_entries (org_id, time);

-- One head per org. Every append locks its org's row (SELECT … FOR UPDATE)
-- in the transaction that spends the action, so appends of one org are
-- serialised across replicas and appends of different orgs never wait.
CREATE TABLE audit_heads (
    org_id text   PRIMARY KEY REFERENCES orgs (id),
    seq    bigint NOT NULL,
    hash   bytea  NOT NULL
);

CREATE TABLE audit_outcomes (
    entry_id text        PRIMARY KEY REFERENCES audit_entries (id),
    status   integer     NOT NULL,
    time     timestamptz NOT NULL
);

CREATE TABLE audit_checkpoints (
    org_id    text        NOT NULL REFERENCES orgs (id),
    seq       bigint      NOT NULL,
    hash      bytea       NOT NULL,
    time      timestamptz NOT NULL,
    kid       text        NOT NULL,
    signature bytea       NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- Append-only: signet never changes or deletes an entry, an outcome or a
-- checkpoint. This stops mistakes, not an attacker who owns the database:
-- the hash chain and the signed checkpoints are what detect those.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_outcomes_append_only BEFORE UPDATE OR DELETE ON audit_outcomes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
