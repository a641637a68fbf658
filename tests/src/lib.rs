//! What the end-to-end tests share: a fresh database on disk per test, one
//! plugin engine per test process (so each component compiles once), and
//! the fixture plugins copied where a test can install or tamper with them.

use b2b_host::actor::Actor;
use b2b_host::engine::Engine;
use b2b_host::service::Service;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;

/// Each fixture plugin: package name, manifest path, component path.
const FIXTURES: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The engine every test in this process shares; compiled components are
/// cached on disk under `target/`, so later test runs skip compilation.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/compiled-plugins");
            Arc::new(Engine::new(Some(cache)).expect("the engine starts"))
        })
        .clone()
}

/// A fresh database in its own directory, removed when dropped.
pub struct TestDb {
    /// The directory holding the database (and anything else a test puts there).
    pub dir: TempDir,
    /// A service acting as a test officer.
    pub svc: Service,
}

impl TestDb {
    /// Creates an empty database.
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let svc = Service::create(&dir.path().join("b2b.db"), Actor::named("test:officer"))
            .expect("a new database")
            .with_engine(engine());
        TestDb { dir, svc }
    }

    /// A second connection, to check state the way another process would see it.
    pub fn conn(&self) -> rusqlite::Connection {
        self.svc.db().connect().expect("a connection")
    }

    /// `SELECT COUNT(*)` with a `WHERE` clause.
    pub fn count(&self, table: &str, predicate: &str) -> i64 {
        self.conn()
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE {predicate}"),
                [],
                |r| r.get(0),
            )
            .expect("a count")
    }

    /// Runs an action and returns its result (panics if it could not start).
    pub fn run(&self, plugin: &str, params: &[(&str, &str)]) -> b2b_host::service::ActionResult {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.svc
            .run_action(plugin, &params)
            .unwrap_or_else(|e| panic!("{plugin} could not start: {e}"))
    }

    /// Copies a fixture plugin (its plugin.toml and .wasm) into a directory of
    /// its own under this test's directory, ready for `plugin install`.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let (_, manifest, wasm) = FIXTURES
            .iter()
            .find(|(package, ..)| *package == name)
            .unwrap_or_else(|| panic!("no fixture plugin {name}"));
        let dir = self.dir.path().join("plugins").join(name);
        std::fs::create_dir_all(&dir).expect("a plugin directory");
        std::fs::copy(manifest, dir.join("plugin.toml")).expect("copy the manifest");
        std::fs::copy(wasm, dir.join(format!("{name}.wasm"))).expect("copy the component");
        dir
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}
