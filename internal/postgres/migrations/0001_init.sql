-- 0001: the initial schema. Migrations are forward-only: never edit a
-- released file, add the next number instead.
--
-- Tables are created unqualified, so they land in the first schema of the
-- connection's search_path (set it in the URL to isolate an installation).
-- Empty strings mean "none" in text columns that are not foreign keys;
-- nullable bytea and text[] columns keep nil apart from empty. Foreign keys
-- to a user or a permission include org_id, so a row can never point into
-- another org.

CREATE TABLE orgs (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id                 text PRIMARY KEY,
    org_id             text NOT NULL REFERENCES orgs (id),
    username           text NOT NULL,
    kind               text NOT NULL,
    is_active          boolean NOT NULL,
    is_archived        boolean NOT NULL,
    is_registered      boolean NOT NULL,
    is_service_account boolean NOT NULL,
    created_at         timestamptz NOT NULL,
    CONSTRAINT users_org_username_key UNIQUE (org_id, username),
    CONSTRAINT users_org_id_key UNIQUE (org_id, id) -- target of (org_id, user_id) keys
);

-- One live code per user; only its hash is stored.
CREATE TABLE registration_codes (
    user_id    text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea NOT NULL,
    expires_at timestamptz NOT NULL
);

-- token_id = '' for a user's own credential; else the PAT or service-account
-- token it belongs to (no foreign key: either may be written first).
-- cred_id is the client's id, kept byte for byte (bytea: it may hold NUL).
CREATE TABLE credentials (
    uuid       text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id),
    user_id    text NOT NULL,
    token_id   text NOT NULL,
    cred_id    bytea NOT NULL,
    kind       text NOT NULL,
    name       text NOT NULL,
    public_key text NOT NULL,
    algorithm  text NOT NULL,
    is_active  boolean NOT NULL,
    sign_count bigint NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    rp_id      text NOT NULL,
    origin     text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT credentials_org_cred_id_key UNIQUE (org_id, cred_id),
    CONSTRAINT credentials_user_fkey FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX credentials_user_idx ON credentials (org_id, user_id) WHERE token_id = '';
CREATE INDEX credentials_token_idx ON credentials (org_id, token_id) WHERE token_id <> '';

-- Records of issued bearer tokens, never the tokens themselves.
CREATE TABLE access_tokens (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES orgs (id),
    user_id         text NOT NULL,
    kind            text NOT NULL,
    name            text NOT NULL,
    credential_uuid text NOT NULL,
    permission_id   text NOT NULL,
    external_id     text NOT NULL,
    is_active       boolean NOT NULL,
    is_archived     boolean NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT access_tokens_user_fkey FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX access_tokens_user_kind_idx ON access_tokens (org_id, user_id, kind);

-- Single-use, short-lived; swept by expires_at. A login challenge may be
-- issued before its user is known: user_id is NULL then.
CREATE TABLE challenges (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES orgs (id),
    user_id         text,
    token_id        text NOT NULL,
    purpose         text NOT NULL,
    challenge       text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    query           text NOT NULL,
    payload_hash    bytea,
    credential_kind text NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT challenges_user_fkey FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX challenges_expires_idx ON challenges (expires_at);

CREATE TABLE actions (
    id              text PRIMARY KEY,
    token_hash      bytea NOT NULL,
    org_id          text NOT NULL REFERENCES orgs (id),
    user_id         text NOT NULL,
    token_id        text NOT NULL,
    credential_uuid text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    query           text NOT NULL,
    payload_hash    bytea,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    used_at         timestamptz,
    CONSTRAINT actions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT actions_user_fkey FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX actions_expires_idx ON actions (expires_at);

-- Names stay unique among archived permissions too.
CREATE TABLE permissions (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES orgs (id),
    name         text NOT NULL,
    operations   text[],
    is_immutable boolean NOT NULL,
    is_archived  boolean NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT permissions_org_name_key UNIQUE (org_id, name),
    CONSTRAINT permissions_org_id_key UNIQUE (org_id, id) -- target of assignments' key
);

-- identity_id is a user, service account or PAT token id, so no foreign key.
CREATE TABLE assignments (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES orgs (id),
    permission_id text NOT NULL,
    identity_id   text NOT NULL,
    is_immutable  boolean NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT assignments_permission_identity_key UNIQUE (permission_id, identity_id),
    CONSTRAINT assignments_permission_fkey FOREIGN KEY (org_id, permission_id) REFERENCES permissions (org_id, id)
);
CREATE INDEX assignments_identity_idx ON assignments (org_id, identity_id);

-- Token signing keys; sealed holds the private key encrypted by the caller.
CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    sealed     bytea,
    public     bytea,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
