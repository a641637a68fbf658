//! The plugin engine: wasmtime set up for B2B actions.
//!
//! One [`Engine`] per process compiles each distinct wasm once (and caches
//! the compiled code on disk), keeps an `InstancePre` per plugin, and gives
//! every run a fresh store with its own limits, log and database connection.
//! Nothing outside this module and `capabilities` sees a wasmtime type.
//!
//! Plugins run on the engine's tokio runtime with wasmtime's async support:
//! the run is a future raced against its deadline and its stop signal, and
//! computing code yields at every epoch tick, so a run ends on time whatever
//! the plugin does (see `run.rs`).

pub mod compile_cache;
mod limits;
mod run;
mod wasi;

pub use crate::capabilities::denied_in;
pub use crate::capabilities::http::{Fault, HttpScript, ScriptedAnswer};
pub use crate::digest::sha256_hex;
pub use crate::stop::Stop;
pub use limits::Limits;
pub use run::{Descriptor, ParamSpec, Report, RunEnv, RunOutput, RunRequest};

use crate::capabilities::http::transport::Network;
use crate::capabilities::HostContext;
use crate::error::{Error, Result};
use crate::world::v0_1::{self as world_0_1, Cast};
use crate::world::{self, Action, ActionPre};
use limits::{RunLimiter, Ticker};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A component ready to instantiate, by the WIT version it was built
/// against.
enum Pre {
    /// The current `b2b:plugin@0.2.0`.
    Now(ActionPre<RunState>),
    /// The frozen `b2b:plugin@0.1.0`.
    V0_1(world_0_1::ActionPre<RunState>),
}

impl Pre {
    /// The component's `run` export, instantiated in `store`.
    async fn run(
        &self,
        store: &mut Store<RunState>,
        params: &[(String, String)],
    ) -> std::result::Result<std::result::Result<world::Report, world::WitError>, run::Failed> {
        use run::Failed;
        match self {
            Pre::Now(pre) => {
                let action = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(Failed::Start)?;
                action.call_run(store, params).await.map_err(Failed::Trap)
            }
            Pre::V0_1(pre) => {
                let action = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(Failed::Start)?;
                let ran = action.call_run(store, params).await.map_err(Failed::Trap)?;
                Ok(ran.cast())
            }
        }
    }

    /// The component's `describe` export, instantiated in `store`.
    async fn describe(
        &self,
        store: &mut Store<RunState>,
    ) -> std::result::Result<world::Descriptor, run::Failed> {
        use run::Failed;
        match self {
            Pre::Now(pre) => {
                let action = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(Failed::Start)?;
                action.call_describe(store).await.map_err(Failed::Trap)
            }
            Pre::V0_1(pre) => {
                let action = pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(Failed::Start)?;
                let described = action.call_describe(store).await.map_err(Failed::Trap)?;
                Ok(described.cast())
            }
        }
    }
}

/// Runs this engine keeps in progress at once (every scheduled task, person
/// and test in the process together); a run beyond it fails to start with a
/// message saying so, rather than taking memory without bound.
const MAX_CONCURRENT_RUNS: u32 = 64;

/// The most data one host call may carry from the plugin into the host (a
/// batch of students, a payload chunk, a log line): wasmtime copies it out of
/// the plugin's memory before any host code can refuse it.
const MAX_CALL_BYTES: usize = 32 << 20;
/// The most WASI handles (streams, pollables) a run may hold at once.
const MAX_HANDLES: usize = 10_000;

/// A loaded plugin: compiled, linked and checked against the `action` world.
/// Cheap to clone.
#[derive(Clone)]
pub struct Plugin(Arc<Loaded>);

struct Loaded {
    pre: Pre,
    sha256: String,
    code_sha256: String,
    descriptor: OnceLock<Descriptor>,
}

impl Plugin {
    /// sha256 of the wasm, hex.
    pub fn sha256(&self) -> &str {
        &self.0.sha256
    }

    /// sha256 of its compiled code, hex: what to record so that a later
    /// process may load that code from the cache (see [`compile_cache`]).
    pub fn code_sha256(&self) -> &str {
        &self.0.code_sha256
    }
}

/// The store data of one run.
pub(crate) struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: RunLimiter,
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
    network: Arc<Network>,
    runtime: tokio::runtime::Runtime,
}

/// The pooling allocator's limits: instances, memories, tables and fiber
/// stacks for [`MAX_CONCURRENT_RUNS`] runs each using all a run may, so one
/// run at its limits cannot starve the others. Slots are reserved address
/// space, not memory; each run's real use is held to its own budget by the
/// run's limiter.
fn pooling() -> PoolingAllocationConfig {
    let runs = MAX_CONCURRENT_RUNS;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(runs)
        .total_core_instances(runs * limits::MAX_INSTANCES as u32)
        .total_memories(runs * limits::MAX_MEMORIES as u32)
        .total_tables(runs * limits::MAX_TABLES as u32)
        .total_stacks(runs)
        .max_memories_per_module(limits::MAX_MEMORIES as u32)
        .max_tables_per_module(limits::MAX_TABLES as u32)
        .table_elements(100_000);
    pool
}

impl Engine {
    /// An engine caching compiled code in `cache_dir` (see
    /// [`compile_cache::default_dir`]); `None` compiles in memory only.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Engine> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
        let engine = wasmtime::Engine::new(&config).map_err(internal)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(internal)?;
        // Every WIT version, each under its own versioned names.
        Action::add_to_linker::<RunState, HasSelf<HostContext>>(&mut linker, |s| &mut s.host)
            .map_err(internal)?;
        world_0_1::Action::add_to_linker::<RunState, HasSelf<HostContext>>(&mut linker, |s| {
            &mut s.host
        })
        .map_err(internal)?;
        let ticker = Ticker::start(&engine);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("b2b-engine")
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("the plugin engine could not start: {e}")))?;
        let network = Arc::new(Network::default());
        Ok(Engine {
            engine,
            linker,
            cache_dir,
            loaded: Mutex::new(HashMap::new()),
            ticker,
            network,
            runtime,
        })
    }

    /// Runs a future of this engine (a run, a `describe`) to its end from a
    /// thread that is not itself running async code: the CLI, a scheduled
    /// task's thread, a test.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// What names the compiled code this engine can run: with a wasm's
    /// sha256, the key under which its compiled code's hash is recorded.
    pub fn code_key(&self) -> String {
        compile_cache::engine_key(&self.engine)
    }

    /// Loads a plugin from its wasm bytes, reusing one loaded before in this
    /// process, else its compiled code from the disk cache when that code
    /// hashes to `trusted`, else compiling it. A file that is not a
    /// component, or a component for another world or WIT version, is
    /// refused with a message naming what it imports and exports and what
    /// this host offers.
    pub fn load(&self, wasm: &[u8], trusted: Option<&str>) -> Result<Plugin> {
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
        let compiled = compile_cache::load(
            &self.engine,
            wasm,
            &sha256,
            self.cache_dir.as_deref(),
            trusted,
        )?;
        let pre = self.pre(&compiled.component)?;
        let plugin = Plugin(Arc::new(Loaded {
            pre,
            sha256: sha256.clone(),
            code_sha256: compiled.code_sha256,
            descriptor: OnceLock::new(),
        }));
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sha256, plugin.clone());
        Ok(plugin)
    }

    /// The component linked against the WIT version it imports: the
    /// current one, else an earlier one this host still serves.
    fn pre(&self, component: &Component) -> Result<Pre> {
        let instance = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| self.wrong_world(component, e))?;
        if let Ok(pre) = ActionPre::new(instance.clone()) {
            return Ok(Pre::Now(pre));
        }
        world_0_1::ActionPre::new(instance)
            .map(Pre::V0_1)
            .map_err(|e| self.wrong_world(component, e))
    }

    fn wrong_world(&self, component: &Component, e: wasmtime::Error) -> Error {
        let ty = component.component_type();
        // The names come from the file, so they are shown escaped.
        let names = |items: Vec<String>| {
            if items.is_empty() {
                "nothing".to_string()
            } else {
                crate::text::capped(&items.join(", "), 4 << 10)
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
            "this component is not a B2B action for this host: {}.\n  \
             It imports: {imports}\n  It exports: {exports}\n  \
             This host offers the worlds `b2b:plugin/action@0.2.0` and `b2b:plugin/action@0.1.0`: it provides \
             b2b:plugin/{{types, log, settings, conflicts, students, files, cache, http, incoming}} at 0.2.0 and \
             at 0.1.0, and WASI 0.2 (with nothing granted), and expects the exports `describe` and `run` of the \
             same version. Build the plugin against wit/b2b.wit of this release (0.2.0).",
            crate::text::capped(&format!("{e:#}"), 4 << 10)
        ))
    }

    /// A fresh store for one run or `describe`: its WASI, its memory budget,
    /// and an epoch callback that makes computing code yield at every tick,
    /// so the run's deadline and stop signal are seen within a tick.
    fn store(
        &self,
        host: HostContext,
        memory_bytes: usize,
        started_at: crate::time::Timestamp,
    ) -> Store<RunState> {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HANDLES);
        let state = RunState {
            wasi: wasi::context(host.log(), started_at),
            table,
            limiter: RunLimiter::new(memory_bytes),
            host,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(MAX_CALL_BYTES);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store
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
