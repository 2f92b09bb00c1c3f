-- 0012: login codes (auth.LoginCodeStore, issue 14): mailed by
-- /auth/login/code, they unlock a user's PasswordProtectedKey credentials
-- at /auth/login/init. The shape of registration and recovery codes (0008):
-- several per user, only the hash stored, wrong guesses counted.
-- PasswordProtectedKey credentials need no schema change: their encrypted
-- private key lives in credentials.encrypted_private_key (0003).
CREATE TABLE login_codes (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea NOT NULL CHECK (length(hash) > 0),
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    PRIMARY KEY (user_id, hash)
);
