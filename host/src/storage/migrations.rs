//! Versioned schema migrations, applied in order when a database is opened.
//!
//! The schema version is SQLite's `user_version`. Each entry of `MIGRATIONS`
//! moves the schema up by one and is applied in its own transaction, so a
//! failure leaves the database at the previous version. A published migration
//! is never edited: a change is a new entry.

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// The migrations; index 0 takes an empty database to version 1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_import.sql"),
    include_str!("migrations/0003_scheduler.sql"),
    include_str!("migrations/0004_compiled_code.sql"),
    include_str!("migrations/0005_matching_and_partial_runs.sql"),
    include_str!("migrations/0006_shared_payloads.sql"),
    include_str!("migrations/0007_scheduler_lease.sql"),
    include_str!("migrations/0008_run_owners.sql"),
];

/// The schema version this binary writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// The schema version of an open database.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to [`CURRENT`], or refuses one newer than it.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT {
        return Err(Error::Database(format!(
            "the database {} has schema version {found}, newer than this b2b understands ({CURRENT}); \
             use the newer b2b that last wrote it, or upgrade this one",
            path.display()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
