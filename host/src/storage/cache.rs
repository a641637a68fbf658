//! The import cache: the hash of the last incoming block per school,
//! external student and data group, so an unchanged block is not processed
//! (and does not raise a conflict) again.

use crate::actor::Actor;
use crate::error::Result;
use crate::storage::{audit, id_list};
use crate::time::Timestamp;
use rusqlite::{params, Connection};
use serde::Serialize;

/// One cache entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Id.
    pub id: i64,
    /// School.
    pub school_id: i64,
    /// The student's id at the source.
    pub external_id: String,
    /// Data group.
    pub data_group: String,
    /// Hash of the block last imported.
    pub hash: String,
    /// When.
    pub imported_at: Timestamp,
}

/// Records the hash of a block just imported (replacing the previous one).
pub fn put(
    conn: &Connection,
    school_id: i64,
    external_id: &str,
    data_group: &str,
    hash: &str,
    imported_at: Timestamp,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO import_cache (school_id, external_id, data_group, hash, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (school_id, external_id, data_group) DO UPDATE SET hash = ?4, imported_at = ?5",
    )?
    .execute(params![school_id, external_id, data_group, hash, imported_at])?;
    Ok(())
}

/// Every hash of one school by (external id, data group), for an import
/// to compare a whole file against.
pub fn hashes(
    conn: &Connection,
    school_id: i64,
) -> Result<std::collections::HashMap<(String, String), String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, data_group, hash FROM import_cache WHERE school_id = ?",
    )?;
    let rows = stmt.query_map([school_id], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Entries after `after` in id order, optionally one school's, at most `limit`.
pub fn page(
    conn: &Connection,
    after: i64,
    limit: u32,
    school_id: Option<i64>,
) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, school_id, external_id, data_group, hash, imported_at FROM import_cache
         WHERE id > ?1 AND (?2 IS NULL OR school_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![after, school_id, limit], |r| {
        Ok(Entry {
            id: r.get(0)?,
            school_id: r.get(1)?,
            external_id: r.get(2)?,
            data_group: r.get(3)?,
            hash: r.get(4)?,
            imported_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The entries among `ids` that exist.
pub fn existing_among(conn: &Connection, ids: &[i64]) -> Result<Vec<i64>> {
    let ids = conn
        .prepare_cached(
            "SELECT id FROM import_cache WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )?
        .query_map([id_list(ids)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Deletes entries by id, with one audit row; returns how many were deleted.
pub fn delete(conn: &Connection, ids: &[i64], actor: &Actor) -> Result<usize> {
    let n = conn
        .prepare_cached("DELETE FROM import_cache WHERE id IN (SELECT value FROM json_each(?))")?
        .execute([id_list(ids)])?;
    if n > 0 {
        audit::record(
            conn,
            actor,
            "cache.delete",
            "import_cache",
            "",
            serde_json::json!({"count": n}),
        )?;
    }
    Ok(n)
}

/// How many entries there are, optionally one school's.
pub fn count(conn: &Connection, school_id: Option<i64>) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM import_cache WHERE ?1 IS NULL OR school_id = ?1",
        [school_id],
        |r| r.get(0),
    )?)
}
