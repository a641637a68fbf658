//! One task run: its actions in order, on a thread of its own, within the
//! task's time limit (and the end of its trigger's repetition, when runs
//! stop there), each recorded as an action run of the task run; a run that
//! fails is set to restart when its task asks for it.

use super::Clock;
use crate::actor::Actor;
use crate::engine::{Engine, RunEnv, Stop};
use crate::service::{RunOptions, Service};
use crate::storage::task_runs::{self, RunStatus};
use crate::storage::tasks::{OnFailure, Task};
use crate::storage::{defaults, in_transaction, runs, Db};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a run needs, moved onto its thread.
pub(super) struct Job {
    pub(super) db: Db,
    pub(super) engine: Arc<Engine>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) task: Task,
    pub(super) run: i64,
    /// 1 for a first run, more for a restart after a failure.
    pub(super) attempt: u32,
    /// The end of the trigger's repetition, where the run is stopped.
    pub(super) ends_at: Option<DateTime<Utc>>,
    pub(super) stop: Stop,
    pub(super) shutting_down: Arc<AtomicBool>,
    /// This process's lease, which its action runs are recorded with.
    pub(super) owner: Option<String>,
}

/// When a run must end, and what it is called if it ends there.
struct Deadline {
    at: Instant,
    /// Whether it is the end of the repetition rather than the time limit.
    repetition: bool,
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
            let _ = self.record(&conn, status, &detail);
            let _ = self.prune(&conn);
        }
    }

    /// Records the end (unless another process already recorded this run
    /// as interrupted) and, after a failure, when it restarts.
    fn record(
        &self,
        conn: &rusqlite::Connection,
        status: RunStatus,
        detail: &str,
    ) -> crate::error::Result<()> {
        let now = self.clock.now().timestamp();
        let restart = self
            .task
            .definition
            .restart_on_failure
            .filter(|r| status.is_failure() && self.attempt <= r.times);
        in_transaction(conn, |tx| {
            let ended = task_runs::finish_at(tx, self.run, status, detail, now)?;
            if let Some(restart) = restart.filter(|_| ended) {
                let at = now + i64::from(restart.every_minutes) * 60;
                task_runs::schedule_retry(tx, self.run, at)?;
            }
            Ok(())
        })
    }

    fn actions(&self) -> crate::error::Result<(RunStatus, String)> {
        let actor = Actor::named(format!("task:{}", self.task.definition.name));
        let svc = Service::open(self.db.path(), actor)?.with_engine(Arc::clone(&self.engine));
        let deadline = self.deadline();
        let mut failures = Vec::new();
        let mut partial = Vec::new();
        for (n, action) in self.task.definition.actions.iter().enumerate() {
            if let Some(ended) = self.cut_short(&deadline) {
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
                time_limit: Some(deadline.at.saturating_duration_since(Instant::now())),
                task_run: Some(self.run),
                owner: self.owner.clone(),
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
                if let Some(ended) = self.cut_short(&deadline) {
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

    /// The task's time limit from now, or the end of the repetition if
    /// that comes first.
    fn deadline(&self) -> Deadline {
        let limit = Duration::from_secs(self.task.definition.time_limit_secs.max(1) as u64);
        let timed_out = Instant::now() + limit;
        let repetition_end = self.ends_at.map(|end| {
            let left = (end - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
            Instant::now() + left
        });
        match repetition_end {
            Some(end) if end < timed_out => Deadline {
                at: end,
                repetition: true,
            },
            _ => Deadline {
                at: timed_out,
                repetition: false,
            },
        }
    }

    /// Whether the run must end now, and how: stopped by a newer run or by
    /// the host shutting down, or past its deadline.
    fn cut_short(&self, deadline: &Deadline) -> Option<(RunStatus, String)> {
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
        if Instant::now() < deadline.at {
            return None;
        }
        Some(if deadline.repetition {
            (
                RunStatus::Stopped,
                "stopped at the end of its trigger's repetition (stop_at_end)".into(),
            )
        } else {
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
        task_runs::prune(conn, self.task.id, crate::time::days(days), max)
    }
}
