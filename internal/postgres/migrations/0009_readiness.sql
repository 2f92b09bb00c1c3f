-- 0009: the row /readyz writes to prove the database accepts writes
-- (issue 12). One row per replica name; each probe overwrites its own, so
-- replicas never wait on each other's probes.

CREATE TABLE readiness_probe (
    replica   text        NOT NULL PRIMARY KEY,
    probed_at timestamptz NOT NULL
);
