//! One task run: its actions in order, on a thread of its own, within the
//! task's time limit, each recorded as an action run of the task run.

use crate::actor::Actor;
use crate::engine::{Engine, RunEnv, Stop};
use crate::service::{RunOptions, Service};
use crate::storage::tasks::{self, OnFailure, RunStatus, Task};
use crate::storage::{defaults, runs, Db};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a run needs, moved onto its thread.
pub(super) struct Job {
    pub(super) db: Db,
    pub(super) engine: Arc<Engine>,
    pub(super) task: Task,
    pub(super) run: i64,
    pub(super) stop: Stop,
    pub(super) shutting_down: Arc<AtomicBool>,
}

impl Job {
    /// Runs the actions and records how the run ended. Errors are recorded in
    /// the run, never lost: a thread has no one to return them to.
    pub(super) fn execute(self) {
        let (status, detail) = match self.actions() {
            Ok(ended) => ended,
            Err(e) => (RunStatus::Failed, e.to_string()),
        };
        if let Ok(conn) = self.db.connect() {
            let _ = tasks::finish_run(&conn, self.run, status, Some(&detail));
            let _ = self.prune(&conn);
        }
    }

    fn actions(&self) -> crate::error::Result<(RunStatus, String)> {
        let actor = Actor::named(format!("task:{}", self.task.definition.name));
        let svc = Service::open(self.db.path(), actor)?.with_engine(Arc::clone(&self.engine));
        let limit = Duration::from_secs(self.task.definition.time_limit_secs.max(1) as u64);
        let deadline = Instant::now() + limit;
        let mut failures = Vec::new();
        let mut partial = Vec::new();
        for (n, action) in self.task.definition.actions.iter().enumerate() {
            if let Some(ended) = self.cut_short(deadline) {
                return Ok(ended);
            }
            let params: Vec<(String, String)> = action
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let options = RunOptions {
                env: RunEnv {
                    stop: self.stop.clone(),
                    ..RunEnv::default()
                },
                time_limit: Some(deadline.saturating_duration_since(Instant::now())),
                task_run: Some(self.run),
            };
            let failure = match svc.run_action_with(&action.plugin, &params, options) {
                Ok(result) => match (result.status, result.outcome) {
                    (runs::Status::Partial, Ok(report)) => {
                        // The rest of its work was kept, so the task goes on
                        // whatever its failure policy, but the run is not
                        // success: the missing schools must be seen.
                        partial.push(format!(
                            "action {} ({}) ended partial in run {}: {}",
                            n + 1,
                            action.plugin,
                            result.run_id,
                            report.summary
                        ));
                        None
                    }
                    (_, outcome) => outcome.err().map(|e| {
                        format!(
                            "action {} ({}) failed in run {}: {e}",
                            n + 1,
                            action.plugin,
                            result.run_id
                        )
                    }),
                },
                Err(e) => Some(format!(
                    "action {} ({}) could not start: {e}",
                    n + 1,
                    action.plugin
                )),
            };
            if let Some(failure) = failure {
                if let Some(ended) = self.cut_short(deadline) {
                    return Ok(ended);
                }
                failures.push(failure);
                if action.on_failure == OnFailure::Stop {
                    break;
                }
            }
        }
        Ok(if failures.is_empty() && partial.is_empty() {
            (
                RunStatus::Succeeded,
                format!("{} action(s) succeeded", self.task.definition.actions.len()),
            )
        } else {
            failures.extend(partial);
            (RunStatus::Failed, failures.join("; "))
        })
    }

    /// Whether the run must end now, and how: stopped by a newer run or by
    /// the host shutting down, or past the task's time limit.
    fn cut_short(&self, deadline: Instant) -> Option<(RunStatus, String)> {
        if self.stop.is_stopped() {
            return Some(if self.shutting_down.load(Ordering::Relaxed) {
                (
                    RunStatus::Interrupted,
                    "the host stopped while this run was in progress".into(),
                )
            } else {
                (
                    RunStatus::Stopped,
                    "a newer run stopped it (overlap: stop existing)".into(),
                )
            });
        }
        (Instant::now() >= deadline).then(|| {
            (
                RunStatus::TimedOut,
                format!(
                    "stopped at the task's time limit of {}s",
                    self.task.definition.time_limit_secs
                ),
            )
        })
    }

    /// Keeps the history within `scheduler.history_days` and
    /// `scheduler.history_max_runs`.
    fn prune(&self, conn: &rusqlite::Connection) -> crate::error::Result<usize> {
        let days = defaults::get_int(conn, "scheduler.history_days")?;
        let max = defaults::get_int(conn, "scheduler.history_max_runs")?;
        tasks::prune(conn, self.task.id, crate::time::days(days), max)
    }
}
