-- 0003: account recovery and credential codes (auth.RecoveryStore,
-- auth.CredentialCodeStore).

-- A RecoveryKey keeps the private key its client encrypted, handed back at
-- recovery; '' for every other credential. The default fills existing rows
-- and is dropped at once, as in 0002.
ALTER TABLE credentials ADD COLUMN encrypted_private_key text NOT NULL DEFAULT '';
ALTER TABLE credentials ALTER COLUMN encrypted_private_key DROP DEFAULT;

-- One live recovery code per user; only its hash is stored.
CREATE TABLE recovery_codes (
    user_id    text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea NOT NULL CHECK (length(hash) > 0),
    expires_at timestamptz NOT NULL
);

-- Credential codes are found by hash alone (code/init names no org).
CREATE TABLE credential_codes (
    hash       bytea PRIMARY KEY CHECK (length(hash) > 0),
    org_id     text NOT NULL,
    user_id    text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT credential_codes_user_fkey FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
-- The clean-up in CreateCredentialCode.
CREATE INDEX credential_codes_expiry_idx ON credential_codes (expires_at);
