//! The sha256 of the compiled code of each plugin, per engine: the record
//! that lets a later process trust a compiled file from the disk cache.

use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// The recorded sha256 of the code `engine` compiled from the wasm
/// `wasm_sha256`, if any.
pub fn get(conn: &Connection, wasm_sha256: &str, engine: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT code_sha256 FROM compiled_code WHERE wasm_sha256 = ? AND engine = ?",
        )?
        .query_row(params![wasm_sha256, engine], |r| r.get(0))
        .optional()?)
}

/// Records the sha256 of the code `engine` compiled from the wasm.
pub fn record(conn: &Connection, wasm_sha256: &str, engine: &str, code_sha256: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO compiled_code (wasm_sha256, engine, code_sha256) VALUES (?, ?, ?)
         ON CONFLICT (wasm_sha256, engine) DO UPDATE SET code_sha256 = excluded.code_sha256",
    )?
    .execute(params![wasm_sha256, engine, code_sha256])?;
    Ok(())
}
