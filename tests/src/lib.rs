//! What the end-to-end tests share: a fresh database on disk per test, one
//! plugin engine per test process (so each component compiles once), and
//! the fixture plugins copied where a test can install or tamper with them.

pub mod lab;

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

/// Every row of every table, as text, except the tables named: what a test
/// compares before and after a run to show it changed nothing.
pub type Dump = std::collections::BTreeMap<String, Vec<String>>;

impl TestDb {
    /// A dump of every table but those in `except`.
    pub fn dump(&self, except: &[&str]) -> Dump {
        let conn = self.conn();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables
            .into_iter()
            .filter(|t| !except.contains(&t.as_str()))
            .map(|table| {
                let mut stmt = conn
                    .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                    .unwrap();
                let columns = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        let cells: Vec<String> = (0..columns)
                            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                            .collect();
                        Ok(cells.join("|"))
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                (table, rows)
            })
            .collect()
    }

    /// Whether `needle` appears anywhere in the database's files (the main
    /// file and its write-ahead log).
    pub fn files_contain(&self, needle: &[u8]) -> bool {
        let db = self.svc.db().path();
        ["", "-wal", "-shm"].iter().any(|suffix| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            std::fs::read(&path)
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
    }
}

/// The `b2b` binary of this build, beside the test binaries (cargo builds it
/// for the host crate's own tests when the workspace is tested).
pub fn b2b_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("b2b"))
        .expect("target/<profile>/");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --bin b2b`) first",
        bin.display()
    );
    bin
}

/// How a [`Loopback`] server answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with the request's head (its line and headers) as the body.
    Echo,
    /// This status with these headers and an empty body.
    Status(u16, Vec<(String, String)>),
    /// Nothing for this long, then 200.
    Stall(std::time::Duration),
}

/// An HTTP server on 127.0.0.1 that answers every request the same way and
/// keeps each request's head, for tests of what the host sends. It stops
/// when dropped.
pub struct Loopback {
    /// Its port.
    pub port: u16,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Loopback {
    /// Starts a server answering `answer`.
    pub fn start(answer: Answer) -> Loopback {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, stop) = (Arc::clone(&heads), Arc::clone(&stopping));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (seen, answer, stop) =
                            (Arc::clone(&seen), answer.clone(), Arc::clone(&stop));
                        std::thread::spawn(move || serve(stream, &answer, &seen, &stop));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        Loopback {
            port,
            heads,
            stopping,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The heads of the requests received so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn serve(
    mut stream: std::net::TcpStream,
    answer: &Answer,
    seen: &std::sync::Mutex<Vec<String>>,
    stopping: &std::sync::atomic::AtomicBool,
) {
    use std::io::{Read, Write};
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    seen.lock().unwrap().push(head.clone());
    let (status, headers, body) = match answer {
        Answer::Echo => (200, Vec::new(), head),
        Answer::Status(status, headers) => (*status, headers.clone(), String::new()),
        Answer::Stall(wait) => {
            let until = std::time::Instant::now() + *wait;
            while std::time::Instant::now() < until
                && !stopping.load(std::sync::atomic::Ordering::Relaxed)
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            (200, Vec::new(), String::new())
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let _ = stream.write_all(response.as_bytes());
}

/// A trigger from its JSON form, e.g. `{"kind": "daily", "at": "13:00"}`.
pub fn trigger(json: serde_json::Value) -> b2b_host::triggers::Trigger {
    serde_json::from_value(json).expect("a trigger")
}

/// A task running one plugin on one trigger, with the defaults a person gets.
pub fn task(
    name: &str,
    plugin: &str,
    trigger: b2b_host::triggers::Trigger,
) -> b2b_host::storage::tasks::TaskDefinition {
    use b2b_host::storage::tasks::{Overlap, TaskAction, TaskDefinition};
    TaskDefinition {
        name: name.into(),
        description: String::new(),
        enabled: true,
        time_zone: "Europe/London".into(),
        overlap: Overlap::IgnoreNew,
        time_limit_secs: 3600,
        catch_up: false,
        starting_deadline_secs: 86_400,
        restart_on_failure: None,
        delete_expired_after_days: None,
        triggers: vec![trigger],
        actions: vec![TaskAction {
            plugin: plugin.into(),
            params: Default::default(),
            on_failure: Default::default(),
        }],
    }
}
