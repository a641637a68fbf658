//! Scheduled tasks as a person manages them: create, edit, enable, run
//! now, preview the next fire times, read the history.

use super::actions::check_params;
use super::Service;
use crate::error::{Error, Result};
use crate::scheduler::trigger::parse_zone;
use crate::scheduler::{Scheduler, SystemClock};
use crate::storage::in_transaction;
use crate::storage::runs::{self, Run};
use crate::storage::tasks::{self, RunStatus, Task, TaskDefinition, TaskRun};
use crate::time::Timestamp;
use chrono::{DateTime, FixedOffset, Utc};
use std::sync::Arc;
use std::time::Duration;

/// A task for listings: when it next runs and how it last ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskSummary {
    /// The task.
    pub task: Task,
    /// Its next fire instant, in its zone.
    pub next_run: Option<DateTime<FixedOffset>>,
    /// Its newest run.
    pub last_run: Option<TaskRun>,
}

/// A task run with its action runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    /// The task run.
    pub run: TaskRun,
    /// Its actions' runs, in order.
    pub actions: Vec<Run>,
}

impl Service {
    /// Checks a definition and stores it as a new task.
    pub fn create_task(&self, def: &TaskDefinition) -> Result<Task> {
        let next = self.check_task(def)?;
        let id = in_transaction(&self.conn, |conn| {
            tasks::insert(conn, def, &next, &self.actor)
        })?;
        tasks::get(&self.conn, id)
    }

    /// Changes a task: `change` edits its definition, which is checked again
    /// and stored whole (the next fire times are worked out afresh).
    pub fn edit_task(
        &self,
        reference: &str,
        change: impl FnOnce(&mut TaskDefinition) -> Result<()>,
    ) -> Result<Task> {
        let task = tasks::resolve(&self.conn, reference)?;
        let mut def = task.definition.clone();
        change(&mut def)?;
        let next = self.check_task(&def)?;
        in_transaction(&self.conn, |conn| {
            tasks::replace(conn, task.id, &def, &next, &self.actor)
        })?;
        tasks::get(&self.conn, task.id)
    }

    /// Refuses a definition that cannot run as written, saying what is wrong;
    /// returns each trigger's first fire instant after now.
    fn check_task(&self, def: &TaskDefinition) -> Result<Vec<Option<Timestamp>>> {
        if def.name.trim().is_empty() {
            return Err(Error::invalid("a task needs a name"));
        }
        parse_zone(&def.time_zone)?;
        if def.time_limit_secs <= 0 || def.starting_deadline_secs < 0 {
            return Err(Error::invalid(
                "the time limit must be positive and the starting deadline not negative",
            ));
        }
        if def.actions.is_empty() {
            return Err(Error::invalid(
                "a task needs at least one action, e.g. --action clear-conflicts",
            ));
        }
        for action in &def.actions {
            let (_, plugin) = self.load_granted(&action.plugin).map_err(|e| match e {
                Error::NotFound(_) => Error::invalid(format!(
                    "no plugin `{}` is installed; `b2b plugin list` shows what can run",
                    action.plugin
                )),
                other => other,
            })?;
            let descriptor = self.engine()?.describe(&plugin)?;
            let params: Vec<(String, String)> = action
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            check_params(&descriptor, &params)?;
        }
        let now = Utc::now();
        def.triggers
            .iter()
            .map(|t| {
                t.validate(&def.time_zone)?;
                Ok(t.next_after(&def.time_zone, now)?.map(|d| d.timestamp()))
            })
            .collect()
    }

    /// A task by id or name.
    pub fn task(&self, reference: &str) -> Result<Task> {
        tasks::resolve(&self.conn, reference)
    }

    /// Every task with its next run and last result.
    pub fn tasks(&self) -> Result<Vec<TaskSummary>> {
        tasks::list(&self.conn)?
            .into_iter()
            .map(|task| {
                let next = task.schedule.iter().filter_map(|(_, n)| *n).min();
                let next_run = next
                    .map(|n| local(&task.definition.time_zone, n))
                    .transpose()?;
                let last_run = tasks::history(&self.conn, task.id, 1)?.into_iter().next();
                Ok(TaskSummary {
                    task,
                    next_run,
                    last_run,
                })
            })
            .collect()
    }

    /// Enables or disables a task; enabling works out its next fire times
    /// from now, so slots missed while it was off are not caught up.
    pub fn set_task_enabled(&self, reference: &str, enabled: bool) -> Result<Task> {
        self.edit_task(reference, |def| {
            def.enabled = enabled;
            Ok(())
        })
    }

    /// Deletes a task with its history.
    pub fn delete_task(&self, reference: &str) -> Result<()> {
        let task = tasks::resolve(&self.conn, reference)?;
        in_transaction(&self.conn, |conn| tasks::delete(conn, task.id, &self.actor))
    }

    /// The next `count` fire times after `from` (default now), in the task's
    /// zone with their offset, across all its triggers.
    pub fn next_fires(
        &self,
        reference: &str,
        count: usize,
        from: Option<DateTime<Utc>>,
    ) -> Result<Vec<DateTime<FixedOffset>>> {
        let task = tasks::resolve(&self.conn, reference)?;
        let zone = &task.definition.time_zone;
        let from = from.unwrap_or_else(Utc::now);
        let mut all = Vec::new();
        for trigger in &task.definition.triggers {
            all.extend(trigger.upcoming(zone, from, count)?);
        }
        all.sort();
        all.dedup();
        all.truncate(count);
        all.into_iter()
            .map(|t| local(zone, t.timestamp()))
            .collect()
    }

    /// A task's runs, newest first, each with its action runs.
    pub fn task_history(&self, reference: &str, limit: u32) -> Result<Vec<RunRecord>> {
        let task = tasks::resolve(&self.conn, reference)?;
        tasks::history(&self.conn, task.id, limit)?
            .into_iter()
            .map(|run| {
                Ok(RunRecord {
                    actions: runs::of_task_run(&self.conn, run.id)?,
                    run,
                })
            })
            .collect()
    }

    /// Runs a task now in this process and waits for it. The overlap policy
    /// applies (a run going elsewhere, e.g. in `b2b serve`, counts) unless
    /// `force`.
    pub fn run_task_now(&self, reference: &str, force: bool) -> Result<RunRecord> {
        let task = tasks::resolve(&self.conn, reference)?;
        let scheduler = Scheduler::new(
            self.db.clone(),
            Arc::clone(self.engine()?),
            Arc::new(SystemClock),
        );
        let (run, status) = scheduler.run_now(&task, force, &self.actor)?;
        if status == RunStatus::Running {
            let limit = Duration::from_secs(task.definition.time_limit_secs.max(1) as u64 + 60);
            scheduler.wait_idle(limit);
        }
        Ok(RunRecord {
            run: tasks::run(&self.conn, run)?,
            actions: runs::of_task_run(&self.conn, run)?,
        })
    }
}

/// An instant in a zone, with its offset, as a person reads it.
fn local(zone: &str, at: Timestamp) -> Result<DateTime<FixedOffset>> {
    let tz = parse_zone(zone)?;
    let utc = DateTime::from_timestamp(at, 0)
        .ok_or_else(|| Error::invalid(format!("{at} is out of range")))?;
    Ok(utc.with_timezone(&tz).fixed_offset())
}
