-- 0007: the request target of each audit entry, as received (issue 10).
-- The entry's JSON (audit.Entry.Target, covered by its hash) is the record;
-- this column copies it for listings, like method and path. Entries
-- appended before 0007 have no target: '' here, none in their JSON, and
-- their hash is computed as before (audit.Entry.ComputeHash), so old chains
-- keep verifying. ALTER TABLE ADD COLUMN does not fire the append-only
-- triggers: no row is updated.
ALTER TABLE audit_entries ADD COLUMN target TEXT NOT NULL DEFAULT '';
