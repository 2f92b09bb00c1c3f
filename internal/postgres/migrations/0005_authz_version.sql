-- 0005: the org's authorization version (docs/performance.md, "Operations
-- cache"). Every write to permissions or assignments bumps authz_version of
-- the org it touches, in a row trigger, so the bump commits or rolls back
-- with the write and no code path can forget it. Principal reads the version
-- with the token; auth.Service caches an identity's operations under (org,
-- identity, version), so a change committed anywhere is seen by the very
-- next request on every replica (spec 12.8-12.9). The version only grows;
-- its value means nothing else.
--
-- The bump row-locks the org (FOR NO KEY UPDATE, which does not conflict
-- with the key-share locks foreign keys take) until commit, so permission
-- and assignment writes of one org take turns. A transaction that writes
-- other rows too makes its permission/assignment write last (CreateLongLived)
-- or works on an org no one else can see yet (CreateOrg), so the wait for
-- the org's row cannot be part of a deadlock.

ALTER TABLE orgs ADD COLUMN authz_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_authz_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE orgs SET authz_version = authz_version + 1 WHERE id = NEW.org_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE orgs SET authz_version = authz_version + 1 WHERE id = OLD.org_id;
    ELSE
        UPDATE orgs SET authz_version = authz_version + 1 WHERE id IN (OLD.org_id, NEW.org_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER permissions_authz_version AFTER INSERT OR UPDATE OR DELETE ON permissions
    FOR EACH ROW EXECUTE FUNCTION bump_authz_version();
CREATE TRIGGER assignments_authz_version AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION bump_authz_version();
