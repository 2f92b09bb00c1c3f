-- 0016 (sqlwrite): one B-tree fewer per outcome.
--
-- audit_outcomes is keyed by a TEXT primary key and reached only by it: as
-- a rowid table every insert wrote the table and the implicit index of its
-- key, two B-trees. WITHOUT ROWID keeps the rows in the key's B-tree, so an
-- insert writes one; its rows are small (~60 bytes), where WITHOUT ROWID
-- pays (https://sqlite.org/withoutrowid.html). Measured: one page (~4 KiB
-- of WAL) less per signed request (docs/performance.md, "sqlwrite").
-- actions was tried the same way and left as it is: its rows (~250 bytes)
-- fill an index B-tree's pages fast, and the splits wrote about what the
-- dropped B-tree saved.
--
-- The table is rebuilt and renamed, every row copied unchanged; nothing
-- references it. Its append-only trigger goes with the old table and is
-- created again.
CREATE TABLE audit_outcomes_new (
    entry_id TEXT    NOT NULL PRIMARY KEY REFERENCES audit_entries (id),
    status   INTEGER NOT NULL,
    time     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO audit_outcomes_new SELECT entry_id, status, time FROM audit_outcomes;
DROP TABLE audit_outcomes;
ALTER TABLE audit_outcomes_new RENAME TO audit_outcomes;
CREATE TRIGGER audit_outcomes_no_update BEFORE UPDATE ON audit_outcomes
BEGIN SELECT RAISE(ABORT, 'audit outcomes are append-only'); END;
