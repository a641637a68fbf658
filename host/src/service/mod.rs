//! The services a person (or, later, the web page and HTTP API) calls: every
//! call carries an [`Actor`] for audit, checks its input, and changes the
//! database in one transaction or not at all. The CLI is a thin layer over
//! these.

mod actions;
mod conflicts;
mod import;
mod plugins;
mod records;
mod tasks;

pub use crate::storage::runs::Status as ActionStatus;
pub use actions::{parse_param, ActionResult, RunOptions};
pub use conflicts::{ConflictDetail, Selection};
pub use import::{FileDetail, UnmatchedDetail, WONDE_IMPORT};
pub use plugins::{GrantChoice, Inspection};
pub use tasks::{RunRecord, TaskSummary};

use crate::actor::Actor;
use crate::engine::{compile_cache, Engine};
use crate::error::Result;
use crate::storage::Db;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// One actor's session with one database.
pub struct Service {
    db: Db,
    conn: Connection,
    actor: Actor,
    engine: OnceLock<Arc<Engine>>,
}

impl Service {
    /// Opens an existing database (migrating it) for `actor`. The plugin
    /// engine starts on first use, so commands that run no plugin stay quick.
    pub fn open(path: &Path, actor: Actor) -> Result<Service> {
        Self::new(Db::open(path)?, actor)
    }

    /// Creates a new database at `path` for `actor`.
    pub fn create(path: &Path, actor: Actor) -> Result<Service> {
        Self::new(Db::create(path)?, actor)
    }

    fn new(db: Db, actor: Actor) -> Result<Service> {
        let conn = db.connect()?;
        let service = Service {
            db,
            conn,
            actor,
            engine: OnceLock::new(),
        };
        service.sync_builtins()?;
        Ok(service)
    }

    /// Shares an already started engine (tests and the daemon run many
    /// services over one engine, so each plugin compiles once).
    pub fn with_engine(self, engine: Arc<Engine>) -> Service {
        let _ = self.engine.set(engine);
        self
    }

    /// The engine, started on first use with the default on-disk cache.
    pub fn engine(&self) -> Result<&Arc<Engine>> {
        if let Some(e) = self.engine.get() {
            return Ok(e);
        }
        let engine = Arc::new(Engine::new(compile_cache::default_dir())?);
        Ok(self.engine.get_or_init(|| engine))
    }

    /// The acting person or process.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The database this service works on (to open another connection,
    /// e.g. for a second process's view in tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The service's own connection, for reads that need no service logic.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}
