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
    action_id TEXT NOT NULL PRIMARY KEY REFERENCES actions (id) ON DELETE CASCADE,
    entry     TEXT NOT NULL
) STRICT;

CREATE TABLE audit_entries (
    org_id          TEXT    NOT NULL REFERENCES orgs (id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    id              TEXT    NOT NULL UNIQUE,
    time            INTEGER NOT NULL,
    user_id         TEXT    NOT NULL,
    username        TEXT    NOT NULL,
    credential_uuid TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    entry           TEXT    NOT NULL,
    hash            BLOB    NOT NULL,
    PRIMARY KEY (org_id, seq)
) STRICT;
-- AuditSummaries: an org's entries in a time range.
CREATE INDEX audit_entries_by_time ON audit_entries (org_id, time);

-- One head per org: the row every append reads and moves, so appends of one
-- org are serialised (SQLite has one writer anyway).
CREATE TABLE audit_heads (
    org_id TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id),
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL
) STRICT;

CREATE TABLE audit_outcomes (
    entry_id TEXT    NOT NULL PRIMARY KEY REFERENCES audit_entries (id),
    status   INTEGER NOT NULL,
    time     INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_checkpoints (
    org_id    TEXT    NOT NULL REFERENCES orgs (id),
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    time      INTEGER NOT NULL,
    kid       TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (org_id, seq)
) STRICT;

-- Append-only: signet never changes or deletes an entry, an outcome or a
-- checkpoint. This stops mistakes, not an attacker who owns the file: the
-- hash chain and the signed checkpoints are what detect those.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_outcomes_no_update BEFORE UPDATE ON audit_outcomes
BEGIN SELECT RAISE(ABORT, 'audit outcomes are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
