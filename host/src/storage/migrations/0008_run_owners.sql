-- Schema version 8: every run has an owner, so what a crashed process left
-- behind is found and ended, and what a live one is doing is never touched.

-- The lease (scheduler_owners.id) of the process running the action.
ALTER TABLE action_runs ADD COLUMN owner TEXT;

-- Where a lease's process runs, as this host tells processes apart
-- (host name and pid namespace): a process there whose pid is gone is dead
-- at once, without waiting for its lease to lapse.
ALTER TABLE scheduler_owners ADD COLUMN machine TEXT;

-- What recovery looks for.
CREATE INDEX action_runs_running ON action_runs(status) WHERE status = 'running';
CREATE INDEX import_files_open ON import_files(status) WHERE status IN ('queued', 'processing');
