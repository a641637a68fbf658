//! Virtual files: what each transfer brought, kept in the database.
//!
//! Deleting a file removes its payload and keeps the row as a tombstone, so
//! the history of transfers stays complete. Queued and processing files are
//! in use by an import and are never touched.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::storage::payloads::{self, Prepared};
use crate::storage::{audit, id_list};
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// SQL that holds for a file whose payload is still stored: in the shared
/// store ([`payloads`]), or, for a file written before it, in its own row.
pub const HAS_PAYLOAD: &str = "(payload_id IS NOT NULL OR payload IS NOT NULL)";

/// A file's place in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting to be processed.
    Queued,
    /// Being processed by an import.
    Processing,
    /// Applied.
    Completed,
    /// Could not be applied; nothing from it was applied.
    Failed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<Self> {
        match s {
            "queued" => Ok(Status::Queued),
            "processing" => Ok(Status::Processing),
            "completed" => Ok(Status::Completed),
            "failed" => Ok(Status::Failed),
            other => Err(rusqlite::Error::InvalidColumnType(
                4,
                other.into(),
                rusqlite::types::Type::Text,
            )),
        }
    }
}

/// A file without its payload.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// Id.
    pub id: i64,
    /// The school it came from.
    pub school_id: Option<i64>,
    /// The school's name.
    pub school_name: Option<String>,
    /// When it was received.
    pub received_at: Timestamp,
    /// Status.
    pub status: Status,
    /// Records it carried.
    pub record_count: i64,
    /// Records that could not be applied.
    pub error_count: i64,
    /// What went wrong, for a person.
    pub error_log: Option<String>,
    /// Stored (compressed) payload size, shared with every file that
    /// carried the same bytes; 0 once deleted.
    pub payload_bytes: i64,
    /// When its payload was deleted.
    pub deleted_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT f.id, f.school_id, s.name, f.received_at, f.status, f.record_count,
    f.error_count, f.error_log, f.payload_bytes, f.deleted_at
    FROM import_files f LEFT JOIN schools s ON s.id = f.school_id";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<FileInfo> {
    Ok(FileInfo {
        id: r.get(0)?,
        school_id: r.get(1)?,
        school_name: r.get(2)?,
        received_at: r.get(3)?,
        status: Status::parse(&r.get::<_, String>(4)?)?,
        record_count: r.get(5)?,
        error_count: r.get(6)?,
        error_log: r.get(7)?,
        payload_bytes: r.get(8)?,
        deleted_at: r.get(9)?,
    })
}

/// Stores a file with its payload; returns its id.
pub fn insert(
    conn: &Connection,
    school_id: Option<i64>,
    received_at: Timestamp,
    status: Status,
    record_count: i64,
    payload: &[u8],
) -> Result<i64> {
    let (payload_id, bytes) = Prepared::new(conn, payload)?.store(conn)?;
    conn.prepare_cached(
        "INSERT INTO import_files (school_id, received_at, status, record_count, payload_id, payload_bytes)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![school_id, received_at, status.as_str(), record_count, payload_id, bytes])?;
    Ok(conn.last_insert_rowid())
}

/// Starts a file for a transfer in progress: queued, no payload yet.
pub fn begin(conn: &Connection, school_id: i64, full: bool, run_id: Option<i64>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO import_files (school_id, received_at, status, full, run_id) VALUES (?, ?, 'queued', ?, ?)",
    )?
    .execute(params![school_id, time::now(), full, run_id])?;
    Ok(conn.last_insert_rowid())
}

/// Records the import run a file belongs to.
pub fn set_run(conn: &Connection, id: i64, run_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE import_files SET run_id = ? WHERE id = ?",
        params![run_id, id],
    )?;
    Ok(())
}

/// Moves an open (queued or processing) file to a new status.
pub fn set_status(conn: &Connection, id: i64, status: Status) -> Result<()> {
    let moved = conn.execute(
        "UPDATE import_files SET status = ? WHERE id = ? AND status IN ('queued', 'processing')",
        params![status.as_str(), id],
    )?;
    still_open(id, moved)
}

/// An update that found the file no longer open: another process ended it
/// as interrupted, having found this one's run dead (its lease lapsed while
/// it was frozen). Nothing of it may be applied now.
fn still_open(id: i64, updated: usize) -> Result<()> {
    match updated {
        0 => Err(Error::invalid(format!(
            "import file {id} was ended by another b2b process, which found this run stopped; nothing of it was applied"
        ))),
        _ => Ok(()),
    }
}

/// A file of the school that another run, still running, has open: that
/// run is importing the school now.
pub fn open_elsewhere(
    conn: &Connection,
    school_id: i64,
    run_id: Option<i64>,
) -> Result<Option<(i64, Option<i64>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT f.id, f.run_id FROM import_files f JOIN action_runs r ON r.id = f.run_id
             WHERE f.school_id = ?1 AND f.status IN ('queued', 'processing')
               AND r.status = 'running' AND f.run_id IS NOT ?2
             LIMIT 1",
        )?
        .query_row(params![school_id, run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Ends as failed every open file whose run is no longer running (its
/// process was killed or crashed; the run has been recorded as
/// interrupted): nothing of them was applied, and they would otherwise stay
/// queued or processing for ever. Returns how many.
pub fn fail_orphans(conn: &Connection) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE import_files SET status = 'failed', error_count = 1,
             error_log = 'interrupted: the b2b process importing it stopped (killed or crashed) before this school''s transfer finished; nothing of it was applied'
         WHERE status IN ('queued', 'processing')
           AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM action_runs WHERE status = 'running'))",
        [],
    )?)
}

/// Ends a file: its status, what it carried (stored once however many
/// files carry the same bytes), how many records, what applying it did
/// (JSON) and, when it failed, why.
pub fn end(
    conn: &Connection,
    id: i64,
    status: Status,
    payload: &Prepared,
    record_count: i64,
    outcome: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    let (payload_id, bytes) = payload.store(conn)?;
    let ended = conn.execute(
        "UPDATE import_files SET status = ?, payload_id = ?, payload_bytes = ?, record_count = ?, outcome = ?,
             error_log = ?, error_count = ? WHERE id = ? AND status IN ('queued', 'processing')",
        params![
            status.as_str(),
            payload_id,
            bytes,
            record_count,
            outcome,
            error,
            error.is_some() as i64,
            id
        ],
    )?;
    still_open(id, ended)
}

/// Files after `after` in id order, at most `limit`.
pub fn page(conn: &Connection, after: i64, limit: u32) -> Result<Vec<FileInfo>> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE f.id > ? ORDER BY f.id LIMIT ?"))?;
    let rows = stmt.query_map(params![after, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One file, with what applying it did (JSON counts) once completed.
pub fn get(conn: &Connection, id: i64) -> Result<(FileInfo, Option<String>)> {
    let file = conn
        .query_row(&format!("{SELECT} WHERE f.id = ?"), [id], from_row)
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("no import file {id}; see `b2b import files list`"))
        })?;
    let outcome = conn.query_row("SELECT outcome FROM import_files WHERE id = ?", [id], |r| {
        r.get(0)
    })?;
    Ok((file, outcome))
}

/// The newest files first, optionally one school's, at most `limit`.
pub fn recent(conn: &Connection, school_id: Option<i64>, limit: u32) -> Result<Vec<FileInfo>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE (?1 IS NULL OR f.school_id = ?1) ORDER BY f.received_at DESC, f.id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![school_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A file's payload, decompressed (`None` once deleted, or before the
/// transfer ended).
pub fn payload(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    type Stored = (Option<i64>, Option<Vec<u8>>);
    let stored: Option<Stored> = conn
        .query_row(
            "SELECT payload_id, payload FROM import_files WHERE id = ?",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match stored {
        None => Err(Error::not_found(format!(
            "no import file {id}; see `b2b files list`"
        ))),
        Some((Some(shared), _)) => payloads::read(conn, shared).map(Some),
        Some((None, Some(own))) => payloads::decode(&own).map(Some),
        Some((None, None)) => Ok(None),
    }
}

/// The files among `ids` whose payload may be deleted: still there, and
/// the transfer over (completed or failed).
pub fn deletable_among(conn: &Connection, ids: &[i64]) -> Result<Vec<i64>> {
    let ids = conn
        .prepare_cached(
            "SELECT id FROM import_files
             WHERE deleted_at IS NULL AND status IN ('completed', 'failed')
               AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )?
        .query_map([id_list(ids)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Deletes the payloads of completed and failed files among `ids`, keeping
/// their rows; queued and processing files are skipped whatever is asked. A
/// payload other files still point at stays for them. Returns how many
/// files' payloads were deleted.
pub fn delete_payloads(conn: &Connection, ids: &[i64], actor: &Actor) -> Result<usize> {
    let shared: Vec<i64> = conn
        .prepare_cached(
            "SELECT DISTINCT payload_id FROM import_files
             WHERE payload_id IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
        )?
        .query_map([id_list(ids)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let deleted: Vec<i64> = conn
        .prepare_cached(
            "UPDATE import_files SET payload = NULL, payload_id = NULL, payload_bytes = 0, deleted_at = ?1
             WHERE deleted_at IS NULL AND status IN ('completed', 'failed')
               AND id IN (SELECT value FROM json_each(?2)) RETURNING id",
        )?
        .query_map(params![time::now(), id_list(ids)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    payloads::release(conn, &shared)?;
    if !deleted.is_empty() {
        audit::record(
            conn,
            actor,
            "file.delete",
            "import_file",
            deleted
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            serde_json::json!({"count": deleted.len()}),
        )?;
    }
    Ok(deleted.len())
}
