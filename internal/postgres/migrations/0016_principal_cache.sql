-- 0016: the replica-coherent Principal cache (principalcache.go, members.go,
-- fence.go; docs/performance.md "pgcache").
--
-- cache_members lists the replicas that answer Principal from memory: one
-- row per listener session, whose lease (by the database clock) its
-- listener renews. A writer's fence waits for every live member to
-- acknowledge, or for its lease to run out, before a change is answered.
CREATE TABLE cache_members (
    id          text PRIMARY KEY,
    lease_until timestamptz NOT NULL,
    lease_ms    bigint NOT NULL CHECK (lease_ms > 0)
);

-- principal_changed tells every member that a row Principal reads may have
-- changed: a notification on the schema's channel, sent at commit (and not
-- at all on rollback), in commit order. Statement level: one notification
-- per statement, whatever the rows, and PostgreSQL folds equal ones of one
-- transaction into one.
CREATE FUNCTION principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('signet_pc_' || md5(TG_TABLE_SCHEMA), TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- The columns Principal's join reads (tokens.go, principalColumns, From and
-- Where). An INSERT needs no notification: only found principals are cached,
-- each row by its primary key, and no insert can change such an answer. An
-- UPDATE of other columns (credentials.sign_count on every signature, a
-- token's name) fires nothing.
CREATE TRIGGER access_tokens_principal
    AFTER UPDATE OF id, org_id, user_id, kind, credential_uuid, permission_id, is_active, is_archived, expires_at
    OR DELETE OR TRUNCATE ON access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION principal_changed();
CREATE TRIGGER users_principal
    AFTER UPDATE OF id, org_id, username, kind, is_active, is_archived
    OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION principal_changed();
CREATE TRIGGER orgs_principal
    AFTER UPDATE OF id, authz_version
    OR DELETE OR TRUNCATE ON orgs
    FOR EACH STATEMENT EXECUTE FUNCTION principal_changed();
CREATE TRIGGER credentials_principal
    AFTER UPDATE OF uuid, org_id, user_id, is_active
    OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION principal_changed();
