-- 0008: codes that nobody else can void (issue 11).
-- A user may hold several live registration or recovery codes: an
-- unauthenticated resend adds one beside the outstanding code instead of
-- replacing it. Each code counts the wrong guesses made against its user
-- and is deleted when they reach the bound (auth.MaxCodeAttempts).

ALTER TABLE registration_codes DROP CONSTRAINT registration_codes_pkey;
ALTER TABLE registration_codes ADD PRIMARY KEY (user_id, hash);
ALTER TABLE registration_codes ADD CONSTRAINT registration_codes_hash_check CHECK (length(hash) > 0);
ALTER TABLE registration_codes ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);

ALTER TABLE recovery_codes DROP CONSTRAINT recovery_codes_pkey;
ALTER TABLE recovery_codes ADD PRIMARY KEY (user_id, hash);
ALTER TABLE recovery_codes ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
