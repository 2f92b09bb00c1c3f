-- 0002: what the management API of users, PATs, service accounts and
-- permissions needs (auth.IdentityStore).

-- Users carry the SSO flag and the caller's external id. Existing users get
-- the values the API shows for "not set".
ALTER TABLE users ADD COLUMN is_sso_required INTEGER NOT NULL DEFAULT 0 CHECK (is_sso_required IN (0, 1));
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';

-- A PAT's name is unique among its user's unarchived PATs: archiving one
-- frees its name. (A service account's name is its username, unique by
-- users (org_id, username).)
CREATE UNIQUE INDEX access_tokens_pat_name ON access_tokens (org_id, user_id, name)
    WHERE kind = 'Pat' AND NOT is_archived;

-- ListAssignments: one permission's assignments, by id.
CREATE INDEX assignments_by_permission ON assignments (org_id, permission_id, id);
