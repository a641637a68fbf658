//! One call into a plugin, `describe` or `run`, under a deadline that holds
//! whatever the plugin does.
//!
//! The call is a future on the engine's runtime, raced against the run's
//! deadline and its [`Stop`] signal. Code that computes yields at each epoch
//! tick; code that sleeps (WASI) or waits on a host call (HTTP) is waiting
//! on a future already. Either way, when the deadline passes or the run is
//! stopped the call's future is dropped, which cancels the plugin where it
//! stands, and the run ends within a tick. Nothing the plugin staged is
//! kept (the caller applies staged writes only for a report).

use super::limits::Limits;
use super::{Engine, Plugin, RunState};
use crate::actor::Actor;
use crate::capabilities::http::transport::Outbound;
use crate::capabilities::{seconds, HostContext, RunSetup};
use crate::error::{Error, Result};
use crate::import;
use crate::plugins::capability::Capability;
use crate::run_log::RunLog;
use crate::secrets::Secrets;
use crate::staged::Staged;
use crate::stop::Stop;
use crate::text::capped;
use crate::time::Timestamp;
use crate::world::{self, describe_error};
use rusqlite::Connection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use wasmtime::{Store, Trap};

/// How long `describe` may take: it should only return a record.
const DESCRIBE_LIMIT: Duration = Duration::from_secs(5);
/// Memory `describe` may use.
const DESCRIBE_MEMORY: usize = 64 << 20;
/// The most of a run's summary the host keeps.
const MAX_SUMMARY: usize = 4 << 10;
/// The most of a plugin's error message the host keeps.
const MAX_ERROR: usize = 4 << 10;
/// Size caps of a descriptor's parts.
const MAX_ID: usize = 64;
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 4 << 10;
const MAX_PARAMS: usize = 64;
const MAX_PARAM_TEXT: usize = 1 << 10;

/// What a plugin says it is (its `describe` export), checked and with every
/// text made safe to show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    /// Id, matching its manifest.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Its version, which must match the manifest's.
    pub version: String,
    /// What it does.
    pub description: String,
    /// The parameters it takes.
    pub params: Vec<ParamSpec>,
}

/// One parameter of an action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParamSpec {
    /// Name, as given on the command line (`--param NAME=VALUE`).
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
    /// Rows it changed (or would change, in a dry run).
    pub changed: u64,
    /// Rows left alone.
    pub skipped: u64,
    /// For a person reading the history (escaped, and cut to a few KiB).
    pub summary: String,
}

/// What the caller of a run supplies besides the plugin's own inputs: how
/// it is watched, stopped and (in tests) answered.
#[derive(Clone, Default)]
pub struct RunEnv {
    /// Told about each import file as it ends.
    pub progress: Option<import::Progress>,
    /// Stops the run early.
    pub stop: Stop,
    /// Scripted answers to its HTTP requests instead of the network (the
    /// plugin test harness).
    pub http_script: Option<super::HttpScript>,
}

/// Everything a run needs. The connection is the run's own; the plugin's
/// writes are staged, not made on it (see [`crate::staged`]).
pub struct RunRequest {
    /// The plugin's id, for the log and for audit rows.
    pub plugin_id: String,
    /// The connection every host call of the run uses.
    pub conn: Connection,
    /// What the plugin may do.
    pub grant: Vec<Capability>,
    /// Parameters, already checked against the descriptor.
    pub params: Vec<(String, String)>,
    /// Its time, memory and log limits (a task's time limit already applied).
    pub limits: Limits,
    /// When the run started (the plugin's only clock).
    pub started_at: Timestamp,
    /// Who the run acts as.
    pub actor: Actor,
    /// Where credentials the plugin names come from.
    pub secrets: Secrets,
    /// How the run is watched and stopped.
    pub env: RunEnv,
    /// The run's id in the history (its import files are recorded with it).
    pub run_id: i64,
}

/// How a run ended: the report or why it failed, its log, the connection
/// handed back, and what it left for the caller to keep or drop.
pub struct RunOutput {
    /// The report, or a message saying why the run failed.
    pub outcome: std::result::Result<Report, String>,
    /// The captured log.
    pub log: String,
    /// The run's connection.
    pub conn: Connection,
    /// The writes it staged: to apply only if it succeeded.
    pub staged: Staged,
    /// The import files it ended (each applied or failed on its own).
    pub files: import::Ended,
}

/// Why a call into a plugin did not return.
pub(super) enum Failed {
    /// It could not be instantiated within the run's limits.
    Start(wasmtime::Error),
    /// It trapped (or hit a limit) while running.
    Trap(wasmtime::Error),
}

/// How a raced call ended.
enum Ended<T> {
    Done(T),
    TimedOut,
    Stopped,
}

/// Runs `call` until it finishes, the deadline passes or `stop` is given,
/// whichever comes first; dropping the call cancels the plugin.
async fn race<T>(deadline: Instant, stop: &Stop, call: impl Future<Output = T>) -> Ended<T> {
    tokio::select! {
        biased;
        _ = stop.stopped() => Ended::Stopped,
        done = tokio::time::timeout_at(deadline, call) => match done {
            Ok(value) => Ended::Done(value),
            Err(_) => Ended::TimedOut,
        },
    }
}

impl Engine {
    /// Runs a plugin once in a fresh store, blocking the calling thread.
    /// Never panics on a misbehaving plugin: a trap, a limit, a stop or an
    /// error it returns becomes `outcome: Err`.
    pub fn run(&self, plugin: &Plugin, req: RunRequest) -> RunOutput {
        self.block_on(self.run_async(plugin, req))
    }

    /// [`Engine::run`] for a caller that is itself async.
    pub async fn run_async(&self, plugin: &Plugin, req: RunRequest) -> RunOutput {
        let deadline = Instant::now() + req.limits.time;
        let log = RunLog::new(&req.plugin_id, req.limits.log_bytes);
        let http = match req.env.http_script {
            Some(script) => Outbound::scripted(script, deadline, req.limits.http_timeout),
            None => Outbound::network(Arc::clone(&self.network), deadline, req.limits.http_timeout),
        };
        let host = HostContext::new(RunSetup {
            conn: req.conn,
            grant: req.grant,
            log: log.clone(),
            started_at: req.started_at,
            actor: req.actor,
            secrets: req.secrets,
            progress: req.env.progress,
            http,
            deadline: deadline.into_std(),
            stop: req.env.stop.clone(),
            run_id: req.run_id,
        });
        let mut store = self.store(host, req.limits.memory_bytes, req.started_at);
        let _ticking = self.ticker.ticking();
        let params = req.params;
        let ended = race(
            deadline,
            &req.env.stop,
            plugin.0.pre.run(&mut store, &params),
        )
        .await;
        let outcome = match ended {
            Ended::Done(Ok(Ok(report))) => Ok(Report::from_plugin(report, &log)),
            Ended::Done(Ok(Err(e))) => Err(format!(
                "the plugin stopped with an error: {}",
                log.kept(&describe_error(&e), MAX_ERROR)
            )),
            Ended::Done(Err(failed)) => Err(failure_message(&store, &failed)),
            Ended::TimedOut => Err(format!(
                "stopped: it ran past its time limit of {}",
                seconds(req.limits.time)
            )),
            Ended::Stopped => Err("stopped on request before it finished".to_string()),
        };
        let why = outcome
            .as_ref()
            .err()
            .map_or("the plugin returned without finishing it", String::as_str);
        let (conn, staged, files) = store
            .into_data()
            .host
            .finish(why)
            .expect("a run always has a connection");
        RunOutput {
            outcome,
            log: log.contents(),
            conn,
            staged,
            files,
        }
    }

    /// The plugin's descriptor, asked once per loaded plugin, under a short
    /// deadline of its own.
    pub fn describe(&self, plugin: &Plugin) -> Result<Descriptor> {
        self.describe_within(plugin, &Stop::default(), DESCRIBE_LIMIT)
    }

    /// [`Engine::describe`] for a run about to start: asking obeys the run's
    /// stop signal and takes no longer than `limit` (what the run has).
    pub fn describe_within(
        &self,
        plugin: &Plugin,
        stop: &Stop,
        limit: Duration,
    ) -> Result<Descriptor> {
        if let Some(d) = plugin.0.descriptor.get() {
            return Ok(d.clone());
        }
        let limit = limit.min(DESCRIBE_LIMIT);
        let descriptor = self.block_on(self.describe_async(plugin, stop, limit))?;
        Ok(plugin.0.descriptor.get_or_init(|| descriptor).clone())
    }

    async fn describe_async(
        &self,
        plugin: &Plugin,
        stop: &Stop,
        limit: Duration,
    ) -> Result<Descriptor> {
        let log = RunLog::new("describe", 16 << 10);
        let mut store = self.store(HostContext::describing(log), DESCRIBE_MEMORY, 0);
        let _ticking = self.ticker.ticking();
        let deadline = Instant::now() + limit;
        let ended = race(deadline, stop, plugin.0.pre.describe(&mut store)).await;
        let failed =
            |why: String| Error::ActionFailed(format!("its `describe` export failed: {why}"));
        match ended {
            Ended::Done(Ok(d)) => Descriptor::checked(d),
            Ended::Done(Err(failure)) => Err(failed(failure_message(&store, &failure))),
            Ended::TimedOut => Err(failed(format!(
                "it did not answer within {}; `describe` must only return the plugin's record",
                seconds(limit)
            ))),
            Ended::Stopped => Err(failed("stopped on request before it answered".into())),
        }
    }
}

/// Turns a failure into a sentence: which limit was hit, why the plugin
/// could not start, or what crashed with its last words from stderr.
fn failure_message(store: &Store<RunState>, failed: &Failed) -> String {
    let state = store.data();
    if state.limiter.hit {
        let which = if state.host.is_describing() {
            "the fixed limit for describe"
        } else {
            "plugins.memory_mb"
        };
        return format!(
            "stopped: it tried to use more than its memory limit of {} MiB ({which})",
            state.limiter.cap() >> 20
        );
    }
    let log = state.host.log();
    if matches!(failed, Failed::Trap(e) if format!("{e:#}").contains("fuel allocated for hostcalls"))
    {
        return format!(
            "stopped: it tried to hand the host more than {} MiB at once (a summary, a log line, a batch)",
            super::MAX_CALL_BYTES >> 20
        );
    }
    let e = match failed {
        Failed::Start(e) => {
            return format!(
                "it could not start within the host's limits for a run (memories, tables, instances): {}",
                capped(&format!("{e:#}"), MAX_ERROR)
            )
        }
        Failed::Trap(e) => e,
    };
    let trap = e
        .downcast_ref::<Trap>()
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("{e:#}"));
    let trap = log.kept(&trap, MAX_ERROR);
    let last_words = log.tail("stderr", 3).join(" / ");
    if last_words.is_empty() {
        format!("the plugin crashed: {trap}")
    } else {
        format!(
            "the plugin crashed: {trap}; its last output: {}",
            capped(&last_words, MAX_ERROR)
        )
    }
}

impl Report {
    /// The plugin's report, its summary escaped, cut to size and with every
    /// secret of the run redacted.
    fn from_plugin(r: world::Report, log: &RunLog) -> Report {
        Report {
            examined: r.examined,
            changed: r.changed,
            skipped: r.skipped,
            summary: log.kept(&r.summary, MAX_SUMMARY),
        }
    }
}

/// Refuses a text part of a descriptor over its cap, naming it.
fn within(what: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(Error::Refused(format!(
            "its descriptor's {what} has {} bytes, more than the {max} allowed; a plugin describes itself briefly",
            text.len()
        )));
    }
    Ok(())
}

/// Refuses a name that is not plain: letters, digits, `.`, `-`, `_`.
fn plain(what: &str, text: &str) -> Result<()> {
    within(what, text, MAX_ID)?;
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    {
        return Err(Error::Refused(format!(
            "its descriptor's {what} `{}` must be letters, digits, `.`, `-`, `_` or `+`",
            crate::text::capped(text, MAX_ID)
        )));
    }
    Ok(())
}

impl Descriptor {
    /// The plugin's own description of itself, refused when a part is over
    /// its size cap or a name is not plain, and with every text escaped.
    fn checked(d: world::Descriptor) -> Result<Descriptor> {
        plain("id", &d.id)?;
        plain("version", &d.version)?;
        within("name", &d.name, MAX_NAME)?;
        within("description", &d.description, MAX_DESCRIPTION)?;
        if d.params.len() > MAX_PARAMS {
            return Err(Error::Refused(format!(
                "its descriptor lists {} parameters, more than the {MAX_PARAMS} allowed",
                d.params.len()
            )));
        }
        let params = d
            .params
            .into_iter()
            .map(|p| {
                plain("parameter name", &p.name)?;
                within("parameter description", &p.description, MAX_PARAM_TEXT)?;
                within(
                    "parameter default",
                    p.default.as_deref().unwrap_or(""),
                    MAX_PARAM_TEXT,
                )?;
                Ok(ParamSpec {
                    name: p.name,
                    description: crate::text::shown(&p.description).into_owned(),
                    default: p.default.map(|d| crate::text::shown(&d).into_owned()),
                    required: p.required,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Descriptor {
            id: d.id,
            name: crate::text::shown(&d.name).into_owned(),
            version: d.version,
            description: crate::text::shown(&d.description).into_owned(),
            params,
        })
    }
}
