-- 0003: account recovery and credential codes (auth.RecoveryStore,
-- auth.CredentialCodeStore).

-- A RecoveryKey keeps the private key its client encrypted, handed back at
-- recovery; '' for every other credential.
ALTER TABLE credentials ADD COLUMN encrypted_private_key TEXT NOT NULL DEFAULT '';

-- At most one recovery code per user: SetRecoveryCode replaces it.
CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id),
    hash       BLOB    NOT NULL CHECK (length(hash) > 0), -- so no empty guess can match
    expires_at INTEGER NOT NULL
) STRICT;

-- Credential codes are found by hash alone (code/init names no org).
CREATE TABLE credential_codes (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) > 0),
    org_id     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
-- The clean-up in CreateCredentialCode.
CREATE INDEX credential_codes_by_expiry ON credential_codes (expires_at);
