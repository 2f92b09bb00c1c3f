-- 0017: PrincipalSigners answered from the replica-coherent cache too
-- (signercache.go; docs/performance.md "pgsigners").
--
-- PrincipalSigners reads, beside Principal's rows, every credential a token
-- signs with (signerread.go, principalSignersSQL): its user's own for a
-- login session, else the token's own. So the credentials trigger now
-- counts every column that read returns but sign_count (which moves on
-- every passkey signature and is never read from memory: a principal with
-- a passkey is not cached, signercache.go), and an INSERT: a user's new
-- credential must be usable at once, on every replica (the official SDK
-- creates a credential, then signs with it). The other tables the read
-- joins (access_tokens, users, orgs) are read through the same columns as
-- Principal's, which 0016's triggers already count.
DROP TRIGGER credentials_principal ON credentials;
CREATE TRIGGER credentials_principal
    AFTER INSERT
    OR UPDATE OF uuid, org_id, user_id, token_id, cred_id, kind, name, public_key, algorithm, is_active,
        rp_id, origin, created_at, encrypted_private_key
    OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION principal_changed();
