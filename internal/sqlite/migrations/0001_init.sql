-- 0001: the first schema of signet.
--
-- Conventions:
--   * times are INTEGER unix milliseconds, UTC; NULL only where the domain
--     has a *time.Time;
--   * booleans are INTEGER 0/1;
--   * optional ids are '' rather than NULL, as the domain's strings are;
--   * every table is STRICT, so a wrongly typed value fails instead of
--     being stored as something else.
--
-- Every record belongs to an org, and each foreign key to a user goes through
-- (org_id, user_id): the database itself refuses a row whose user is in
-- another org. Parents are never deleted, so no foreign key needs an index on
-- its child columns for ON DELETE checks; the indexes below serve lookups.

CREATE TABLE orgs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    org_id             TEXT    NOT NULL REFERENCES orgs (id),
    username           TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    is_active          INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    is_archived        INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
    is_registered      INTEGER NOT NULL CHECK (is_registered IN (0, 1)),
    is_service_account INTEGER NOT NULL CHECK (is_service_account IN (0, 1)),
    created_at         INTEGER NOT NULL,
    UNIQUE (org_id, username),
    UNIQUE (org_id, id) -- the parent key of every (org_id, user_id) foreign key
) STRICT;

-- At most one code per user: SetRegistrationCode replaces it.
CREATE TABLE registration_codes (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id),
    hash       BLOB    NOT NULL CHECK (length(hash) > 0), -- so no empty guess can match
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE credentials (
    uuid       TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    -- '' for the user's own credential. No foreign key: a PAT's credential
    -- and its token record are written by two calls, in either order.
    token_id   TEXT    NOT NULL,
    cred_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    public_key TEXT    NOT NULL,
    algorithm  TEXT    NOT NULL,
    is_active  INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    sign_count INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    rp_id      TEXT    NOT NULL,
    origin     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, cred_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
-- Credentials (token_id = '') and SetCredentialActive.
CREATE INDEX credentials_by_user ON credentials (org_id, user_id, token_id);
-- TokenCredentials.
CREATE INDEX credentials_by_token ON credentials (org_id, token_id) WHERE token_id <> '';

CREATE TABLE access_tokens (
    id              TEXT    NOT NULL PRIMARY KEY, -- Principal: by id, then org_id checked
    org_id          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    credential_uuid TEXT    NOT NULL, -- '' for none; no foreign key, as credentials.token_id
    permission_id   TEXT    NOT NULL, -- '' for none
    external_id     TEXT    NOT NULL,
    is_active       INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    is_archived     INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
-- RevokeSessions.
CREATE INDEX access_tokens_by_user ON access_tokens (org_id, user_id, kind);

-- A challenge may be issued before anyone knows whether its user exists
-- (login init answers alike for every username, spec 12.10), so user_id has
-- no foreign key; '' when there is no user.
CREATE TABLE challenges (
    id              TEXT    NOT NULL PRIMARY KEY,
    org_id          TEXT    NOT NULL REFERENCES orgs (id),
    user_id         TEXT    NOT NULL,
    token_id        TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    challenge       TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    payload_hash    BLOB,
    credential_kind TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
-- Sweep.
CREATE INDEX challenges_by_expiry ON challenges (expires_at);

CREATE TABLE actions (
    id              TEXT    NOT NULL PRIMARY KEY,
    token_hash      BLOB    NOT NULL UNIQUE CHECK (length(token_hash) > 0), -- UseAction
    org_id          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    token_id        TEXT    NOT NULL,
    credential_uuid TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    payload_hash    BLOB,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    used_at         INTEGER,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
-- Sweep.
CREATE INDEX actions_by_expiry ON actions (expires_at);

CREATE TABLE permissions (
    id           TEXT    NOT NULL PRIMARY KEY,
    org_id       TEXT    NOT NULL REFERENCES orgs (id),
    name         TEXT    NOT NULL,
    -- a JSON array of operation names
    operations   TEXT    NOT NULL CHECK (json_valid(operations) AND json_type(operations) = 'array'),
    is_immutable INTEGER NOT NULL CHECK (is_immutable IN (0, 1)),
    is_archived  INTEGER NOT NULL CHECK (is_archived IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (org_id, name), -- archived permissions keep their name
    UNIQUE (org_id, id)    -- the parent key of assignments
) STRICT;

-- identity_id is a user or a token id, so it has no foreign key.
CREATE TABLE assignments (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL,
    permission_id TEXT    NOT NULL,
    identity_id   TEXT    NOT NULL,
    is_immutable  INTEGER NOT NULL CHECK (is_immutable IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (org_id, identity_id, permission_id), -- Operations, Assignments
    FOREIGN KEY (org_id, permission_id) REFERENCES permissions (org_id, id)
) STRICT;

-- Token signing keys (internal/token): the seed is sealed by the caller.
CREATE TABLE signing_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    public     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;
-- At most one current (unretired) key.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
