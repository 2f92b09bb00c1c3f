-- 0011: credential codes are spent only by success (issue 11).
-- /auth/credentials/code/init checks a credential code without spending
-- it; the credential its challenge's answer adds spends it, in one
-- transaction. Each refused answer counts here, and the code is deleted
-- when the count reaches auth.MaxCodeAttempts.
ALTER TABLE credential_codes ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
