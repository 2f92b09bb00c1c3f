-- 0009: the row /readyz writes to prove the database accepts writes
-- (issue 12). One row per replica name; each probe overwrites its own.

CREATE TABLE readiness_probe (
    replica   TEXT    NOT NULL PRIMARY KEY,
    probed_at INTEGER NOT NULL
) STRICT;
