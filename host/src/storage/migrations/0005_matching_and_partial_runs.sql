-- Schema version 5: matching never crosses a disagreeing UPN, near matches
-- name their candidates, and a run where part of the work failed says so.

-- The UPN the source sent when an external id was linked to a held pupil. An
-- import that later sends the same id with a UPN the held pupil does not
-- have goes to a person, unless a person linked the id with that UPN.
ALTER TABLE external_ids ADD COLUMN upn TEXT;

-- Held pupils a matching rule nearly chose for an unmatched record, with why
-- it did not: JSON `[{"student_id": 1, "reason": "..."}]`.
ALTER TABLE unmatched ADD COLUMN candidates TEXT;

-- Former UPNs take part in matching, so they are looked up by index.
CREATE INDEX students_former_upn ON students(former_upn);

-- `partial`: the plugin reported, but part of its work failed (an import
-- where some schools' files failed while the others were applied). SQLite
-- cannot change a CHECK in place, so the table is rebuilt.
CREATE TABLE action_runs_v5 (
    id             INTEGER PRIMARY KEY,
    plugin_id      TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    params         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    status         TEXT NOT NULL
                   CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    examined       INTEGER,
    changed        INTEGER,
    skipped        INTEGER,
    summary        TEXT,
    error          TEXT,
    log            TEXT NOT NULL DEFAULT '',
    task_run_id    INTEGER REFERENCES task_runs(id) ON DELETE SET NULL
);
INSERT INTO action_runs_v5 (id, plugin_id, plugin_version, params, actor, started_at, finished_at,
                            status, examined, changed, skipped, summary, error, log, task_run_id)
    SELECT id, plugin_id, plugin_version, params, actor, started_at, finished_at,
           status, examined, changed, skipped, summary, error, log, task_run_id
    FROM action_runs;
DROP TABLE action_runs;
ALTER TABLE action_runs_v5 RENAME TO action_runs;
CREATE INDEX action_runs_plugin ON action_runs(plugin_id, id);
CREATE INDEX action_runs_task_run ON action_runs(task_run_id);
