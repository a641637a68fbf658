//! SQLite storage: one file in WAL mode, versioned migrations, one module per
//! table group. Every function takes a `&Connection` so that a caller decides
//! the transaction: a service wraps a change in one, a plugin run wraps the
//! whole run in one.

/// `Display` and `FromStr` for an enum stored as snake_case words, with an
/// error that lists the words allowed.
macro_rules! names {
    ($ty:ty, $what:literal, $($variant:ident => $name:literal),*) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$variant => $name),* })
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim() {
                    $($name => Ok(Self::$variant),)*
                    other => Err(Error::invalid(format!(
                        concat!("unknown ", $what, " `{}`; use one of: {}"), other, [$($name),*].join(", ")
                    ))),
                }
            }
        }
    };
}

pub mod audit;
pub mod cache;
pub mod compiled;
pub mod conflicts;
pub mod defaults;
pub mod deletions;
pub mod files;
pub mod leases;
pub mod migrations;
pub mod orphans;
pub mod payloads;
pub mod plugins;
pub mod rules;
pub mod runs;
pub mod schools;
pub mod students;
pub mod task_runs;
pub mod tasks;
pub mod unmatched;

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another to finish before reporting "busy".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A B2B database on disk. Cheap to clone; each [`Db::connect`] opens a
/// connection of its own, so runs and services can proceed side by side.
#[derive(Debug, Clone)]
pub struct Db {
    path: PathBuf,
}

impl Db {
    /// Creates a new database at `path` (refusing to overwrite one) and
    /// applies every migration.
    pub fn create(path: &Path) -> Result<Db> {
        if path.exists() {
            return Err(Error::invalid(format!(
                "{} already exists; pass another --db path, or use it as it is",
                path.display()
            )));
        }
        Self::open_with(path, true)
    }

    /// Opens an existing database, applying any pending migrations.
    pub fn open(path: &Path) -> Result<Db> {
        if !path.exists() {
            return Err(Error::not_found(format!(
                "no database at {}; create one with `b2b init --db {0}` (or try `b2b demo`)",
                path.display()
            )));
        }
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Db> {
        let db = Db {
            path: path.to_path_buf(),
        };
        let mut conn = db.connect_flags(create)?;
        migrations::migrate(&mut conn, path)?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a connection with the host's settings (WAL, foreign keys, a busy
    /// timeout). The schema must already be current.
    pub fn connect(&self) -> Result<Connection> {
        self.connect_flags(false)
    }

    fn connect_flags(&self, create: bool) -> Result<Connection> {
        use rusqlite::OpenFlags;
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| {
            Error::Database(format!(
                "cannot open the database {}: {e}",
                self.path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Database(format!(
                "{} could not be switched to WAL mode (it is in {mode} mode); is it on a network share?",
                self.path.display()
            )));
        }
        // A 32 MiB page cache keeps an import's indexes in memory without
        // letting memory grow with the LA.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;",
        )?;
        Ok(conn)
    }
}

/// Runs `f` in a transaction that commits when `f` succeeds and rolls back
/// otherwise, so a service call either changes everything it meant to or nothing.
///
/// The transaction takes the write lock at once (`BEGIN IMMEDIATE`): one
/// that read first and wrote later could not wait for another writer, and
/// would fail with "database is locked" instead of waiting its turn.
pub fn in_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// A list of ids as one JSON parameter, for `IN (SELECT value FROM json_each(?))`:
/// one prepared statement serves any number of ids.
pub(crate) fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("a list of integers serialises")
}
