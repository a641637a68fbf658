//! Who runs tasks on this database. Each process that runs them holds a
//! lease it renews while it lives: `b2b serve` (at most one at a time, the
//! database's holder) and `b2b task run`. A lease that was not renewed in
//! time has lapsed: its owner stopped (or froze), and its runs are running
//! nowhere. Lease times are milliseconds, so a short lease (in tests) is
//! still exact.

use crate::error::Result;
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use std::fmt;

/// What an owner does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `b2b serve`: fires the triggers; one at a time.
    Serve,
    /// A process running tasks now (`b2b task run`, a test).
    Run,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Run => "run",
        }
    }
}

/// A process that runs tasks, as its lease records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Unique per process run.
    pub id: String,
    /// What it does.
    pub role: Role,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// When it took its lease.
    pub started_at: Timestamp,
    /// When it last renewed it (ms since the epoch).
    pub renewed_at_ms: i64,
    /// When the lease lapses unless renewed (ms since the epoch).
    pub expires_at_ms: i64,
}

impl fmt::Display for Owner {
    /// E.g. "`b2b serve` on host la-sched-01 (pid 4242)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.role {
            Role::Serve => "`b2b serve`",
            Role::Run => "a `b2b task run`",
        };
        write!(f, "{what} on host {} (pid {})", self.host, self.pid)
    }
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An instant in milliseconds as a person reads it.
pub fn display_ms(ms: i64) -> String {
    time::display(ms.div_euclid(1000))
}

const COLUMNS: &str = "id, role, host, pid, started_at, renewed_at_ms, expires_at_ms";

/// The lease columns of `scheduler_owners o`, for a query that joins it.
pub(super) const JOINED: &str =
    "o.id, o.role, o.host, o.pid, o.started_at, o.renewed_at_ms, o.expires_at_ms";

/// The owner in the columns from `first` on (see [`JOINED`]); `None` when
/// a join found none.
pub(super) fn joined(r: &rusqlite::Row, first: usize) -> rusqlite::Result<Option<Owner>> {
    let Some(id) = r.get::<_, Option<String>>(first)? else {
        return Ok(None);
    };
    let role: String = r.get(first + 1)?;
    Ok(Some(Owner {
        id,
        role: if role == "serve" {
            Role::Serve
        } else {
            Role::Run
        },
        host: r.get(first + 2)?,
        pid: r.get(first + 3)?,
        started_at: r.get(first + 4)?,
        renewed_at_ms: r.get(first + 5)?,
        expires_at_ms: r.get(first + 6)?,
    }))
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Owner> {
    joined(r, 0).map(|owner| owner.expect("an owner row has an id"))
}

/// Records an owner's lease. One of this process's own is tagged with this
/// machine, so that once the process is gone, that is seen at once.
pub fn insert(conn: &Connection, owner: &Owner) -> Result<()> {
    let ours = owner.pid == std::process::id() && owner.host == host_name();
    conn.execute(
        &format!(
            "INSERT INTO scheduler_owners ({COLUMNS}, machine) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        params![
            owner.id,
            owner.role.as_str(),
            owner.host,
            owner.pid,
            owner.started_at,
            owner.renewed_at_ms,
            owner.expires_at_ms,
            ours.then(this_machine).flatten()
        ],
    )?;
    Ok(())
}

/// The live leases of this machine's processes that no longer exist
/// (killed, crashed): their runs are orphans now, not only once the lease
/// lapses. A pid reused by another process counts as alive, so a mistake
/// here only ever waits for the lease. A read: see [`end`].
pub fn dead(conn: &Connection, now_ms: i64) -> Result<Vec<String>> {
    let Some(machine) = this_machine() else {
        return Ok(Vec::new());
    };
    let candidates: Vec<(String, u32)> = conn
        .prepare_cached(
            "SELECT id, pid FROM scheduler_owners WHERE machine = ?1 AND expires_at_ms > ?2",
        )?
        .query_map(params![machine, now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(candidates
        .into_iter()
        .filter(|(_, pid)| *pid != std::process::id() && !process_exists(*pid))
        .map(|(id, _)| id)
        .collect())
}

/// Ends these leases at `now_ms`, as lapsed.
pub fn end(conn: &Connection, ids: &[String], now_ms: i64) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("UPDATE scheduler_owners SET expires_at_ms = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, now_ms])?;
    }
    Ok(())
}

/// This machine as processes on it share pids: its host name and, on
/// Linux, its pid namespace (containers sharing a host name and a database
/// volume have different ones). `None` where that cannot be told.
fn this_machine() -> Option<String> {
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", host_name(), namespace.display()))
}

/// Whether a process with this pid exists on this machine.
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 sends nothing; it only asks whether the pid exists.
        let found = unsafe { libc::kill(pid, 0) } == 0;
        found || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The `serve` whose lease is live at `now_ms`, if any.
pub fn holder(conn: &Connection, now_ms: i64) -> Result<Option<Owner>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM scheduler_owners WHERE role = 'serve' AND expires_at_ms > ?"
            ),
            [now_ms],
            from_row,
        )
        .optional()?)
}

/// Extends a lease to `lease_ms` from `now_ms`. Returns false when it is
/// gone: another process found it lapsed and took over its runs.
pub fn renew(conn: &Connection, id: &str, now_ms: i64, lease_ms: i64) -> Result<bool> {
    let renewed = conn.execute(
        "UPDATE scheduler_owners SET renewed_at_ms = ?, expires_at_ms = ? WHERE id = ?",
        params![now_ms, now_ms + lease_ms, id],
    )?;
    Ok(renewed == 1)
}

/// Gives a lease up (its owner has recorded how each of its runs ended).
pub fn release(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM scheduler_owners WHERE id = ?", [id])?;
    Ok(())
}

/// Forgets the leases that lapsed before `now_ms`; the caller has dealt
/// with their runs in the same transaction.
pub fn forget_lapsed(conn: &Connection, now_ms: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM scheduler_owners WHERE expires_at_ms <= ?",
        [now_ms],
    )?)
}

/// The machine's name, for telling people which host holds a database.
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length, and
        // gethostname writes at most that many bytes.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        if ok && end > 0 {
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
