-- 0013: the OpenID providers an org trusts for social login and SSO
-- (issue 14, docs/oidc.md). The client secret is sealed by the server
-- (internal/auth/seal.go) and bound to its org and id; it is never stored
-- in the clear. One provider per client id in an org: SSO names the
-- provider by its client id.
CREATE TABLE oidc_providers (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES orgs (id),
    issuer        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    sealed_secret TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (org_id, client_id)
) STRICT;
