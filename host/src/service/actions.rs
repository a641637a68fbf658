//! Running an action plugin: checks, the run's transaction, its record.

use super::Service;
use crate::actor::Actor;
use crate::engine::{Descriptor, Limits, Report, RunRequest};
use crate::error::{Error, Result};
use crate::plugins::capability::Capability;
use crate::secrets::Secrets;
use crate::storage::{defaults, runs};
use crate::time;
use std::time::Duration;

/// How to run an action, beyond its parameters.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Told about each import file as it ends.
    pub progress: Option<crate::import::Progress>,
    /// Set to stop the run early.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// A shorter time limit than `plugins.time_limit_secs` (a task's).
    pub time_limit: Option<Duration>,
    /// The task run this action run is part of.
    pub task_run: Option<i64>,
    /// Scripted answers to the run's HTTP requests instead of the network
    /// (the plugin test harness).
    pub http_script: Option<crate::engine::HttpScript>,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionResult {
    /// The run's id in the history.
    pub run_id: i64,
    /// The plugin run.
    pub plugin_id: String,
    /// The report, or why it failed (its changes were then rolled back).
    pub outcome: std::result::Result<Report, String>,
    /// The captured log.
    pub log: String,
}

impl Service {
    /// Runs an action with parameters `name=value`. The whole run is one
    /// transaction: it commits when the plugin reports success and rolls
    /// back on any failure (an error, a trap, a limit). A failed run is not
    /// an `Err` here: it is recorded and returned in `outcome`; `Err` means
    /// the run could not start (unknown plugin, bad parameter, changed wasm).
    pub fn run_action(&self, plugin_id: &str, params: &[(String, String)]) -> Result<ActionResult> {
        self.run_action_with(plugin_id, params, RunOptions::default())
    }

    /// [`Service::run_action`] with the options a caller such as the
    /// scheduler or the CLI's progress display needs.
    pub fn run_action_with(
        &self,
        plugin_id: &str,
        params: &[(String, String)],
        options: RunOptions,
    ) -> Result<ActionResult> {
        let (record, plugin) = self.load_granted(plugin_id)?;
        let engine = self.engine()?;
        let descriptor = engine.describe(&plugin)?;
        let params = check_params(&descriptor, params)?;
        let mut limits = self.limits()?;
        if let Some(time) = options.time_limit {
            limits.time = limits.time.min(time);
        }
        let params_json = serde_json::to_string(&params).expect("pairs of strings serialise");
        let run_id = runs::start(
            &self.conn,
            &record.id,
            &record.version,
            &params_json,
            self.actor.as_str(),
            options.task_run,
        )?;

        let grant = Capability::parse_all(&record.granted)?;
        // An import commits school by school (each file is its own
        // transaction); every other action is one transaction.
        let whole_run_tx = !grant.contains(&Capability::Import);
        let run_conn = self.db.connect()?;
        if whole_run_tx {
            run_conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        let output = engine.run(
            &plugin,
            RunRequest {
                plugin_id: record.id.clone(),
                conn: run_conn,
                grant,
                params,
                limits,
                started_at: time::now(),
                actor: Actor::plugin_run(&record.id, run_id),
                secrets: Secrets::for_db(self.db.path()),
                progress: options.progress,
                stop: options.stop,
                http_script: options.http_script,
            },
        );
        let outcome = match output.outcome {
            Ok(report) if !whole_run_tx => Ok(report),
            Ok(report) => output
                .conn
                .execute_batch("COMMIT")
                .map(|_| report)
                .map_err(|e| format!("the run's changes could not be saved: {e}")),
            Err(e) => Err(e),
        };
        if outcome.is_err() && whole_run_tx {
            // Nothing the run did may remain. Rollback only fails when there
            // is no transaction left, which means nothing is pending.
            let _ = output.conn.execute_batch("ROLLBACK");
        }
        let stored = match &outcome {
            Ok(r) => runs::Outcome::Succeeded {
                counts: runs::Counts {
                    examined: r.examined,
                    changed: r.changed,
                    skipped: r.skipped,
                },
                summary: r.summary.clone(),
            },
            Err(e) => runs::Outcome::Failed { error: e.clone() },
        };
        runs::finish(&self.conn, run_id, &stored, &output.log)?;
        Ok(ActionResult {
            run_id,
            plugin_id: record.id,
            outcome,
            log: output.log,
        })
    }

    fn limits(&self) -> Result<Limits> {
        let int = |key| defaults::get_int(&self.conn, key);
        Ok(Limits {
            time: Duration::from_secs(int("plugins.time_limit_secs")? as u64),
            memory_bytes: (int("plugins.memory_mb")? as usize) << 20,
            log_bytes: (int("plugins.log_kb")? as usize) << 10,
        })
    }
}

/// Checks parameters against what the plugin declares and fills in defaults,
/// so a typo is refused before anything runs.
pub(super) fn check_params(
    d: &Descriptor,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let known = || {
        if d.params.is_empty() {
            "it takes no parameters".to_string()
        } else {
            let list: Vec<String> = d
                .params
                .iter()
                .map(|p| format!("{} ({})", p.name, p.description))
                .collect();
            format!("it takes: {}", list.join("; "))
        }
    };
    for (name, _) in given {
        if !d.params.iter().any(|p| &p.name == name) {
            return Err(Error::invalid(format!(
                "`{name}` is not a parameter of {}; {}",
                d.id,
                known()
            )));
        }
        if given.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(Error::invalid(format!(
                "parameter `{name}` is given more than once"
            )));
        }
    }
    let mut params = Vec::new();
    for spec in &d.params {
        match given.iter().find(|(n, _)| *n == spec.name) {
            Some(pair) => params.push(pair.clone()),
            None if spec.required => {
                return Err(Error::invalid(format!(
                    "{} needs the parameter `{}` ({}); pass --param {}=VALUE",
                    d.id, spec.name, spec.description, spec.name
                )))
            }
            None => {
                if let Some(default) = &spec.default {
                    params.push((spec.name.clone(), default.clone()));
                }
            }
        }
    }
    Ok(params)
}

/// Splits `name=value`, for the CLI and task definitions.
pub fn parse_param(raw: &str) -> Result<(String, String)> {
    match raw.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(Error::invalid(format!(
            "parameter `{raw}` must be written name=value"
        ))),
    }
}
