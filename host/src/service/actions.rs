//! Running an action plugin: checks, its record, and what of it is kept.

use super::Service;
use crate::actor::Actor;
use crate::engine::{Descriptor, Limits, Report, RunEnv, RunOutput, RunRequest};
use crate::error::{Error, Result};
use crate::import;
use crate::lease::{ignore_loss, Lease, RUN_LEASE};
use crate::plugins::capability::Capability;
use crate::secrets::Secrets;
use crate::staged::{Applied, Staged};
use crate::storage::{defaults, in_transaction, leases, orphans, runs};
use crate::time;
use rusqlite::Connection;
use std::time::Duration;

/// How to run an action, beyond its parameters.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// How the run is watched, stopped and (in tests) answered.
    pub env: RunEnv,
    /// A shorter time limit than `plugins.time_limit_secs` (a task's).
    pub time_limit: Option<Duration>,
    /// The task run this action run is part of.
    pub task_run: Option<i64>,
    /// The lease of the process running it, when it holds one already (the
    /// scheduler's); otherwise the run takes one of its own.
    pub owner: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionResult {
    /// The run's id in the history.
    pub run_id: i64,
    /// The plugin run.
    pub plugin_id: String,
    /// How it ended: succeeded, partial (it reported, but some schools'
    /// import files failed) or failed.
    pub status: runs::Status,
    /// The report, or why it failed and what of it was kept.
    pub outcome: std::result::Result<Report, String>,
    /// What its staged writes did when they were applied (nothing for a
    /// failed run).
    pub applied: Applied,
    /// The import files it ended: each applied or failed on its own.
    pub files: import::Ended,
    /// The captured log.
    pub log: String,
}

/// Marks a run failed if the code between its start and its record is left
/// by a panic, so no run stays `running` for ever.
struct Recorded<'a> {
    conn: &'a Connection,
    run_id: i64,
    done: bool,
}

impl Drop for Recorded<'_> {
    fn drop(&mut self) {
        if !self.done {
            let failed = runs::Outcome::Failed {
                error: "the host failed while recording it; see the host's log, and the import \
                        files and changes of this run"
                    .into(),
            };
            // The panic that brought us here is what gets reported.
            let _ = runs::finish(self.conn, self.run_id, &failed, "");
        }
    }
}

impl Service {
    /// Runs an action with parameters `name=value`. What the plugin writes
    /// is staged and applied in one short transaction when it reports
    /// success; any failure (an error, a trap, a limit, a stop) drops it, so
    /// only the import files it finished remain. A failed run is not an
    /// `Err` here: it is recorded and returned in `outcome`; `Err` means the
    /// run could not start (unknown plugin, bad parameter, changed wasm).
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
        let mut limits = self.limits()?;
        if let Some(time) = options.time_limit {
            limits.time = limits.time.min(time);
        }
        // Asking a plugin what it takes is part of its run: it obeys the
        // run's stop and spends the run's time.
        let asked = std::time::Instant::now();
        let descriptor = engine.describe_within(&plugin, &options.env.stop, limits.time)?;
        limits.time = limits.time.saturating_sub(asked.elapsed());
        let params = check_params(&descriptor, params)?;
        let grant = Capability::parse_all(&record.granted)?;
        let run_conn = self.db.connect()?;
        let params_json = serde_json::to_string(&params).expect("pairs of strings serialise");
        let own_lease = match &options.owner {
            Some(_) => None,
            None => Some(Lease::register(&self.db, RUN_LEASE, ignore_loss())?),
        };
        let owner = options
            .owner
            .as_deref()
            .or(own_lease.as_ref().map(Lease::id))
            .expect("a lease was given or taken");
        self.recover_orphans()?;
        // Everything that can refuse the run is above; from here it is
        // recorded, and `Recorded` sees that it is finished.
        let run_id = runs::start(
            &self.conn,
            &runs::Starting {
                plugin_id: &record.id,
                version: &record.version,
                params: &params_json,
                actor: self.actor.as_str(),
                task_run: options.task_run,
                owner,
            },
        )?;
        let mut recorded = Recorded {
            conn: &self.conn,
            run_id,
            done: false,
        };
        let actor = Actor::plugin_run(&record.id, run_id);
        let RunOutput {
            outcome,
            log,
            conn,
            staged,
            files,
        } = engine.run(
            &plugin,
            RunRequest {
                plugin_id: record.id.clone(),
                conn: run_conn,
                grant,
                params,
                limits,
                started_at: time::now(),
                actor: actor.clone(),
                secrets: Secrets::for_db(self.db.path()),
                env: options.env,
                run_id,
            },
        );
        let (outcome, applied) = settle(outcome, staged, &conn, &files, &actor, run_id);
        let stored = match &outcome {
            Ok(r) => {
                let counts = runs::Counts {
                    examined: r.examined,
                    changed: r.changed,
                    skipped: r.skipped,
                };
                let summary = r.summary.clone();
                if files.any_failed() {
                    runs::Outcome::Partial { counts, summary }
                } else {
                    runs::Outcome::Succeeded { counts, summary }
                }
            }
            Err(e) => runs::Outcome::Failed { error: e.clone() },
        };
        runs::finish(&self.conn, run_id, &stored, &log)?;
        recorded.done = true;
        Ok(ActionResult {
            run_id,
            plugin_id: record.id,
            status: stored.status(),
            outcome,
            applied,
            files,
            log,
        })
    }

    /// Ends what dead b2b processes left behind (runs still marked running,
    /// import files still open), so that a killed import's files do not
    /// stay queued for ever; a live process's are never touched.
    fn recover_orphans(&self) -> Result<()> {
        let now = leases::now_ms();
        if orphans::pending(&self.conn, now)? {
            in_transaction(&self.conn, |tx| orphans::recover(tx, now))?;
        }
        Ok(())
    }

    fn limits(&self) -> Result<Limits> {
        let int = |key| defaults::get_int(&self.conn, key);
        Ok(Limits {
            time: Duration::from_secs(int("plugins.time_limit_secs")? as u64),
            memory_bytes: (int("plugins.memory_mb")? as usize) << 20,
            log_bytes: (int("plugins.log_kb")? as usize) << 10,
            http_timeout: Duration::from_secs(int("plugins.http_timeout_secs")? as u64),
        })
    }
}

/// Keeps a successful run's staged writes (applying them in one short
/// transaction) and drops a failed run's, saying in the failure exactly what
/// of the run remains.
fn settle(
    outcome: std::result::Result<Report, String>,
    staged: Staged,
    conn: &Connection,
    files: &import::Ended,
    actor: &Actor,
    run_id: i64,
) -> (std::result::Result<Report, String>, Applied) {
    let outcome = outcome.and_then(|report| match files.all_failed() {
        // A report of success over an import where every school failed
        // would read as green: the run failed.
        true => Err(format!(
            "every school's import failed, so nothing was imported. {}",
            files.account().unwrap_or_default().trim_end_matches('.')
        )),
        false => Ok(report),
    });
    let why = match outcome {
        Ok(report) => match staged.commit(conn, actor, run_id) {
            Ok(applied) => {
                let report = with_account(with_superseded(report, &applied), files);
                return (Ok(report), applied);
            }
            Err(e) => format!("the run's changes could not be saved: {e}"),
        },
        Err(why) => why,
    };
    (Err(format!("{why}. {}", files.kept())), Applied::default())
}

/// The report, saying in its summary how many of the run's changes no
/// longer applied when they were saved (someone changed those rows first).
fn with_superseded(mut report: Report, applied: &Applied) -> Report {
    if applied.superseded > 0 {
        report.summary.push_str(&format!(
            " ({} of its changes were not applied: someone changed those rows while it ran.)",
            applied.superseded
        ));
    }
    report
}

/// The report, with what its import files came to added to its summary in
/// the host's own words (whatever the plugin said): pupils per matching
/// rule, and every school that failed with its reason.
fn with_account(mut report: Report, files: &import::Ended) -> Report {
    if let Some(account) = files.account() {
        report.summary = format!("{} {account}", report.summary.trim_end());
    }
    report
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
