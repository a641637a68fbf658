//! Installed plugins: what each asked for, what an admin granted, and the
//! sha256 of the wasm that was granted.

use crate::error::{Error, Result};
use crate::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Where a plugin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Embedded in the `b2b` binary.
    Builtin,
    /// Installed from a file by an admin.
    Installed,
}

/// A plugin's row.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRecord {
    /// Id, e.g. `clear-conflicts`.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// The version its manifest and `describe` agree on.
    pub version: String,
    /// What it does.
    pub description: String,
    /// Built in or installed.
    pub source: Source,
    /// The installed `.wasm` file (installed plugins only).
    pub path: Option<String>,
    /// sha256 of the wasm that was granted.
    pub sha256: String,
    /// Capabilities its manifest asks for.
    pub requested: Vec<String>,
    /// Capabilities an admin granted.
    pub granted: Vec<String>,
    /// Whether it may run.
    pub enabled: bool,
    /// Who installed it.
    pub installed_by: String,
    /// When it was installed or last granted.
    pub installed_at: Timestamp,
}

const COLUMNS: &str = "id, name, version, description, source, path, sha256, requested, granted, enabled, installed_by, installed_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<PluginRecord> {
    let json_list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let raw: String = r.get(i)?;
        serde_json::from_str(&raw).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    };
    let source: String = r.get(4)?;
    Ok(PluginRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        description: r.get(3)?,
        source: if source == "builtin" {
            Source::Builtin
        } else {
            Source::Installed
        },
        path: r.get(5)?,
        sha256: r.get(6)?,
        requested: json_list(7)?,
        granted: json_list(8)?,
        enabled: r.get(9)?,
        installed_by: r.get(10)?,
        installed_at: r.get(11)?,
    })
}

/// Inserts or replaces a plugin's row.
pub fn upsert(conn: &Connection, p: &PluginRecord) -> Result<()> {
    conn.execute(
        &format!("INSERT OR REPLACE INTO plugins ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        params![
            p.id,
            p.name,
            p.version,
            p.description,
            if p.source == Source::Builtin { "builtin" } else { "installed" },
            p.path,
            p.sha256,
            serde_json::to_string(&p.requested).expect("strings serialise"),
            serde_json::to_string(&p.granted).expect("strings serialise"),
            p.enabled,
            p.installed_by,
            p.installed_at
        ],
    )?;
    Ok(())
}

/// A plugin by id, if installed.
pub fn find(conn: &Connection, id: &str) -> Result<Option<PluginRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM plugins WHERE id = ?"))?
        .query_row([id], from_row)
        .optional()?)
}

/// A plugin by id, or a message listing the installed ones.
pub fn get(conn: &Connection, id: &str) -> Result<PluginRecord> {
    find(conn, id)?.ok_or_else(|| {
        let known = list(conn).map(|l| l.into_iter().map(|p| p.id).collect::<Vec<_>>().join(", "));
        Error::not_found(format!(
            "no plugin `{id}` is installed (installed: {}); install one with `b2b plugin install DIR`",
            known.unwrap_or_default()
        ))
    })
}

/// Every plugin, by id.
pub fn list(conn: &Connection) -> Result<Vec<PluginRecord>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM plugins ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Removes a plugin's row; returns whether there was one.
pub fn delete(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM plugins WHERE id = ?", [id])? > 0)
}
