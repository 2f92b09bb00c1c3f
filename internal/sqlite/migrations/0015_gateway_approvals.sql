-- 0015: approvals in gateway mode and approvals a crash interrupted
-- (docs/policies.md).
--
-- An approval's result: why it failed (outcome_reason) and, for a gateway
-- request forwarded on approval, the upstream's status code
-- (upstream_status, 0 when none).
ALTER TABLE approvals ADD COLUMN outcome_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN upstream_status INTEGER NOT NULL DEFAULT 0;
-- The maintenance loop's read: approvals resolved Approved whose outcome
-- was never recorded (the replica that resolved them stopped).
CREATE INDEX approvals_unfinished ON approvals (updated_at) WHERE status = 'Approved' AND outcome = '';

-- A policy write bumps its org's authorization version like a permission
-- or assignment write (0005), so that the gateway caches an org's policies
-- under the version Authenticate reads with the token: a policy change
-- committed on any replica is seen by the next request everywhere.
CREATE TRIGGER policies_authz_insert AFTER INSERT ON policies BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER policies_authz_update AFTER UPDATE ON policies BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id IN (OLD.org_id, NEW.org_id);
END;
CREATE TRIGGER policies_authz_delete AFTER DELETE ON policies BEGIN
    UPDATE orgs SET authz_version = authz_version + 1 WHERE id = OLD.org_id;
END;
