-- 0016 (sqlwrite): fewer B-trees per write on the signed-request path.
--
-- actions and audit_outcomes are keyed by a TEXT primary key and reached by
-- it (or, for actions, by an index that leads to it): as rowid tables each
-- insert wrote the table and the implicit index of its key, two B-trees.
-- WITHOUT ROWID stores the rows in the key's B-tree, so an insert writes
-- one. Their rows are small (an outcome ~60 bytes, an action ~250), which
-- is where WITHOUT ROWID pays (https://sqlite.org/withoutrowid.html).
-- action_evidence keeps its rowid: its rows are audit entries of a few KB.
--
-- Tables are rebuilt and renamed, and every row copied unchanged. Foreign
-- keys are on during a migration, and dropping actions would delete the
-- rows of action_evidence through its ON DELETE CASCADE: action_evidence
-- is rebuilt too and the old one dropped first. Renaming actions_new
-- rewrites the reference of action_evidence_new to it.

CREATE TABLE actions_new (
    id              TEXT    NOT NULL PRIMARY KEY,
    token_hash      BLOB    NOT NULL UNIQUE CHECK (length(token_hash) > 0), -- UseAction
    org_id          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    token_id        TEXT    NOT NULL,
    credential_uuid TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    payload_hash    BLOB,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    used_at         INTEGER,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT, WITHOUT ROWID;
INSERT INTO actions_new SELECT id, token_hash, org_id, user_id, token_id, credential_uuid, method, path, query,
    payload_hash, expires_at, created_at, used_at FROM actions;

CREATE TABLE action_evidence_new (
    action_id TEXT NOT NULL PRIMARY KEY REFERENCES actions_new (id) ON DELETE CASCADE,
    entry     TEXT NOT NULL
) STRICT;
INSERT INTO action_evidence_new SELECT action_id, entry FROM action_evidence;

DROP TABLE action_evidence;
DROP TABLE actions;
ALTER TABLE actions_new RENAME TO actions;
ALTER TABLE action_evidence_new RENAME TO action_evidence;
-- Sweep.
CREATE INDEX actions_by_expiry ON actions (expires_at);

CREATE TABLE audit_outcomes_new (
    entry_id TEXT    NOT NULL PRIMARY KEY REFERENCES audit_entries (id),
    status   INTEGER NOT NULL,
    time     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO audit_outcomes_new SELECT entry_id, status, time FROM audit_outcomes;
DROP TABLE audit_outcomes;
ALTER TABLE audit_outcomes_new RENAME TO audit_outcomes;
-- Append-only, as in 0004 (the trigger went with the old table).
CREATE TRIGGER audit_outcomes_no_update BEFORE UPDATE ON audit_outcomes
BEGIN SELECT RAISE(ABORT, 'audit outcomes are append-only'); END;
