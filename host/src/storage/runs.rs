//! Action runs: one row per run of a plugin, with its report and log.
//!
//! A run is recorded as `running` before the plugin starts, in its own
//! transaction, so that a crash mid-run still leaves a trace; it is finished
//! afterwards with its outcome and log.

use crate::error::{Error, Result};
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A run's counts as the plugin reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows looked at.
    pub examined: u64,
    /// Rows the run changed (or would change, in a dry run).
    pub changed: u64,
    /// Rows left as they were.
    pub skipped: u64,
}

/// One run of an action plugin, as the history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Its number in the history (`b2b runs show ID`).
    pub id: i64,
    /// The plugin run.
    pub plugin_id: String,
    /// The plugin's version at the time, which may since have changed.
    pub plugin_version: String,
    /// Parameters as `[[name, value], ...]` JSON.
    pub params: String,
    /// Who started it.
    pub actor: String,
    /// When it was recorded as running.
    pub started_at: Timestamp,
    /// When its outcome was recorded; none while it runs (or if its process
    /// died before recovery found it).
    pub finished_at: Option<Timestamp>,
    /// `running`, `succeeded`, `partial`, `failed` or `interrupted`.
    pub status: String,
    /// Counts (runs that reported only: succeeded or partial).
    pub counts: Option<Counts>,
    /// The plugin's summary.
    pub summary: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The captured log.
    pub log: String,
}

/// How a finished run ended, as scripts and people read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It reported success and everything it did was kept.
    Succeeded,
    /// It reported, but part of its work failed (some schools' import
    /// files); the rest was kept. Never shown as success.
    Partial,
    /// It failed; nothing of it was kept but the import files it finished.
    Failed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It reported counts and a summary; its changes were committed.
    Succeeded {
        /// What it reported it examined, changed and skipped.
        counts: Counts,
        /// Its summary, with the host's account of its import files.
        summary: String,
    },
    /// It reported counts and a summary and its changes were committed, but
    /// part of its work failed (the summary says which).
    Partial {
        /// What it reported it examined, changed and skipped.
        counts: Counts,
        /// Summary, naming what failed.
        summary: String,
    },
    /// It failed; its changes were rolled back.
    Failed {
        /// Why, and what of it was kept.
        error: String,
    },
}

/// A run about to start.
pub struct Starting<'a> {
    /// The plugin to run.
    pub plugin_id: &'a str,
    /// Its installed version, kept with the run.
    pub version: &'a str,
    /// Its parameters as `[[name, value], ...]` JSON.
    pub params: &'a str,
    /// Who started it.
    pub actor: &'a str,
    /// The task run it is part of, if any.
    pub task_run: Option<i64>,
    /// The lease of the process running it (see `leases`).
    pub owner: &'a str,
}

/// Records the start of a run; returns its id.
pub fn start(conn: &Connection, run: &Starting) -> Result<i64> {
    conn.execute(
        "INSERT INTO action_runs (plugin_id, plugin_version, params, actor, started_at, status, task_run_id, owner)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
        params![
            run.plugin_id,
            run.version,
            run.params,
            run.actor,
            time::now(),
            run.task_run,
            run.owner
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Whether the run is still recorded as running: false once another
/// process found its owner dead and recorded it interrupted.
pub fn is_running(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT status = 'running' FROM action_runs WHERE id = ?")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Records as interrupted the runs outside any task that are still marked
/// running though the process running them is gone (its lease lapsed or was
/// ended, or it ran before runs had owners). Task runs' own action runs are
/// ended with their task run. Returns how many.
pub fn interrupt_orphans(conn: &Connection, now_ms: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE action_runs SET status = 'interrupted', finished_at = ?2,
             error = 'the b2b process running it stopped (killed or crashed) without recording how it ended; nothing it did was kept but the import files it finished'
         WHERE status = 'running' AND task_run_id IS NULL
           AND (owner IS NULL OR owner NOT IN (SELECT id FROM scheduler_owners WHERE expires_at_ms > ?1))",
        params![now_ms, time::now()],
    )?)
}

impl Outcome {
    /// How the run ended.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Succeeded { .. } => Status::Succeeded,
            Outcome::Partial { .. } => Status::Partial,
            Outcome::Failed { .. } => Status::Failed,
        }
    }
}

/// Records how a run ended, with its log; a run another process already
/// recorded as interrupted (it found this one's process stopped) keeps
/// that record.
pub fn finish(conn: &Connection, id: i64, outcome: &Outcome, log: &str) -> Result<()> {
    let (counts, summary, error) = match outcome {
        Outcome::Succeeded { counts, summary } | Outcome::Partial { counts, summary } => {
            (Some(counts), Some(summary.as_str()), None)
        }
        Outcome::Failed { error } => (None, None, Some(error.as_str())),
    };
    let status = outcome.status().as_str();
    conn.execute(
        "UPDATE action_runs SET finished_at = ?, status = ?, examined = ?, changed = ?, skipped = ?,
             summary = ?, error = ?, log = ? WHERE id = ? AND status = 'running'",
        params![
            time::now(),
            status,
            counts.map(|c| c.examined as i64),
            counts.map(|c| c.changed as i64),
            counts.map(|c| c.skipped as i64),
            summary,
            error,
            log,
            id
        ],
    )?;
    Ok(())
}

const SELECT: &str =
    "SELECT id, plugin_id, plugin_version, params, actor, started_at, finished_at, status,
    examined, changed, skipped, summary, error, log FROM action_runs";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Run> {
    let examined: Option<i64> = r.get(8)?;
    let counts = match examined {
        Some(examined) => Some(Counts {
            examined: examined as u64,
            changed: r.get::<_, i64>(9)? as u64,
            skipped: r.get::<_, i64>(10)? as u64,
        }),
        None => None,
    };
    Ok(Run {
        id: r.get(0)?,
        plugin_id: r.get(1)?,
        plugin_version: r.get(2)?,
        params: r.get(3)?,
        actor: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        status: r.get(7)?,
        counts,
        summary: r.get(11)?,
        error: r.get(12)?,
        log: r.get(13)?,
    })
}

/// The newest runs first, optionally of one plugin.
pub fn list(conn: &Connection, plugin_id: Option<&str>, limit: u32) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE ?1 IS NULL OR plugin_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![plugin_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One run, or a message naming the command that lists them.
pub fn get(conn: &Connection, id: i64) -> Result<Run> {
    conn.query_row(&format!("{SELECT} WHERE id = ?"), [id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no run {id}; see `b2b runs list`")))
}

/// The action runs of one task run, in order.
pub fn of_task_run(conn: &Connection, task_run: i64) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE task_run_id = ? ORDER BY id"))?;
    let rows = stmt.query_map([task_run], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
