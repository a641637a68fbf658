//! Scheduled tasks as a person manages them: create, edit, enable, run
//! now, preview the next fire times, read the history.

use super::actions::check_params;
use super::Service;
use crate::error::{Error, Result};
use crate::storage::in_transaction;
use crate::storage::runs::{self, Run};
use crate::storage::task_runs::{self, TaskRun};
use crate::storage::tasks::{self, Slot, Task, TaskDefinition, Timing};
use crate::time::{self, Timestamp};
use crate::triggers::{parse_zone, Plan, Trigger};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

/// The most restarts after a failure, as in Windows Task Scheduler.
const MAX_RESTARTS: u32 = 999;
/// The longest wait before a restart, and the longest a task is kept after
/// it expires: limits that catch a slip of the keyboard.
const MAX_RESTART_MINUTES: u32 = 31 * 24 * 60;
const MAX_KEEP_DAYS: u32 = 3650;
/// How many of a trigger's coming runs are looked at to find the shortest
/// time between them, which a random delay must stay under.
const GAP_SAMPLE: usize = 50;

/// A task for listings: when it next runs and how it last ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskSummary {
    /// The task as defined.
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
    /// Checks a definition and stores it as a new task (its name trimmed).
    pub fn create_task(&self, def: &TaskDefinition) -> Result<Task> {
        let def = trimmed(def);
        let timing = self.check_task(&def, &[])?;
        let id = in_transaction(&self.conn, |conn| {
            tasks::insert(conn, &def, &timing, &self.actor)
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
        let def = trimmed(&def);
        let timing = self.check_task(&def, &task.definition.triggers)?;
        in_transaction(&self.conn, |conn| {
            tasks::replace(conn, task.id, &def, &timing, &self.actor)
        })?;
        tasks::get(&self.conn, task.id)
    }

    /// Refuses a definition that cannot run as written, saying what is wrong;
    /// returns each trigger's next slot after now and when the task expires.
    /// A trigger that will never fire is refused, unless it is one of
    /// `kept` (an edit leaves a trigger that has had its last run alone).
    fn check_task(&self, def: &TaskDefinition, kept: &[Trigger]) -> Result<Timing> {
        check_name(&def.name)?;
        parse_zone(&def.time_zone)?;
        if def.time_limit_secs <= 0 || def.starting_deadline_secs < 0 {
            return Err(Error::invalid(
                "the time limit must be positive and the starting deadline not negative",
            ));
        }
        check_restart(def)?;
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
        let timing = timing(def, kept, Utc::now())?;
        if def.delete_expired_after_days.is_some() && timing.expires_at.is_none() {
            return Err(Error::invalid(
                "`delete_expired_after_days` needs a task that expires: give every trigger an \
                 expiry (or use `once` triggers); this one would never be deleted",
            ));
        }
        Ok(timing)
    }

    /// What a person should know about a stored task that is not wrong
    /// with it: triggers that are off or will not fire again, and what
    /// numbered cron weekdays mean.
    pub fn task_notes(&self, task: &Task) -> Vec<String> {
        let def = &task.definition;
        let mut notes = Vec::new();
        if !def.enabled {
            notes
                .push("the task is disabled: none of its triggers fire (`b2b task enable`)".into());
        }
        for (n, (trigger, (_, next))) in def.triggers.iter().zip(&task.schedule).enumerate() {
            let which = format!("trigger {} ({})", n + 1, trigger.describe(&def.time_zone));
            if !trigger.enabled {
                notes.push(format!("{which} is off"));
            } else if next.is_none() && !trigger.is_at_startup() {
                notes.push(format!("{which} will not fire again"));
            }
            notes.extend(trigger.notes());
        }
        notes
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
                let last_run = task_runs::history(&self.conn, task.id, 1)?
                    .into_iter()
                    .next();
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
    /// zone with their offset, across its triggers that are on (before any
    /// random delay; at-startup triggers have no times).
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
        for trigger in task.definition.triggers.iter().filter(|t| t.enabled) {
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
        task_runs::history(&self.conn, task.id, limit)?
            .into_iter()
            .map(|run| {
                Ok(RunRecord {
                    actions: runs::of_task_run(&self.conn, run.id)?,
                    run,
                })
            })
            .collect()
    }
}

/// The definition with its name trimmed: a name with spaces around it is
/// one no command line could reach.
fn trimmed(def: &TaskDefinition) -> TaskDefinition {
    TaskDefinition {
        name: def.name.trim().to_owned(),
        ..def.clone()
    }
}

/// Names are how people reach tasks on the command line, next to ids.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(
            "a task needs a name, e.g. --name \"Nightly import\"",
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "a task name may not be all digits: `{name}` would read as task id {name}; add a \
             word, e.g. \"Task {name}\""
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "a task name may not contain control characters (tabs, new lines)",
        ));
    }
    Ok(())
}

fn check_restart(def: &TaskDefinition) -> Result<()> {
    if let Some(restart) = def.restart_on_failure {
        if !(1..=MAX_RESTARTS).contains(&restart.times) {
            return Err(Error::invalid(format!(
                "`restart_on_failure.times` is {}; give 1 to {MAX_RESTARTS} restarts, or leave it out",
                restart.times
            )));
        }
        if !(1..=MAX_RESTART_MINUTES).contains(&restart.every_minutes) {
            return Err(Error::invalid(format!(
                "`restart_on_failure.every_minutes` is {}; give 1 to {MAX_RESTART_MINUTES} (31 days)",
                restart.every_minutes
            )));
        }
    }
    match def.delete_expired_after_days {
        Some(days) if days > MAX_KEEP_DAYS => Err(Error::invalid(format!(
            "`delete_expired_after_days` is {days}; give 0 to {MAX_KEEP_DAYS} days"
        ))),
        _ => Ok(()),
    }
}

/// Each trigger's next slot after `now` and when the task expires,
/// refusing triggers that cannot work as written.
fn timing(def: &TaskDefinition, kept: &[Trigger], now: DateTime<Utc>) -> Result<Timing> {
    let zone = &def.time_zone;
    let mut timing = Timing::default();
    let mut ends = Some(i64::MIN);
    for (n, trigger) in def.triggers.iter().enumerate() {
        let plan = trigger.plan(zone)?;
        let which = || format!("trigger {} ({})", n + 1, trigger.describe(zone));
        check_delay(trigger, &plan, now)
            .map_err(|e| Error::invalid(format!("{}: {e}", which())))?;
        let next = plan.next_after(now);
        let never = next.is_none() && !trigger.is_at_startup();
        if never && trigger.enabled && !kept.contains(trigger) {
            return Err(Error::invalid(format!(
                "{} would never fire: {}; change its times or dates, or leave it out",
                which(),
                why_never(&plan, now)
            )));
        }
        let fires = trigger.enabled && !trigger.is_at_startup();
        let slot = next.filter(|_| fires);
        timing
            .next
            .push(slot.map(|at| Slot::delayed(at, trigger.random_delay_minutes)));
        ends = ends.zip(plan.ends()).map(|(a, b)| a.max(b.timestamp()));
    }
    timing.expires_at = ends.filter(|_| !def.triggers.is_empty());
    Ok(timing)
}

/// Why a trigger with no run after `now` has none.
fn why_never(plan: &Plan, now: DateTime<Utc>) -> String {
    match plan.last_at_or_before(now) {
        Some(last) => format!(
            "its last run was at {}, before now",
            time::display(last.timestamp())
        ),
        None => "no date within ten years matches it (a month it names may not have that day)"
            .to_owned(),
    }
}

/// A random delay must be shorter than the time between the trigger's runs,
/// or a delayed run would start in the next one's slot.
fn check_delay(trigger: &Trigger, plan: &Plan, now: DateTime<Utc>) -> Result<()> {
    let delay = TimeDelta::minutes(trigger.random_delay_minutes.into());
    if delay.is_zero() {
        return Ok(());
    }
    let runs: Vec<_> = plan.runs_after(now).take(GAP_SAMPLE).collect();
    match runs.windows(2).map(|w| w[1] - w[0]).min() {
        Some(gap) if gap <= delay => Err(Error::invalid(format!(
            "its random delay of {} minutes is not shorter than the {} minutes between its runs; \
             give a shorter delay",
            delay.num_minutes(),
            gap.num_minutes()
        ))),
        _ => Ok(()),
    }
}

/// An instant in a zone, with its offset, as a person reads it.
fn local(zone: &str, at: Timestamp) -> Result<DateTime<FixedOffset>> {
    let tz = parse_zone(zone)?;
    let utc = DateTime::from_timestamp(at, 0)
        .ok_or_else(|| Error::invalid(format!("{at} is out of range")))?;
    Ok(utc.with_timezone(&tz).fixed_offset())
}
