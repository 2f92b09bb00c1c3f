-- 0008: codes that nobody else can void (issue 11).
-- A user may hold several live registration or recovery codes: an
-- unauthenticated resend adds one beside the outstanding code instead of
-- replacing it. Each code counts the wrong guesses made against its user
-- and is deleted when they reach the bound (auth.MaxCodeAttempts).
-- SQLite cannot change a primary key in place: each table is rebuilt.

CREATE TABLE registration_codes_new (
    user_id    TEXT    NOT NULL REFERENCES users (id),
    hash       BLOB    NOT NULL CHECK (length(hash) > 0), -- so no empty guess can match
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    PRIMARY KEY (user_id, hash)
) STRICT;
INSERT INTO registration_codes_new (user_id, hash, expires_at)
    SELECT user_id, hash, expires_at FROM registration_codes;
DROP TABLE registration_codes;
ALTER TABLE registration_codes_new RENAME TO registration_codes;

CREATE TABLE recovery_codes_new (
    user_id    TEXT    NOT NULL REFERENCES users (id),
    hash       BLOB    NOT NULL CHECK (length(hash) > 0),
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    PRIMARY KEY (user_id, hash)
) STRICT;
INSERT INTO recovery_codes_new (user_id, hash, expires_at)
    SELECT user_id, hash, expires_at FROM recovery_codes;
DROP TABLE recovery_codes;
ALTER TABLE recovery_codes_new RENAME TO recovery_codes;
