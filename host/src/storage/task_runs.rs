//! Runs of scheduled tasks: one row per slot that came (run, queued,
//! skipped or missed), per run now, and per restart after a failure.
//!
//! The unique key on (task, trigger, nominal instant) keeps a slot from
//! being recorded, and so run, twice. Each running or queued run names its
//! owner, the process that runs it (see [`super::leases`]): only the owner
//! ends it, unless the owner's lease has lapsed, when any process may record
//! it as interrupted.

use super::leases::{self, Owner};
use crate::error::{Error, Result};
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Where a task run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for the run before it (queue one).
    Queued,
    /// Its actions are running (owned by the lease that started it).
    Running,
    /// Every action succeeded.
    Succeeded,
    /// An action failed.
    Failed,
    /// Not run: the overlap policy turned it away.
    Skipped,
    /// Not run: the host was down at the slot and the task does not catch up.
    Missed,
    /// The host stopped while it ran.
    Interrupted,
    /// Stopped at the task's time limit.
    TimedOut,
    /// Stopped before it finished: by a newer run (stop existing) or at the
    /// end of its trigger's repetition.
    Stopped,
}

names!(RunStatus, "run status", Queued => "queued", Running => "running", Succeeded => "succeeded",
    Failed => "failed", Skipped => "skipped", Missed => "missed", Interrupted => "interrupted",
    TimedOut => "timed_out", Stopped => "stopped");

impl RunStatus {
    /// Whether a run that ended so is restarted when its task says so.
    pub fn is_failure(self) -> bool {
        matches!(self, RunStatus::Failed | RunStatus::TimedOut)
    }
}

/// One run of a task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRun {
    /// Its number in the task's history.
    pub id: i64,
    /// The task it is a run of.
    pub task_id: i64,
    /// The trigger whose slot it is (none for a run now or a restart).
    pub trigger_id: Option<i64>,
    /// The slot's nominal instant.
    pub nominal_at: Timestamp,
    /// When it really started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Where it stands.
    pub status: RunStatus,
    /// Slots missed while the host was down that this run stands for.
    pub missed: i64,
    /// The first and last of those slots.
    pub missed_from: Option<Timestamp>,
    /// See `missed_from`.
    pub missed_until: Option<Timestamp>,
    /// 1 for a first run, 2 for its first restart after a failure, ...
    pub attempt: u32,
    /// The first run of the series a restart belongs to.
    pub retry_of: Option<i64>,
    /// When this failed run is to be restarted.
    pub retry_at: Option<Timestamp>,
    /// Why it ended as it did, for a person.
    pub detail: Option<String>,
    /// Who or what started it.
    pub started_by: String,
}

/// Slots missed while no host ran: how many, the first and the last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Missed {
    /// How many slots passed without a run (at most `MAX_COUNTED`).
    pub count: i64,
    /// The first, when there were any.
    pub from: Option<Timestamp>,
    /// The last, when there were any.
    pub until: Option<Timestamp>,
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The task to record a run of.
    pub task: i64,
    /// The trigger whose slot it is.
    pub trigger: Option<i64>,
    /// The slot's nominal instant.
    pub nominal: Timestamp,
    /// How it enters: running, queued, skipped or missed.
    pub status: RunStatus,
    /// Why, for one that does not run.
    pub detail: Option<&'a str>,
    /// When it is recorded: its start if it runs, its end if it does not.
    pub at: Timestamp,
    /// Slots it stands for that were missed.
    pub missed: Missed,
    /// Its attempt number and the first run of its series (restarts).
    pub attempt: u32,
    /// See `attempt`.
    pub retry_of: Option<i64>,
    /// Who or what started it.
    pub started_by: &'a str,
    /// The process that runs it.
    pub owner: &'a str,
}

/// Records a run. Returns `None` when its slot was recorded before: the
/// unique key is what keeps a slot from running twice.
pub fn record(conn: &Connection, run: &NewRun) -> Result<Option<i64>> {
    let (started, finished) = match run.status {
        RunStatus::Running => (Some(run.at), None),
        RunStatus::Queued => (None, None),
        _ => (None, Some(run.at)),
    };
    Ok(conn
        .prepare_cached(
            "INSERT INTO task_runs (task_id, trigger_id, nominal_at, started_at, finished_at, status,
                 detail, missed, missed_from, missed_until, attempt, retry_of, started_by, owner)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                run.task,
                run.trigger,
                run.nominal,
                started,
                finished,
                run.status.to_string(),
                run.detail,
                run.missed.count,
                run.missed.from,
                run.missed.until,
                run.attempt,
                run.retry_of,
                run.started_by,
                run.owner
            ],
            |r| r.get(0),
        )
        .optional()?)
}

/// Starts a queued run if no run of its task is going; returns whether it
/// started.
pub fn start_queued(conn: &Connection, run: i64, at: Timestamp) -> Result<bool> {
    let started = conn.execute(
        "UPDATE task_runs SET status = 'running', started_at = ?1 WHERE id = ?2 AND status = 'queued'
             AND NOT EXISTS (SELECT 1 FROM task_runs o WHERE o.task_id = task_runs.task_id
                             AND o.status = 'running')",
        params![at, run],
    )?;
    Ok(started == 1)
}

/// Ends a running or queued run with a status and a sentence saying why.
/// Returns false when it had already ended: a run another process recorded
/// as interrupted (its owner's lease lapsed) keeps that record.
pub fn finish(conn: &Connection, run: i64, status: RunStatus, detail: &str) -> Result<bool> {
    finish_at(conn, run, status, detail, time::now())
}

/// [`finish`] at a given instant (the scheduler's clock).
pub fn finish_at(
    conn: &Connection,
    run: i64,
    status: RunStatus,
    detail: &str,
    at: Timestamp,
) -> Result<bool> {
    let ended = conn.execute(
        "UPDATE task_runs SET status = ?, detail = ?, finished_at = ?
         WHERE id = ? AND status IN ('running', 'queued')",
        params![status.to_string(), detail, at, run],
    )?;
    Ok(ended == 1)
}

/// An owner's queued runs, oldest first: (task, run).
pub fn queued(conn: &Connection, owner: &str) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT task_id, id FROM task_runs WHERE status = 'queued' AND owner = ? ORDER BY id",
    )?;
    let rows = stmt.query_map([owner], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many of a task's runs have a status.
pub fn count(conn: &Connection, task: i64, status: RunStatus) -> Result<usize> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM task_runs WHERE task_id = ? AND status = ?")?
        .query_row(params![task, status.to_string()], |r| r.get(0))?)
}

/// A run in progress and the process running it, if its lease is known.
#[derive(Debug, Clone)]
pub struct Going {
    /// The task run in progress.
    pub run: i64,
    /// Who runs it.
    pub owner: Option<Owner>,
}

impl fmt::Display for Going {
    /// E.g. "run 12 (`b2b serve` on host la-01 (pid 4242))".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(owner) => write!(f, "run {} ({owner})", self.run),
            None => write!(f, "run {}", self.run),
        }
    }
}

/// A task's runs in progress, oldest first.
pub fn going(conn: &Connection, task: i64) -> Result<Vec<Going>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.id, {} FROM task_runs r LEFT JOIN scheduler_owners o ON o.id = r.owner
         WHERE r.task_id = ? AND r.status = 'running' ORDER BY r.id",
        leases::JOINED
    ))?;
    let rows = stmt.query_map([task], |r| {
        Ok(Going {
            run: r.get(0)?,
            owner: leases::joined(r, 1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Asks the owners of a task's running runs to stop them; returns the runs.
pub fn request_stop(conn: &Connection, task: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE task_runs SET stop_requested = 1 WHERE task_id = ? AND status = 'running' RETURNING id",
    )?;
    let rows = stmt.query_map([task], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// An owner's running runs that another process asked to stop.
pub fn stop_requested(conn: &Connection, owner: &str) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM task_runs WHERE owner = ? AND status = 'running' AND stop_requested = 1",
    )?;
    let rows = stmt.query_map([owner], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks a failed run to be restarted at `at`.
pub fn schedule_retry(conn: &Connection, run: i64, at: Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE task_runs SET retry_at = ? WHERE id = ?",
        params![at, run],
    )?;
    Ok(())
}

/// A failed run due to be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The failed run.
    pub run: i64,
    /// The task it is a run of.
    pub task: i64,
    /// Its attempt number.
    pub attempt: u32,
    /// The first run of its series.
    pub first: i64,
    /// When the restart is due.
    pub at: Timestamp,
}

/// Restarts of enabled tasks due at or before `now`, earliest first.
pub fn due_retries(conn: &Connection, now: Timestamp) -> Result<Vec<Retry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.task_id, r.attempt, COALESCE(r.retry_of, r.id), r.retry_at
         FROM task_runs r JOIN tasks t ON t.id = r.task_id
         WHERE r.retry_at IS NOT NULL AND r.retry_at <= ? AND t.enabled = 1 ORDER BY r.retry_at",
    )?;
    let rows = stmt.query_map([now], |r| {
        Ok(Retry {
            run: r.get(0)?,
            task: r.get(1)?,
            attempt: r.get(2)?,
            first: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Takes a due restart off its failed run; false when another process
/// took it first.
pub fn take_retry(conn: &Connection, run: i64) -> Result<bool> {
    let taken = conn.execute(
        "UPDATE task_runs SET retry_at = NULL WHERE id = ? AND retry_at IS NOT NULL",
        [run],
    )?;
    Ok(taken == 1)
}

/// The earliest restart due of an enabled task.
pub fn next_retry(conn: &Connection) -> Result<Option<Timestamp>> {
    Ok(conn.query_row(
        "SELECT MIN(r.retry_at) FROM task_runs r JOIN tasks t ON t.id = r.task_id
         WHERE r.retry_at IS NOT NULL AND t.enabled = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Whether [`recover_orphans`] has anything to do: a read, so that a
/// scheduler need not take the write lock to find out.
pub fn has_orphans(conn: &Connection, now_ms: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM task_runs r LEFT JOIN scheduler_owners o ON o.id = r.owner
                            WHERE r.status IN ('running', 'queued')
                              AND (o.id IS NULL OR o.expires_at_ms <= ?1))
                 OR EXISTS (SELECT 1 FROM scheduler_owners WHERE expires_at_ms <= ?1)",
        )?
        .query_row([now_ms], |r| r.get(0))?)
}

/// Runs left running or queued by processes whose lease has lapsed by
/// `now_ms` (or that never had one): running ones become interrupted, with
/// their action runs, queued ones skipped, and the lapsed leases are
/// forgotten. Returns how many runs were interrupted. A run of a live
/// owner is never touched.
pub fn recover_orphans(conn: &Connection, now_ms: i64) -> Result<usize> {
    let orphans: Vec<(i64, String, Option<Owner>)> = conn
        .prepare_cached(&format!(
            "SELECT r.id, r.status, {} FROM task_runs r LEFT JOIN scheduler_owners o ON o.id = r.owner
             WHERE r.status IN ('running', 'queued') AND (o.id IS NULL OR o.expires_at_ms <= ?)",
            leases::JOINED
        ))?
        .query_map([now_ms], |r| Ok((r.get(0)?, r.get(1)?, leases::joined(r, 2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut interrupted = Vec::new();
    for (run, status, owner) in orphans {
        let whose = match owner {
            Some(owner) => format!(
                "{owner}, which ran it, stopped without recording how it ended; its lease lapsed at {}",
                leases::display_ms(owner.expires_at_ms)
            ),
            None => "the b2b process running it stopped without recording how it ended".to_owned(),
        };
        if status == "running" {
            finish(conn, run, RunStatus::Interrupted, &whose)?;
            interrupted.push(run);
        } else {
            finish(
                conn,
                run,
                RunStatus::Skipped,
                &format!("it never started: {whose}"),
            )?;
        }
    }
    interrupt_actions(conn, &interrupted)?;
    leases::forget_lapsed(conn, now_ms)?;
    Ok(interrupted.len())
}

/// The action runs of interrupted task runs that are still marked running.
fn interrupt_actions(conn: &Connection, runs: &[i64]) -> Result<()> {
    conn.execute(
        "UPDATE action_runs SET status = 'interrupted', finished_at = ?,
             error = 'the host stopped while this run was in progress; its changes were rolled back'
         WHERE status = 'running' AND task_run_id IN (SELECT value FROM json_each(?))",
        params![time::now(), super::id_list(runs)],
    )?;
    Ok(())
}

/// Ends every run an owner still has going or waiting, as it stops: what
/// runs becomes interrupted (with `detail`), what waits is skipped.
pub fn abandon(conn: &Connection, owner: &str, detail: &str) -> Result<usize> {
    let now = time::now();
    let interrupted: Vec<i64> = conn
        .prepare_cached(
            "UPDATE task_runs SET status = 'interrupted', finished_at = ?, detail = ?
             WHERE owner = ? AND status = 'running' RETURNING id",
        )?
        .query_map(params![now, detail, owner], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    interrupt_actions(conn, &interrupted)?;
    conn.execute(
        "UPDATE task_runs SET status = 'skipped', finished_at = ?,
             detail = 'the host stopped before it could run'
         WHERE owner = ? AND status = 'queued'",
        params![now, owner],
    )?;
    Ok(interrupted.len())
}

const RUN_COLUMNS: &str = "id, task_id, trigger_id, nominal_at, started_at, finished_at, status, \
     missed, missed_from, missed_until, attempt, retry_of, retry_at, detail, started_by";

fn run_from_row(r: &rusqlite::Row) -> rusqlite::Result<TaskRun> {
    let status: String = r.get(6)?;
    Ok(TaskRun {
        id: r.get(0)?,
        task_id: r.get(1)?,
        trigger_id: r.get(2)?,
        nominal_at: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        status: status.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?,
        missed: r.get(7)?,
        missed_from: r.get(8)?,
        missed_until: r.get(9)?,
        attempt: r.get(10)?,
        retry_of: r.get(11)?,
        retry_at: r.get(12)?,
        detail: r.get(13)?,
        started_by: r.get(14)?,
    })
}

/// A task's runs, newest first.
pub fn history(conn: &Connection, task: i64, limit: u32) -> Result<Vec<TaskRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?"
    ))?;
    let rows = stmt.query_map(params![task, limit], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One task run, or a message naming the command that lists them.
pub fn get(conn: &Connection, id: i64) -> Result<TaskRun> {
    conn.query_row(
        &format!("SELECT {RUN_COLUMNS} FROM task_runs WHERE id = ?"),
        [id],
        run_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found(format!("no task run {id}")))
}

/// Drops a task's finished runs older than `max_age` seconds or beyond the
/// newest `max_runs`, keeping any still to be restarted. Returns how many went.
pub fn prune(conn: &Connection, task: i64, max_age: i64, max_runs: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM task_runs WHERE task_id = ?1 AND status NOT IN ('running', 'queued')
             AND retry_at IS NULL AND (
             COALESCE(finished_at, nominal_at) < ?2
             OR id NOT IN (SELECT id FROM task_runs WHERE task_id = ?1 ORDER BY id DESC LIMIT ?3))",
        params![task, time::now() - max_age, max_runs],
    )?)
}
