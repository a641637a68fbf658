//! Data conflicts: a held value and an incoming value a person must decide on.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::items;
use crate::storage::{audit, id_list, students};
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a conflict stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a person.
    Open,
    /// A person took the incoming value into the held record.
    Accepted,
    /// A person kept the held value.
    Discarded,
    /// Clear Conflicts found the held value now equals the incoming one.
    Cleared,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Discarded => "discarded",
            Status::Cleared => "cleared",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(Status::Open),
            "accepted" => Ok(Status::Accepted),
            "discarded" => Ok(Status::Discarded),
            "cleared" => Ok(Status::Cleared),
            _ => Err(Error::invalid(format!(
                "unknown conflict status `{s}`; use open, accepted, discarded or cleared"
            ))),
        }
    }
}

/// A conflict with the context a person needs to decide it.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// Its number, which `conflicts show|accept|discard` take.
    pub id: i64,
    /// The held student.
    pub student_id: i64,
    /// "Surname, Forename" of the held student.
    pub student_name: String,
    /// The student's school.
    pub school_id: Option<i64>,
    /// Data item key.
    pub item: String,
    /// Held value when the conflict was raised.
    pub held_value: Option<String>,
    /// What the school sent (the newest, when it sent another since).
    pub incoming_value: Option<String>,
    /// The file the incoming value came in.
    pub import_file_id: Option<i64>,
    /// When an import raised it, or last updated its incoming value.
    pub raised_at: Timestamp,
    /// Where it stands.
    pub status: Status,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When a person or a run resolved it.
    pub resolved_at: Option<Timestamp>,
}

/// Which conflicts a listing or a bulk action covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this status (listings default to open).
    pub status: Option<Status>,
    /// Only this school's students.
    pub school_id: Option<i64>,
    /// Only this student's.
    pub student_id: Option<i64>,
    /// Only this data item.
    pub item: Option<String>,
    /// Only these ids.
    pub ids: Vec<i64>,
}

const SELECT: &str =
    "SELECT c.id, c.student_id, COALESCE(s.surname, '?') || ', ' || COALESCE(s.forename, '?'),
    s.school_id, c.item, c.held_value, c.incoming_value, c.import_file_id, c.raised_at, c.status,
    c.resolved_by, c.resolved_at
    FROM conflicts c JOIN students s ON s.id = c.student_id";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Conflict> {
    let status: String = r.get(9)?;
    Ok(Conflict {
        id: r.get(0)?,
        student_id: r.get(1)?,
        student_name: r.get(2)?,
        school_id: r.get(3)?,
        item: r.get(4)?,
        held_value: r.get(5)?,
        incoming_value: r.get(6)?,
        import_file_id: r.get(7)?,
        raised_at: r.get(8)?,
        status: status.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, e.into())
        })?,
        resolved_by: r.get(10)?,
        resolved_at: r.get(11)?,
    })
}

/// Conflicts matching a filter, oldest first, at most `limit`.
pub fn list(conn: &Connection, filter: &Filter, limit: u32) -> Result<Vec<Conflict>> {
    if let Some(item) = &filter.item {
        items::lookup(item)?;
    }
    let ids = id_list(&filter.ids);
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE (?1 IS NULL OR c.status = ?1) AND (?2 IS NULL OR s.school_id = ?2)
           AND (?3 IS NULL OR c.student_id = ?3) AND (?4 IS NULL OR c.item = ?4)
           AND (?5 = '[]' OR c.id IN (SELECT value FROM json_each(?5)))
         ORDER BY c.id LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.status.map(Status::as_str),
            filter.school_id,
            filter.student_id,
            filter.item,
            ids,
            limit
        ],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One conflict, or a message naming the command that lists them.
pub fn get(conn: &Connection, id: i64) -> Result<Conflict> {
    conn.prepare_cached(&format!("{SELECT} WHERE c.id = ?"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no conflict {id}; see `b2b conflicts list`")))
}

/// Raises a conflict, or updates the incoming value of the open one for the
/// same student and item (one open conflict per student and item). Returns its id.
pub fn raise(
    conn: &Connection,
    student_id: i64,
    item: &str,
    held: Option<&str>,
    incoming: Option<&str>,
    import_file_id: Option<i64>,
) -> Result<i64> {
    items::lookup(item)?;
    let id = conn
        .prepare_cached(
            "INSERT INTO conflicts (student_id, item, held_value, incoming_value, import_file_id, raised_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (student_id, item) WHERE status = 'open'
             DO UPDATE SET incoming_value = ?4, import_file_id = ?5
             RETURNING id",
        )?
        .query_row(params![student_id, item, held, incoming, import_file_id, time::now()], |r| r.get(0))?;
    Ok(id)
}

/// Open conflicts after `after` in id order, for plugins.
pub fn open_page(conn: &Connection, after: i64, limit: u32) -> Result<Vec<Conflict>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE c.status = 'open' AND c.id > ? ORDER BY c.id LIMIT ?"
    ))?;
    let rows = stmt.query_map(params![after, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The open conflicts among `ids`, in id order.
pub fn open_among(conn: &Connection, ids: &[i64]) -> Result<Vec<Conflict>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE c.status = 'open' AND c.id IN (SELECT value FROM json_each(?)) ORDER BY c.id"
    ))?;
    let rows = stmt.query_map([id_list(ids)], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Moves open conflicts among `ids` to `status`, recording who and when and
/// one audit row for the batch. Returns how many changed.
fn close(conn: &Connection, ids: &[i64], status: Status, actor: &Actor) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let changed: Vec<i64> = conn
        .prepare_cached(
            "UPDATE conflicts SET status = ?1, resolved_by = ?2, resolved_at = ?3
             WHERE status = 'open' AND id IN (SELECT value FROM json_each(?4)) RETURNING id",
        )?
        .query_map(
            params![status.as_str(), actor.as_str(), time::now(), id_list(ids)],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    audit_batch(conn, &changed, status, actor)?;
    Ok(changed.len())
}

/// One audit row for conflicts moved to `status` together.
fn audit_batch(conn: &Connection, changed: &[i64], status: Status, actor: &Actor) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    audit::record(
        conn,
        actor,
        &format!("conflict.{status}"),
        "conflict",
        changed
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        serde_json::json!({"count": changed.len()}),
    )
}

/// Moves open conflicts to `status`, each only while its incoming value is
/// still the one given (a newer import may have updated it since a plugin
/// looked), recording who and when and one audit row for the batch.
/// Returns the ids that changed.
fn close_unchanged(
    conn: &Connection,
    seen: &[(i64, Option<String>)],
    status: Status,
    actor: &Actor,
) -> Result<Vec<i64>> {
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let seen = serde_json::to_string(seen).expect("pairs serialise");
    let changed: Vec<i64> = conn
        .prepare_cached(
            "UPDATE conflicts SET status = ?1, resolved_by = ?2, resolved_at = ?3
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS incoming FROM json_each(?4)) AS seen
             WHERE conflicts.id = seen.id AND conflicts.status = 'open'
               AND conflicts.incoming_value IS seen.incoming
             RETURNING conflicts.id",
        )?
        .query_map(
            params![status.as_str(), actor.as_str(), time::now(), seen],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    audit_batch(conn, &changed, status, actor)?;
    Ok(changed)
}

/// Clears the open conflicts among `seen` whose incoming value is still the
/// one given (a plugin's staged Clear Conflicts). Returns how many changed.
pub fn clear_unchanged(
    conn: &Connection,
    seen: &[(i64, Option<String>)],
    actor: &Actor,
) -> Result<usize> {
    Ok(close_unchanged(conn, seen, Status::Cleared, actor)?.len())
}

/// Accepts the open conflicts among `seen` whose incoming value is still the
/// one given, writing it into the held record (a plugin's staged accept).
/// Returns how many were accepted. Call inside a transaction.
pub fn accept_unchanged(
    conn: &Connection,
    seen: &[(i64, Option<String>)],
    actor: &Actor,
) -> Result<usize> {
    let ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    let expected: std::collections::HashMap<i64, &Option<String>> =
        seen.iter().map(|(id, v)| (*id, v)).collect();
    let mut accepted = 0;
    for c in open_among(conn, &ids)? {
        if expected.get(&c.id) == Some(&&c.incoming_value) {
            accept(conn, c.id, actor)?;
            accepted += 1;
        }
    }
    Ok(accepted)
}

/// Marks open conflicts cleared (Clear Conflicts). Returns how many changed.
pub fn clear(conn: &Connection, ids: &[i64], actor: &Actor) -> Result<usize> {
    close(conn, ids, Status::Cleared, actor)
}

/// Keeps the held value: marks an open conflict discarded.
pub fn discard(conn: &Connection, id: i64, actor: &Actor) -> Result<()> {
    require_open(conn, id)?;
    close(conn, &[id], Status::Discarded, actor).map(drop)
}

/// Takes the incoming value into the held record (audited as a student edit)
/// and marks the conflict accepted. Call inside a transaction.
pub fn accept(conn: &Connection, id: i64, actor: &Actor) -> Result<()> {
    let c = require_open(conn, id)?;
    students::set_item(
        conn,
        c.student_id,
        &c.item,
        c.incoming_value.as_deref(),
        actor,
    )?;
    close(conn, &[id], Status::Accepted, actor).map(drop)
}

/// Accepts those of `ids` that are open, skipping the rest (a plugin's
/// batch). Returns how many were accepted. Call inside a transaction.
pub fn accept_open(conn: &Connection, ids: &[i64], actor: &Actor) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let open = list(
        conn,
        &Filter {
            status: Some(Status::Open),
            ids: ids.to_vec(),
            ..Filter::default()
        },
        ids.len() as u32,
    )?;
    for c in &open {
        accept(conn, c.id, actor)?;
    }
    Ok(open.len())
}

fn require_open(conn: &Connection, id: i64) -> Result<Conflict> {
    let c = get(conn, id)?;
    if c.status != Status::Open {
        return Err(Error::invalid(format!(
            "conflict {id} is already {} (by {} at {}); only open conflicts can be resolved",
            c.status,
            c.resolved_by.as_deref().unwrap_or("?"),
            c.resolved_at.map(time::display).unwrap_or_default()
        )));
    }
    Ok(c)
}

/// Counts of conflicts by status, for summaries.
pub fn count_by_status(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare("SELECT status, COUNT(*) FROM conflicts GROUP BY status ORDER BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
