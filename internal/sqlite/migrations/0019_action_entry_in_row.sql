-- 0019 (dfnscpu): an action's pending audit entry is a column of its row.
--
-- Action complete wrote the action and, beside it, its pending entry (the
-- identity, the credential and the assertion as received) into
-- action_evidence, a rowid table with an index on its key: two statements
-- (the insert also checked its foreign key to actions) and two B-trees
-- more in every completion's commit, and the signed request's use read the
-- entry back with a statement of its own after spending the action. In the
-- action's row the entry is written by the action's insert and comes back
-- with the use's UPDATE ... RETURNING: one statement and two B-trees fewer
-- per Dfns flow (docs/performance.md, "dfnscpu"). A NULL entry is an action
-- without one (the audit log off), as a missing action_evidence row was;
-- the sweep's delete of an action takes its entry with it, as the cascade
-- did.
--
-- Entries of actions in flight move into their rows unchanged.
ALTER TABLE actions ADD COLUMN entry TEXT;
UPDATE actions SET entry = (SELECT e.entry FROM action_evidence e WHERE e.action_id = actions.id)
    WHERE id IN (SELECT action_id FROM action_evidence);
DROP TABLE action_evidence;
