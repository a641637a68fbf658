//! The plugin engine: wasmtime set up for B2B actions.
//!
//! One [`Engine`] per process compiles each distinct wasm once (and caches
//! the compiled code on disk), keeps an `InstancePre` per plugin, and gives
//! every run a fresh store with its own limits, log and database connection.
//! Nothing outside this module and `capabilities` sees a wasmtime type.

pub(crate) mod bindings;
pub mod compile_cache;
mod limits;
pub mod output;

pub use crate::capabilities::http::{Fault, HttpScript, ScriptedAnswer};
pub use limits::Limits;

use crate::actor::Actor;
use crate::capabilities::HostContext;
use crate::error::{Error, Result};
use crate::plugins::capability::Capability;
use crate::time::Timestamp;
use bindings::{Action, ActionPre};
use limits::{MemoryLimiter, Ticker};
use output::{Capture, RunLog, Stream};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What a plugin says it is (its `describe` export).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    /// Id, matching its manifest.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// The parameters it takes.
    pub params: Vec<ParamSpec>,
}

/// One parameter of an action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Value used when not given.
    pub default: Option<String>,
    /// Whether it must be given.
    pub required: bool,
}

/// What a successful run reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Rows looked at.
    pub examined: u64,
    /// Rows changed.
    pub changed: u64,
    /// Rows left alone.
    pub skipped: u64,
    /// For a person reading the history.
    pub summary: String,
}

/// Everything a run needs. The connection is inside the transaction the
/// caller will commit or roll back, except for import runs, whose unit of
/// atomicity is each school's file.
pub struct RunRequest {
    /// The plugin's id, for the log and for audit rows.
    pub plugin_id: String,
    /// The connection every host call of the run uses.
    pub conn: Connection,
    /// What the plugin may do.
    pub grant: Vec<Capability>,
    /// Parameters, already checked against the descriptor.
    pub params: Vec<(String, String)>,
    /// Limits.
    pub limits: Limits,
    /// When the run started (the plugin's only clock).
    pub started_at: Timestamp,
    /// Who the run acts as.
    pub actor: Actor,
    /// Where credentials the plugin names come from.
    pub secrets: crate::secrets::Secrets,
    /// Told about each import file as it ends.
    pub progress: Option<crate::import::Progress>,
    /// Set to stop the run early (a task's "stop existing" overlap policy,
    /// a daemon shutting down).
    pub stop: Option<Arc<AtomicBool>>,
    /// Scripted answers to its HTTP requests instead of the network (tests).
    pub http_script: Option<HttpScript>,
}

/// How a run ended: the report or why it failed, its log, and the
/// connection handed back for commit or rollback.
pub struct RunOutput {
    /// The report, or a message saying why the run failed.
    pub outcome: std::result::Result<Report, String>,
    /// The captured log.
    pub log: String,
    /// The run's connection, still inside its transaction.
    pub conn: Connection,
}

/// A loaded plugin: compiled, linked and checked against the `action` world.
/// Cheap to clone.
#[derive(Clone)]
pub struct Plugin(Arc<Loaded>);

struct Loaded {
    pre: ActionPre<RunState>,
    sha256: String,
    descriptor: OnceLock<Descriptor>,
}

impl Plugin {
    /// sha256 of the wasm, hex.
    pub fn sha256(&self) -> &str {
        &self.0.sha256
    }
}

/// The store data of one run.
pub(crate) struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    timed_out: bool,
    stopped: bool,
    pub(crate) host: HostContext,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The process's plugin engine.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<RunState>,
    cache_dir: Option<PathBuf>,
    loaded: Mutex<HashMap<String, Plugin>>,
    ticker: Ticker,
}

/// sha256 of some bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Engine {
    /// An engine caching compiled code in `cache_dir` (see
    /// [`compile_cache::default_dir`]); `None` compiles in memory only.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Engine> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).map_err(internal)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(internal)?;
        Action::add_to_linker::<RunState, HasSelf<HostContext>>(&mut linker, |s| &mut s.host)
            .map_err(internal)?;
        let ticker = Ticker::start(&engine);
        Ok(Engine {
            engine,
            linker,
            cache_dir,
            loaded: Mutex::new(HashMap::new()),
            ticker,
        })
    }

    /// Loads a plugin from its wasm bytes, reusing one loaded before. A file
    /// that is not a component, or a component for another world or WIT
    /// version, is refused with a message naming what it imports and exports
    /// and what this host offers.
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin> {
        let sha256 = sha256_hex(wasm);
        if let Some(p) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sha256)
        {
            return Ok(p.clone());
        }
        check_header(wasm)?;
        let component =
            compile_cache::load(&self.engine, wasm, &sha256, self.cache_dir.as_deref())?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(ActionPre::new)
            .map_err(|e| self.wrong_world(&component, e))?;
        let plugin = Plugin(Arc::new(Loaded {
            pre,
            sha256: sha256.clone(),
            descriptor: OnceLock::new(),
        }));
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sha256, plugin.clone());
        Ok(plugin)
    }

    fn wrong_world(&self, component: &Component, e: wasmtime::Error) -> Error {
        let ty = component.component_type();
        let names = |items: Vec<String>| {
            if items.is_empty() {
                "nothing".to_string()
            } else {
                items.join(", ")
            }
        };
        let imports = names(
            ty.imports(&self.engine)
                .map(|(n, _)| n.to_string())
                .collect(),
        );
        let exports = names(
            ty.exports(&self.engine)
                .map(|(n, _)| n.to_string())
                .collect(),
        );
        Error::Refused(format!(
            "this component is not a B2B action for this host: {e:#}.\n  \
             It imports: {imports}\n  It exports: {exports}\n  \
             This host offers the world `b2b:plugin/action@0.1.0`: it provides b2b:plugin/{{types, log, settings, \
             conflicts, students, files, cache}}@0.1.0 and WASI 0.2 (with nothing granted), and expects the exports \
             `describe` and `run`. Build the plugin against wit/b2b.wit of this release."
        ))
    }

    /// The plugin's descriptor, asked once per loaded plugin.
    pub fn describe(&self, plugin: &Plugin) -> Result<Descriptor> {
        if let Some(d) = plugin.0.descriptor.get() {
            return Ok(d.clone());
        }
        let limits = Limits {
            time: std::time::Duration::from_secs(10),
            memory_bytes: 64 << 20,
            log_bytes: 16 << 10,
        };
        let host = HostContext::new(
            None,
            Vec::new(),
            RunLog::new("describe", limits.log_bytes),
            0,
            Actor::system(),
            None,
        );
        let mut store = self.store(host, &limits, None);
        let descriptor = plugin
            .0
            .pre
            .instantiate(&mut store)
            .and_then(|action| action.call_describe(&mut store))
            .map(Descriptor::from)
            .map_err(|e| {
                Error::ActionFailed(format!(
                    "its `describe` export failed: {}",
                    failure_message(&store, &e)
                ))
            })?;
        Ok(plugin.0.descriptor.get_or_init(|| descriptor).clone())
    }

    /// Runs a plugin once in a fresh store. Never panics on a misbehaving
    /// plugin: a trap, a limit or an error it returns becomes `outcome: Err`.
    pub fn run(&self, plugin: &Plugin, req: RunRequest) -> RunOutput {
        let log = RunLog::new(&req.plugin_id, req.limits.log_bytes);
        let mut host = HostContext::new(
            Some(req.conn),
            req.grant,
            log.clone(),
            req.started_at,
            req.actor,
            Some(req.secrets),
        );
        host.set_progress(req.progress);
        host.set_http_script(req.http_script);
        let mut store = self.store(host, &req.limits, req.stop.clone());
        let _ticking = self.ticker.ticking();
        let result = plugin
            .0
            .pre
            .instantiate(&mut store)
            .and_then(|action: Action| action.call_run(&mut store, &req.params));
        let outcome = match result {
            Ok(Ok(report)) => Ok(Report::from(report)),
            Ok(Err(e)) => Err(format!(
                "the plugin stopped with an error: {}",
                crate::capabilities::describe_error(&e)
            )),
            Err(e) => Err(failure_message(&store, &e)),
        };
        let why = outcome
            .as_ref()
            .err()
            .map_or("the plugin returned without finishing it", String::as_str);
        let conn = store
            .into_data()
            .host
            .finish(why)
            .expect("a run always has a connection");
        RunOutput {
            outcome,
            log: log.contents(),
            conn,
        }
    }

    fn store(
        &self,
        host: HostContext,
        limits: &Limits,
        stop: Option<Arc<AtomicBool>>,
    ) -> Store<RunState> {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(Capture::new(host.log(), Stream::Stdout))
            .stderr(Capture::new(host.log(), Stream::Stderr));
        let state = RunState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            timed_out: false,
            stopped: false,
            host,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let deadline = Instant::now() + limits.time;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                ctx.data_mut().stopped = true;
                Ok(UpdateDeadline::Interrupt)
            } else if Instant::now() >= deadline {
                ctx.data_mut().timed_out = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        store
    }
}

/// Turns a trap into a sentence: which limit was hit, or what crashed with
/// the plugin's last words from stderr.
fn failure_message(store: &Store<RunState>, e: &wasmtime::Error) -> String {
    let state = store.data();
    if state.stopped {
        return "stopped on request before it finished".to_string();
    }
    if state.timed_out {
        return "stopped: it ran past its time limit".to_string();
    }
    if state.limiter.hit {
        return format!(
            "stopped: it tried to use more than its memory limit of {} MiB (plugins.memory_mb)",
            state.limiter_cap_mib()
        );
    }
    let trap = e
        .downcast_ref::<Trap>()
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("{e:#}"));
    let last_words = state.host.log().tail("stderr", 3).join(" / ");
    if last_words.is_empty() {
        format!("the plugin crashed: {trap}")
    } else {
        format!("the plugin crashed: {trap}; its last output: {last_words}")
    }
}

impl RunState {
    fn limiter_cap_mib(&self) -> usize {
        self.limiter.cap() >> 20
    }
}

/// Checks the first bytes, so that a file that is not a component at all gets
/// a message saying so rather than a parser error.
fn check_header(wasm: &[u8]) -> Result<()> {
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00]) => Ok(()),
        Some([0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00]) => Err(Error::Refused(
            "this is a core WebAssembly module, not a component; build the plugin for the wasm32-wasip2 target \
             (`cargo build --target wasm32-wasip2 --release`)"
                .into(),
        )),
        _ => Err(Error::Refused(
            "this is not a WebAssembly component (it does not start with the `\\0asm` component header); \
             point at the plugin's .wasm file built for wasm32-wasip2"
                .into(),
        )),
    }
}

fn internal(e: wasmtime::Error) -> Error {
    Error::Io(format!("the plugin engine could not start: {e:#}"))
}

impl From<bindings::Descriptor> for Descriptor {
    fn from(d: bindings::Descriptor) -> Self {
        Descriptor {
            id: d.id,
            name: d.name,
            version: d.version,
            description: d.description,
            params: d
                .params
                .into_iter()
                .map(|p| ParamSpec {
                    name: p.name,
                    description: p.description,
                    default: p.default,
                    required: p.required,
                })
                .collect(),
        }
    }
}

impl From<bindings::Report> for Report {
    fn from(r: bindings::Report) -> Self {
        Report {
            examined: r.examined,
            changed: r.changed,
            skipped: r.skipped,
            summary: r.summary,
        }
    }
}
