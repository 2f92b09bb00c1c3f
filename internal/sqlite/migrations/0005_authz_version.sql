-- 0005: the org's authorization version (docs/performance.md, "Operations
-- cache"). Every write to permissions or assignments bumps authz_version of
-- the org it touches, inside the writing statement itself (a trigger), so
-- the bump commits or rolls back with the write and no code path can forget
-- it. Principal reads the version with the token; auth.Service caches an
-- identity's operations under (org, identity, version), so a change
-- committed anywhere is seen by the very next request on every replica
-- (spec 12.8-12.9). The version only grows; its value means nothing else.

ALTER TABLE orgs ADD COLUMN authz_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER permissions_authz_insert AFTER INSERT ON permissions BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER permissions_authz_update AFTER UPDATE ON permissions BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id IN (OLD.org_id, NEW.org_id);
END;
CREATE TRIGGER permissions_authz_delete AFTER DELETE ON permissions BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = OLD.org_id;
END;

CREATE TRIGGER assignments_authz_insert AFTER INSERT ON assignments BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER assignments_authz_update AFTER UPDATE ON assignments BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id IN (OLD.org_id, NEW.org_id);
END;
CREATE TRIGGER assignments_authz_delete AFTER DELETE ON assignments BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = OLD.org_id;
END;
