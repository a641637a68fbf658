//! Scheduled tasks: their definitions, triggers and actions, and when each
//! trigger is next due. Their runs are in [`super::task_runs`].

pub use super::task_runs::RunStatus;

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::storage::audit;
use crate::time::{self, Timestamp};
use crate::triggers::Trigger;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What happens when a slot comes while the task is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Skip the new slot (recorded as skipped).
    #[default]
    IgnoreNew,
    /// Run the new slot after the current one; at most one waits.
    QueueOne,
    /// Run both at once.
    Parallel,
    /// Stop the running one, then start the new one.
    StopExisting,
}

/// What a failed action does to the rest of its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop the task; the run fails.
    #[default]
    Stop,
    /// Go on with the next action; the run still counts as failed.
    Continue,
}

names!(Overlap, "overlap policy", IgnoreNew => "ignore_new", QueueOne => "queue_one", Parallel => "parallel", StopExisting => "stop_existing");
names!(OnFailure, "failure policy", Stop => "stop", Continue => "continue");

/// One step of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskAction {
    /// The plugin's id.
    pub plugin: String,
    /// Its parameters, checked against the plugin's `describe` when the task
    /// is saved.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Whether the task goes on when this action fails.
    #[serde(default)]
    pub on_failure: OnFailure,
}

fn default_zone() -> String {
    "Europe/London".into()
}
fn default_time_limit() -> i64 {
    72 * 3600
}
fn default_deadline() -> i64 {
    24 * 3600
}
fn yes() -> bool {
    true
}

/// Restart on failure, as in Windows Task Scheduler: a run that fails or
/// times out is run again `every_minutes` later, at most `times` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// How many restarts after the first failure, 1 to 999.
    pub times: u32,
    /// Minutes from a failure to its restart.
    pub every_minutes: u32,
}

/// A task as a person defines it (also the `task new --from-file` TOML form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDefinition {
    /// What people call it: unique whatever the case, never all digits (so
    /// that a name never reads as another task's id).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Whether it fires.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// IANA time zone its triggers are read in.
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// What happens when a slot comes while it is still running.
    #[serde(default)]
    pub overlap: Overlap,
    /// A run still going after this many seconds is stopped (timed out).
    #[serde(default = "default_time_limit")]
    pub time_limit_secs: i64,
    /// After the host was down, run once for the missed slots.
    #[serde(default)]
    pub catch_up: bool,
    /// A missed slot older than this many seconds is not caught up.
    #[serde(default = "default_deadline")]
    pub starting_deadline_secs: i64,
    /// Run a failed or timed-out run again, a few times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_on_failure: Option<Restart>,
    /// Delete the task (and its history) this many days after it expires,
    /// when none of its triggers can fire again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_expired_after_days: Option<u32>,
    /// When it fires.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// What it does, in order.
    pub actions: Vec<TaskAction>,
}

/// What the scheduler works out from a definition as it is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timing {
    /// Each trigger's next slot, in definition order: its nominal instant
    /// and when it is due after its random delay (none: it does not fire
    /// again, is off, or fires at start-up).
    pub next: Vec<Option<Slot>>,
    /// When every trigger has ended, if they all do.
    pub expires_at: Option<Timestamp>,
}

/// A trigger's next slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The nominal instant, what the run is recorded for.
    pub at: Timestamp,
    /// When it is due to start: `at` plus the trigger's random delay.
    pub due: Timestamp,
}

impl Slot {
    /// A slot at `next`, due after a random delay of up to `minutes` (a
    /// trigger's random delay, drawn once per slot).
    pub fn delayed(next: chrono::DateTime<chrono::Utc>, minutes: u32) -> Slot {
        let at = next.timestamp();
        let delay = match minutes {
            0 => 0,
            m => fastrand::i64(0..=i64::from(m) * 60),
        };
        Slot {
            at,
            due: at + delay,
        }
    }
}

/// A stored task.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Its number, which commands also accept in place of the name.
    pub id: i64,
    /// Who created it.
    pub owner: String,
    /// Who last changed it, and when.
    pub updated_by: String,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// What it does and when, as written in a task file.
    #[serde(flatten)]
    pub definition: TaskDefinition,
    /// Each trigger's id and next nominal fire instant, in definition order.
    pub schedule: Vec<(i64, Option<Timestamp>)>,
    /// When every trigger has ended, if they all do.
    pub expires_at: Option<Timestamp>,
}

/// Stores a new task with its triggers' next slots; returns its id.
pub fn insert(
    conn: &Connection,
    def: &TaskDefinition,
    timing: &Timing,
    actor: &Actor,
) -> Result<i64> {
    check_name_free(conn, &def.name, None)?;
    conn.execute(
        "INSERT INTO tasks (name, owner, updated_by, updated_at) VALUES (?, ?, ?, ?)",
        params![def.name, actor.as_str(), actor.as_str(), time::now()],
    )?;
    let id = conn.last_insert_rowid();
    write(conn, id, def, timing, actor, "task.create")?;
    Ok(id)
}

/// Replaces a task's definition (its run history stays).
pub fn replace(
    conn: &Connection,
    id: i64,
    def: &TaskDefinition,
    timing: &Timing,
    actor: &Actor,
) -> Result<()> {
    check_name_free(conn, &def.name, Some(id))?;
    write(conn, id, def, timing, actor, "task.edit")
}

/// Refuses a name another task (than `except`) already has, in any case:
/// `Tidy` and `tidy` would be two tasks a person cannot tell apart.
fn check_name_free(conn: &Connection, name: &str, except: Option<i64>) -> Result<()> {
    let other: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, name FROM tasks WHERE name = ? COLLATE NOCASE AND id IS NOT ?",
            params![name, except],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match other {
        Some((id, taken)) => Err(Error::invalid(format!(
            "task {id} is already named `{taken}`; choose another name or `b2b task edit` that one"
        ))),
        None => Ok(()),
    }
}

/// Writes a task's settings, triggers and actions over what it had, and
/// audits the change as `action`.
fn write(
    conn: &Connection,
    id: i64,
    def: &TaskDefinition,
    timing: &Timing,
    actor: &Actor,
    action: &str,
) -> Result<()> {
    conn.execute("DELETE FROM task_triggers WHERE task_id = ?", [id])?;
    conn.execute("DELETE FROM task_actions WHERE task_id = ?", [id])?;
    let restart = def.restart_on_failure;
    conn.execute(
        "UPDATE tasks SET name = ?, description = ?, enabled = ?, time_zone = ?, overlap = ?, time_limit_secs = ?,
             catch_up = ?, starting_deadline_secs = ?, restart_times = ?, restart_every_minutes = ?,
             delete_expired_after_days = ?, expires_at = ?, updated_by = ?, updated_at = ? WHERE id = ?",
        params![
            def.name,
            def.description,
            def.enabled,
            def.time_zone,
            def.overlap.to_string(),
            def.time_limit_secs,
            def.catch_up,
            def.starting_deadline_secs,
            restart.map_or(0, |r| r.times),
            restart.map_or(0, |r| r.every_minutes),
            def.delete_expired_after_days,
            timing.expires_at,
            actor.as_str(),
            time::now(),
            id
        ],
    )?;
    for (trigger, next) in def.triggers.iter().zip(&timing.next) {
        conn.execute(
            "INSERT INTO task_triggers (task_id, spec, next_fire_at, due_at) VALUES (?, ?, ?, ?)",
            params![
                id,
                serde_json::to_string(trigger).expect("a trigger serialises"),
                next.map(|n| n.at),
                next.map(|n| n.due)
            ],
        )?;
    }
    for (position, action) in def.actions.iter().enumerate() {
        conn.execute(
            "INSERT INTO task_actions (task_id, position, plugin_id, params, on_failure) VALUES (?, ?, ?, ?, ?)",
            params![
                id,
                position as i64,
                action.plugin,
                serde_json::to_string(&action.params).expect("parameters serialise"),
                action.on_failure.to_string()
            ],
        )?;
    }
    audit::record(
        conn,
        actor,
        action,
        "task",
        id,
        serde_json::to_value(def).expect("a task serialises"),
    )
}

/// A task by id, or a message saying how to find one.
pub fn get(conn: &Connection, id: i64) -> Result<Task> {
    find(conn, "id = ?", id)?
        .ok_or_else(|| Error::not_found(format!("no task {id}; see `b2b task list`")))
}

/// A task by name.
pub fn by_name(conn: &Connection, name: &str) -> Result<Option<Task>> {
    find(conn, "name = ?", name)
}

/// A task by id or name, as a person names it on the command line. Names
/// are never all digits, so digits are an id; a task named in digits by an
/// older version is found by its name only when no id says otherwise.
pub fn resolve(conn: &Connection, reference: &str) -> Result<Task> {
    let reference = reference.trim();
    let named = by_name(conn, reference)?;
    match (reference.parse::<i64>(), named) {
        (Ok(id), Some(named)) if named.id != id && find(conn, "id = ?", id)?.is_some() => {
            Err(Error::invalid(format!(
                "`{reference}` is both task {id}'s id and the name of task {}; rename that one \
                 (`b2b task edit {} --name ...`) and use ids or names that differ",
                named.id, named.id
            )))
        }
        (_, Some(named)) => Ok(named),
        (Ok(id), None) => get(conn, id),
        (Err(_), None) => Err(Error::not_found(format!(
            "no task named `{reference}`; see `b2b task list`"
        ))),
    }
}

fn find(conn: &Connection, predicate: &str, key: impl rusqlite::ToSql) -> Result<Option<Task>> {
    let row = conn
        .query_row(
            &format!(
                "SELECT id, name, description, owner, enabled, time_zone, overlap, time_limit_secs, catch_up,
                        starting_deadline_secs, updated_by, updated_at, restart_times, restart_every_minutes,
                        delete_expired_after_days, expires_at FROM tasks WHERE {predicate}"
            ),
            [key],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    TaskDefinition {
                        name: r.get(1)?,
                        description: r.get(2)?,
                        enabled: r.get(4)?,
                        time_zone: r.get(5)?,
                        overlap: Overlap::default(),
                        time_limit_secs: r.get(7)?,
                        catch_up: r.get(8)?,
                        starting_deadline_secs: r.get(9)?,
                        restart_on_failure: match r.get::<_, u32>(12)? {
                            0 => None,
                            times => Some(Restart {
                                times,
                                every_minutes: r.get(13)?,
                            }),
                        },
                        delete_expired_after_days: r.get(14)?,
                        triggers: Vec::new(),
                        actions: Vec::new(),
                    },
                    r.get::<_, String>(6)?,
                    (r.get::<_, String>(3)?, r.get::<_, String>(10)?),
                    r.get::<_, i64>(11)?,
                    r.get::<_, Option<i64>>(15)?,
                ))
            },
        )
        .optional()?;
    let Some((id, mut definition, overlap, (owner, updated_by), updated_at, expires_at)) = row
    else {
        return Ok(None);
    };
    definition.overlap = overlap.parse()?;
    let mut schedule = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, spec, next_fire_at FROM task_triggers WHERE task_id = ? ORDER BY id",
    )?;
    for row in stmt.query_map([id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
    })? {
        let (trigger_id, spec, next) = row?;
        definition
            .triggers
            .push(serde_json::from_str(&spec).map_err(|e| {
                Error::Database(format!("trigger {trigger_id} is unreadable: {e}"))
            })?);
        schedule.push((trigger_id, next));
    }
    let mut stmt =
        conn.prepare_cached("SELECT plugin_id, params, on_failure FROM task_actions WHERE task_id = ? ORDER BY position")?;
    for row in stmt.query_map([id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (plugin, params, on_failure) = row?;
        definition.actions.push(TaskAction {
            plugin,
            params: serde_json::from_str(&params)
                .map_err(|e| Error::Database(format!("unreadable parameters: {e}")))?,
            on_failure: on_failure.parse()?,
        });
    }
    Ok(Some(Task {
        id,
        owner,
        updated_by,
        updated_at,
        definition,
        schedule,
        expires_at,
    }))
}

/// Every task, by name.
pub fn list(conn: &Connection) -> Result<Vec<Task>> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM tasks ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

/// Deletes a task and its history, audited.
pub fn delete(conn: &Connection, id: i64, actor: &Actor) -> Result<()> {
    let task = get(conn, id)?;
    conn.execute("DELETE FROM tasks WHERE id = ?", [id])?;
    audit::record(
        conn,
        actor,
        "task.delete",
        "task",
        id,
        serde_json::json!({"name": task.definition.name}),
    )
}

/// A trigger's slot that has come due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSlot {
    /// The task whose trigger is due.
    pub task: i64,
    /// The due trigger.
    pub trigger: i64,
    /// Its recorded next slot (nominal instant and when it is due).
    pub slot: Slot,
}

/// Triggers of enabled tasks due at or before `now`, earliest first.
pub fn due(conn: &Connection, now: Timestamp) -> Result<Vec<DueSlot>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, g.id, g.next_fire_at, g.due_at FROM task_triggers g JOIN tasks t ON t.id = g.task_id
         WHERE t.enabled = 1 AND g.due_at IS NOT NULL AND g.due_at <= ? ORDER BY g.due_at",
    )?;
    let rows = stmt.query_map([now], |r| {
        Ok(DueSlot {
            task: r.get(0)?,
            trigger: r.get(1)?,
            slot: Slot {
                at: r.get(2)?,
                due: r.get(3)?,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The earliest instant a trigger of an enabled task is due.
pub fn next_due(conn: &Connection) -> Result<Option<Timestamp>> {
    Ok(conn.query_row(
        "SELECT MIN(g.due_at) FROM task_triggers g JOIN tasks t ON t.id = g.task_id WHERE t.enabled = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Moves a trigger to its next slot, due at its nominal instant.
pub fn advance(conn: &Connection, trigger_id: i64, next: Option<Timestamp>) -> Result<()> {
    set_next(conn, trigger_id, next.map(|at| Slot { at, due: at }))
}

/// Moves a trigger to its next slot.
pub fn set_next(conn: &Connection, trigger_id: i64, next: Option<Slot>) -> Result<()> {
    conn.execute(
        "UPDATE task_triggers SET next_fire_at = ?, due_at = ? WHERE id = ?",
        params![next.map(|n| n.at), next.map(|n| n.due), trigger_id],
    )?;
    Ok(())
}

/// Enabled tasks that have expired, and whose `delete_expired_after_days`
/// have passed by `now`, with nothing of theirs running, waiting or due to
/// restart.
pub fn expired_for_deletion(conn: &Connection, now: Timestamp) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tasks t WHERE delete_expired_after_days IS NOT NULL AND expires_at IS NOT NULL
             AND expires_at + delete_expired_after_days * 86400 <= ?
             AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id
                             AND (r.status IN ('running', 'queued') OR r.retry_at IS NOT NULL))",
    )?;
    let rows = stmt.query_map([now], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
