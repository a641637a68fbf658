//! What a b2b process that died (killed, crashed, its machine lost) left
//! behind: task runs and action runs still marked running, import files
//! still queued or processing. Each process holds a lease it renews
//! ([`leases`]); what belongs to a process whose lease lapsed, or that this
//! machine can see is gone, is ended here, and nothing of a live process is
//! ever touched. The scheduler looks at each tick and at start-up, and every
//! action run looks before it starts (so the next import or Delete Files
//! finds a killed import's files).

use super::{files, leases, runs, task_runs};
use crate::error::Result;
use rusqlite::Connection;

/// What [`recover`] ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Task runs recorded interrupted (their action runs with them).
    pub task_runs: usize,
    /// Action runs outside tasks recorded interrupted.
    pub action_runs: usize,
    /// Import files recorded failed, as interrupted.
    pub files: usize,
}

/// Whether [`recover`] has anything to do: a read, so that nobody takes the
/// write lock only to find nothing.
pub fn pending(conn: &Connection, now_ms: i64) -> Result<bool> {
    if task_runs::has_orphans(conn, now_ms)? || !leases::dead(conn, now_ms)?.is_empty() {
        return Ok(true);
    }
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM action_runs
                            WHERE status = 'running' AND task_run_id IS NULL
                              AND (owner IS NULL OR owner NOT IN
                                   (SELECT id FROM scheduler_owners WHERE expires_at_ms > ?1)))
                 OR EXISTS (SELECT 1 FROM import_files f
                            WHERE f.status IN ('queued', 'processing')
                              AND (f.run_id IS NULL OR f.run_id NOT IN
                                   (SELECT id FROM action_runs WHERE status = 'running')))",
        )?
        .query_row([now_ms], |r| r.get(0))?)
}

/// Ends, in the caller's transaction, what dead processes left behind:
/// runs become interrupted, then files whose run is not running become
/// failed with "interrupted".
pub fn recover(conn: &Connection, now_ms: i64) -> Result<Recovered> {
    leases::end(conn, &leases::dead(conn, now_ms)?, now_ms)?;
    let action_runs = runs::interrupt_orphans(conn, now_ms)?;
    let task_runs = task_runs::recover_orphans(conn, now_ms)?;
    let files = files::fail_orphans(conn)?;
    Ok(Recovered {
        task_runs,
        action_runs,
        files,
    })
}
