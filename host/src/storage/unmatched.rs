//! Incoming students no matching rule could place, until a person adds them
//! as new held records or matches them to existing ones.

use crate::error::{Error, Result};
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One unmatched incoming student.
#[derive(Debug, Clone, Serialize)]
pub struct Unmatched {
    /// Its number, which `import unmatched show|add|match` take.
    pub id: i64,
    /// The school that sent it.
    pub school_id: i64,
    /// The source's id.
    pub source_id: String,
    /// The person id (GUID), which ties several records of one person together.
    pub upi: Option<String>,
    /// Surname as sent.
    pub surname: Option<String>,
    /// Forename as sent.
    pub forename: Option<String>,
    /// Date of birth as sent.
    pub date_of_birth: Option<String>,
    /// UPN as sent.
    pub upn: Option<String>,
    /// The whole incoming record, as JSON.
    pub data: String,
    /// When it last came in.
    pub received_at: Timestamp,
    /// `open`, `added` or `matched`.
    pub status: String,
    /// The held student it became or was matched to.
    pub student_id: Option<i64>,
    /// Held students a matching rule nearly chose, with why it did not.
    pub candidates: Vec<Candidate>,
}

/// A held student a matching rule nearly chose for an incoming one, and why
/// it did not: what the person placing the record needs to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The held student.
    pub student_id: i64,
    /// Why no rule took it.
    pub reason: String,
}

/// An incoming student to queue for a person.
pub struct Queued<'a> {
    /// The school that sent it.
    pub school_id: i64,
    /// The source's id for the record.
    pub source_id: &'a str,
    /// The person GUID, if sent.
    pub upi: Option<&'a str>,
    /// Surname, as sent.
    pub surname: Option<&'a str>,
    /// Forename, as sent.
    pub forename: Option<&'a str>,
    /// Date of birth, as sent.
    pub date_of_birth: Option<&'a str>,
    /// UPN, as sent.
    pub upn: Option<&'a str>,
    /// The whole incoming record, as JSON.
    pub data: &'a str,
    /// The import file it came in.
    pub file_id: i64,
    /// Held students that nearly matched it.
    pub candidates: &'a [Candidate],
}

/// Queues (or refreshes) an unmatched incoming student. A record a person
/// placed before is opened again: the import no longer takes it for the
/// student they chose (their choice is kept in the audit), so its data
/// would otherwise stop arriving unseen.
pub fn upsert(conn: &Connection, q: &Queued) -> Result<()> {
    let candidates = (!q.candidates.is_empty())
        .then(|| serde_json::to_string(q.candidates).expect("candidates serialise"));
    conn.prepare_cached(
        "INSERT INTO unmatched (school_id, source_id, upi, surname, forename, date_of_birth, upn, data, import_file_id, received_at, candidates)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (school_id, source_id) DO UPDATE SET upi = ?3, surname = ?4, forename = ?5,
             date_of_birth = ?6, upn = ?7, data = ?8, import_file_id = ?9, received_at = ?10, candidates = ?11,
             status = 'open', student_id = NULL, resolved_by = NULL, resolved_at = NULL",
    )?
    .execute(params![
        q.school_id, q.source_id, q.upi, q.surname, q.forename, q.date_of_birth, q.upn, q.data, q.file_id,
        time::now(), candidates
    ])?;
    Ok(())
}

const SELECT: &str = "SELECT id, school_id, source_id, upi, surname, forename, date_of_birth, upn, data, received_at,
    status, student_id, candidates FROM unmatched";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Unmatched> {
    Ok(Unmatched {
        id: r.get(0)?,
        school_id: r.get(1)?,
        source_id: r.get(2)?,
        upi: r.get(3)?,
        surname: r.get(4)?,
        forename: r.get(5)?,
        date_of_birth: r.get(6)?,
        upn: r.get(7)?,
        data: r.get(8)?,
        received_at: r.get(9)?,
        status: r.get(10)?,
        student_id: r.get(11)?,
        candidates: r
            .get::<_, Option<String>>(12)?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
    })
}

/// Open unmatched records, optionally one school's.
pub fn list(conn: &Connection, school_id: Option<i64>, limit: u32) -> Result<Vec<Unmatched>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE status = 'open' AND (?1 IS NULL OR school_id = ?1) ORDER BY surname, forename, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![school_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One record, open or placed, or a message naming the command that lists them.
pub fn get(conn: &Connection, id: i64) -> Result<Unmatched> {
    conn.query_row(&format!("{SELECT} WHERE id = ?"), [id], from_row)
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!(
                "no unmatched record {id}; see `b2b import unmatched list`"
            ))
        })
}

/// The open records carrying the same person GUID as `u` (only `u` when it
/// has none), `u` first.
pub fn same_guid(conn: &Connection, u: &Unmatched) -> Result<Vec<Unmatched>> {
    let upi = u.upi.as_deref().map(str::trim).filter(|g| !g.is_empty());
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE status = 'open' AND (id = ?1 OR (?2 IS NOT NULL AND upi = ?2))
         ORDER BY id <> ?1, id"
    ))?;
    let rows = stmt.query_map(params![u.id, upi], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks a record resolved (`added` or `matched`) to a held student.
pub fn resolve(conn: &Connection, id: i64, status: &str, student_id: i64, by: &str) -> Result<()> {
    conn.execute(
        "UPDATE unmatched SET status = ?, student_id = ?, resolved_by = ?, resolved_at = ? WHERE id = ?",
        params![status, student_id, by, time::now(), id],
    )?;
    Ok(())
}

/// Whether the school's record waits for a person with candidates named:
/// then no rule may take it by inference before they decide.
pub fn waits_with_candidates(conn: &Connection, school_id: i64, source_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM unmatched WHERE school_id = ?1 AND source_id = ?2
             AND status = 'open' AND candidates IS NOT NULL)",
        )?
        .query_row(params![school_id, source_id], |r| r.get(0))?)
}

/// Closes the school's open record of `source_id`, if any, as matched by
/// the import to `student_id`: a person is not asked about a pupil a rule
/// has since placed.
pub fn close_matched(
    conn: &Connection,
    school_id: i64,
    source_id: &str,
    student_id: i64,
    by: &crate::actor::Actor,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE unmatched SET status = 'matched', student_id = ?3, resolved_by = ?4, resolved_at = ?5
         WHERE school_id = ?1 AND source_id = ?2 AND status = 'open'",
    )?
    .execute(params![school_id, source_id, student_id, by.as_str(), time::now()])?;
    Ok(())
}

/// How many are open.
pub fn open_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM unmatched WHERE status = 'open'",
        [],
        |r| r.get(0),
    )?)
}
