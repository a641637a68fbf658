-- Schema version 3: scheduled tasks (docs/architecture.md, "Scheduling").

CREATE TABLE tasks (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    description            TEXT NOT NULL DEFAULT '',
    owner                  TEXT NOT NULL,
    enabled                INTEGER NOT NULL DEFAULT 1,
    time_zone              TEXT NOT NULL DEFAULT 'Europe/London',
    overlap                TEXT NOT NULL DEFAULT 'ignore_new'
                           CHECK (overlap IN ('ignore_new', 'queue_one', 'parallel', 'stop_existing')),
    time_limit_secs        INTEGER NOT NULL DEFAULT 259200,
    catch_up               INTEGER NOT NULL DEFAULT 0,
    starting_deadline_secs INTEGER NOT NULL DEFAULT 86400,
    updated_by             TEXT NOT NULL,
    updated_at             INTEGER NOT NULL
);

-- When a task fires; `spec` is a trigger as JSON (scheduler/trigger.rs).
-- `next_fire_at` is the next nominal instant (UTC), NULL when it never fires again.
CREATE TABLE task_triggers (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    spec         TEXT NOT NULL,
    next_fire_at INTEGER
);
CREATE INDEX task_triggers_due ON task_triggers(next_fire_at);

-- What a task does, in order.
CREATE TABLE task_actions (
    id         INTEGER PRIMARY KEY,
    task_id    INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    plugin_id  TEXT NOT NULL,
    params     TEXT NOT NULL,
    on_failure TEXT NOT NULL DEFAULT 'stop' CHECK (on_failure IN ('stop', 'continue'))
);

-- One row per slot of a task (or per manual run, trigger_id NULL). The
-- unique key means a slot is recorded, and so run, at most once.
CREATE TABLE task_runs (
    id          INTEGER PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    trigger_id  INTEGER,
    nominal_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped',
                                                'missed', 'interrupted', 'timed_out', 'stopped')),
    missed      INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    started_by  TEXT NOT NULL,
    UNIQUE (task_id, trigger_id, nominal_at)
);
CREATE INDEX task_runs_task ON task_runs(task_id, id);

ALTER TABLE action_runs ADD COLUMN task_run_id INTEGER REFERENCES task_runs(id) ON DELETE SET NULL;
