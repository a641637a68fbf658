-- Schema version 7: who runs tasks (leases), missed ranges, restarts on
-- failure, random delays and tasks deleted after they expire (docs/architecture.md,
-- "Crashes and several processes"; storage/leases.rs, storage/task_runs.rs).

-- Every process that runs tasks holds a lease here and renews it while it
-- lives: `b2b serve` (role `serve`; at most one, the database's holder) and
-- `b2b task run` (role `run`). A run whose owner's lease has lapsed is
-- running nowhere, so it may be marked interrupted; a live owner's never is.
CREATE TABLE scheduler_owners (
    id            TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('serve', 'run')),
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    renewed_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX scheduler_one_serve ON scheduler_owners(role) WHERE role = 'serve';

-- The owner that runs (or queued) it; NULL for runs recorded before leases,
-- which count as orphaned.
ALTER TABLE task_runs ADD COLUMN owner TEXT;
-- Another process asked its owner to stop it (overlap: stop existing).
ALTER TABLE task_runs ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;
-- The first and last of the `missed` slots it stands for.
ALTER TABLE task_runs ADD COLUMN missed_from INTEGER;
ALTER TABLE task_runs ADD COLUMN missed_until INTEGER;
-- Restarts on failure: the attempt number, the first run of the series,
-- and when a failed run is to be restarted (NULL once it was, or never).
ALTER TABLE task_runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE task_runs ADD COLUMN retry_of INTEGER REFERENCES task_runs(id) ON DELETE SET NULL;
ALTER TABLE task_runs ADD COLUMN retry_at INTEGER;
CREATE INDEX task_runs_live ON task_runs(status) WHERE status IN ('running', 'queued');
CREATE INDEX task_runs_retry ON task_runs(retry_at) WHERE retry_at IS NOT NULL;

-- When the next slot is due: its nominal instant plus the trigger's random delay.
ALTER TABLE task_triggers ADD COLUMN due_at INTEGER;
UPDATE task_triggers SET due_at = next_fire_at;
CREATE INDEX task_triggers_due_at ON task_triggers(due_at);

ALTER TABLE tasks ADD COLUMN restart_times INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN restart_every_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN delete_expired_after_days INTEGER;
-- When every trigger has ended (NULL: it never does).
ALTER TABLE tasks ADD COLUMN expires_at INTEGER;
