//! Students deleted at the source: recorded and listed, never applied by
//! deleting held records.

use crate::error::Result;
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection};
use serde::Serialize;

/// One recorded deletion.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    /// The school whose source deleted the record.
    pub school_id: i64,
    /// The source's id for the deleted record.
    pub source_id: String,
    /// The held student it was matched to, if any.
    pub student_id: Option<i64>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

/// Records a deletion (once per school and source id).
pub fn record(
    conn: &Connection,
    school_id: i64,
    source_id: &str,
    student_id: Option<i64>,
    file_id: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO source_deletions (school_id, source_id, student_id, import_file_id, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (school_id, source_id) DO UPDATE SET student_id = COALESCE(?3, student_id)",
    )?
    .execute(params![school_id, source_id, student_id, file_id, time::now()])?;
    Ok(())
}

/// The newest deletions first.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<Deletion>> {
    let mut stmt = conn.prepare(
        "SELECT school_id, source_id, student_id, recorded_at FROM source_deletions ORDER BY id DESC LIMIT ?",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(Deletion {
            school_id: r.get(0)?,
            source_id: r.get(1)?,
            student_id: r.get(2)?,
            recorded_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
