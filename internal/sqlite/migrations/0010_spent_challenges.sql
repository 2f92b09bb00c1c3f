-- 0010: challenges are sealed, not stored (issue 13; internal/auth/seal.go).
-- Issuing one writes nothing; answering one records its id here, in the
-- same transaction as what the answer creates (login session, user action),
-- and the primary key makes it single use. A row is kept until
-- auth.SpentChallengeGrace after its challenge expired; after that the
-- sealed expiry alone refuses the challenge. Challenges still stored by an
-- older version are dropped: their clients get "Challenge token is not
-- valid." and ask again.
DROP TABLE challenges;

CREATE TABLE spent_challenges (
    id         TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Sweep.
CREATE INDEX spent_challenges_by_expiry ON spent_challenges (expires_at);
