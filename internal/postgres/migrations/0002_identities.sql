-- 0002: what the management API of users, PATs, service accounts and
-- permissions needs (auth.IdentityStore).

-- Users carry the SSO flag and the caller's external id. The defaults fill
-- the existing rows and are dropped at once: as in 0001, an INSERT that
-- forgets a column fails instead of storing a default.
ALTER TABLE users
    ADD COLUMN is_sso_required boolean NOT NULL DEFAULT false,
    ADD COLUMN external_id     text    NOT NULL DEFAULT '';
ALTER TABLE users
    ALTER COLUMN is_sso_required DROP DEFAULT,
    ALTER COLUMN external_id DROP DEFAULT;

-- A PAT's name is unique among its user's unarchived PATs: archiving one
-- frees its name. (A service account's name is its username, unique by
-- users_org_username_key.)
CREATE UNIQUE INDEX access_tokens_pat_name_key ON access_tokens (org_id, user_id, name)
    WHERE kind = 'Pat' AND NOT is_archived;

-- ListAssignments: one permission's assignments, by id.
CREATE INDEX assignments_permission_idx ON assignments (org_id, permission_id, id);
