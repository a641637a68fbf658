//! The audit trail: who changed what and when.

use crate::actor::Actor;
use crate::error::Result;
use crate::time::{self, Timestamp};
use rusqlite::{params, Connection};
use serde::Serialize;

/// One audit row.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its place in the audit, which only grows.
    pub id: i64,
    /// When the change was made.
    pub at: Timestamp,
    /// Who made it: a person, a plugin run (`plugin:ID#RUN`) or the host.
    pub actor: String,
    /// What was done, e.g. `conflict.accept`.
    pub action: String,
    /// The kind of thing changed, e.g. `conflict`.
    pub entity: String,
    /// Which one of them, when the change concerns one.
    pub entity_id: Option<String>,
    /// Before/after values or parameters, as JSON.
    pub detail: Option<String>,
}

/// Records a change. Call it inside the transaction that makes the change, so
/// the trail and the data never disagree.
pub fn record(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    detail: serde_json::Value,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        time::now(),
        actor.as_str(),
        action,
        entity,
        entity_id.to_string(),
        detail.to_string()
    ])?;
    Ok(())
}

/// The audit rows of one entity (or of all when `entity_id` is `None`), newest first.
pub fn for_entity(
    conn: &Connection,
    entity: &str,
    entity_id: Option<&str>,
    limit: u32,
) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, entity, entity_id, detail FROM audit
         WHERE entity = ?1 AND (?2 IS NULL OR entity_id = ?2) ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![entity, entity_id, limit], |r| {
        Ok(Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            entity: r.get(4)?,
            entity_id: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
