//! Scheduled tasks: their definitions, triggers, actions and runs.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::scheduler::trigger::Trigger;
use crate::storage::audit;
use crate::time::{self, Timestamp};
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

macro_rules! names {
    ($ty:ty, $what:literal, $($variant:ident => $name:literal),*) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$variant => $name),* })
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim() {
                    $($name => Ok(Self::$variant),)*
                    other => Err(Error::invalid(format!(
                        concat!("unknown ", $what, " `{}`; use one of: {}"), other, [$($name),*].join(", ")
                    ))),
                }
            }
        }
    };
}

names!(Overlap, "overlap policy", IgnoreNew => "ignore_new", QueueOne => "queue_one", Parallel => "parallel", StopExisting => "stop_existing");
names!(OnFailure, "failure policy", Stop => "stop", Continue => "continue");

/// One step of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskAction {
    /// The plugin's id.
    pub plugin: String,
    /// Its parameters.
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

/// A task as a person defines it (also the `task new --from-file` TOML form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDefinition {
    /// Unique name.
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
    /// When it fires.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// What it does, in order.
    pub actions: Vec<TaskAction>,
}

/// A stored task.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Id.
    pub id: i64,
    /// Who created it.
    pub owner: String,
    /// Who last changed it, and when.
    pub updated_by: String,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// The definition.
    #[serde(flatten)]
    pub definition: TaskDefinition,
    /// Each trigger's id and next nominal fire instant, in definition order.
    pub schedule: Vec<(i64, Option<Timestamp>)>,
}

/// Stores a new task with its triggers' next fire instants; returns its id.
pub fn insert(
    conn: &Connection,
    def: &TaskDefinition,
    next: &[Option<Timestamp>],
    actor: &Actor,
) -> Result<i64> {
    check_name_free(conn, &def.name, None)?;
    conn.execute(
        "INSERT INTO tasks (name, owner, updated_by, updated_at) VALUES (?, ?, ?, ?)",
        params![def.name, actor.as_str(), actor.as_str(), time::now()],
    )?;
    let id = conn.last_insert_rowid();
    write(conn, id, def, next, actor, "task.create")?;
    Ok(id)
}

/// Replaces a task's definition (its run history stays).
pub fn replace(
    conn: &Connection,
    id: i64,
    def: &TaskDefinition,
    next: &[Option<Timestamp>],
    actor: &Actor,
) -> Result<()> {
    check_name_free(conn, &def.name, Some(id))?;
    write(conn, id, def, next, actor, "task.edit")
}

/// Refuses a name another task (than `except`) already has.
fn check_name_free(conn: &Connection, name: &str, except: Option<i64>) -> Result<()> {
    match by_name(conn, name)? {
        Some(other) if Some(other.id) != except => Err(Error::invalid(format!(
            "task {} is already named `{name}`; choose another name or `b2b task edit` that one",
            other.id
        ))),
        _ => Ok(()),
    }
}

/// Writes a task's settings, triggers and actions over what it had, and
/// audits the change as `action`.
fn write(
    conn: &Connection,
    id: i64,
    def: &TaskDefinition,
    next: &[Option<Timestamp>],
    actor: &Actor,
    action: &str,
) -> Result<()> {
    conn.execute("DELETE FROM task_triggers WHERE task_id = ?", [id])?;
    conn.execute("DELETE FROM task_actions WHERE task_id = ?", [id])?;
    conn.execute(
        "UPDATE tasks SET name = ?, description = ?, enabled = ?, time_zone = ?, overlap = ?, time_limit_secs = ?,
             catch_up = ?, starting_deadline_secs = ?, updated_by = ?, updated_at = ? WHERE id = ?",
        params![
            def.name,
            def.description,
            def.enabled,
            def.time_zone,
            def.overlap.to_string(),
            def.time_limit_secs,
            def.catch_up,
            def.starting_deadline_secs,
            actor.as_str(),
            time::now(),
            id
        ],
    )?;
    for (trigger, next) in def.triggers.iter().zip(next) {
        conn.execute(
            "INSERT INTO task_triggers (task_id, spec, next_fire_at) VALUES (?, ?, ?)",
            params![
                id,
                serde_json::to_string(trigger).expect("a trigger serialises"),
                next
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

/// A task by id or name, as a person names it on the command line.
pub fn resolve(conn: &Connection, reference: &str) -> Result<Task> {
    match reference.trim().parse::<i64>() {
        Ok(id) => get(conn, id),
        Err(_) => by_name(conn, reference.trim())?.ok_or_else(|| {
            Error::not_found(format!("no task named `{reference}`; see `b2b task list`"))
        }),
    }
}

fn find(conn: &Connection, predicate: &str, key: impl rusqlite::ToSql) -> Result<Option<Task>> {
    let row = conn
        .query_row(
            &format!(
                "SELECT id, name, description, owner, enabled, time_zone, overlap, time_limit_secs, catch_up,
                        starting_deadline_secs, updated_by, updated_at FROM tasks WHERE {predicate}"
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
                        triggers: Vec::new(),
                        actions: Vec::new(),
                    },
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, i64>(11)?,
                ))
            },
        )
        .optional()?;
    let Some((id, mut definition, overlap, owner, updated_by, updated_at)) = row else {
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

/// Triggers of enabled tasks due at or before `now`: (task, trigger, nominal).
pub fn due(conn: &Connection, now: Timestamp) -> Result<Vec<(i64, i64, Timestamp)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, g.id, g.next_fire_at FROM task_triggers g JOIN tasks t ON t.id = g.task_id
         WHERE t.enabled = 1 AND g.next_fire_at IS NOT NULL AND g.next_fire_at <= ? ORDER BY g.next_fire_at",
    )?;
    let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The earliest next fire instant of any enabled task.
pub fn next_due(conn: &Connection) -> Result<Option<Timestamp>> {
    Ok(conn.query_row(
        "SELECT MIN(g.next_fire_at) FROM task_triggers g JOIN tasks t ON t.id = g.task_id WHERE t.enabled = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Moves a trigger to its next fire instant.
pub fn advance(conn: &Connection, trigger_id: i64, next: Option<Timestamp>) -> Result<()> {
    conn.execute(
        "UPDATE task_triggers SET next_fire_at = ? WHERE id = ?",
        params![next, trigger_id],
    )?;
    Ok(())
}

/// Where a task run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for the run before it (queue one).
    Queued,
    /// In progress.
    Running,
    /// Every action succeeded.
    Succeeded,
    /// An action failed.
    Failed,
    /// Not run: the previous run was still going (ignore new).
    Skipped,
    /// Not run: the host was down at the slot and the task does not catch up.
    Missed,
    /// The host stopped while it ran.
    Interrupted,
    /// Stopped at the task's time limit.
    TimedOut,
    /// Stopped by a newer run (stop existing).
    Stopped,
}

names!(RunStatus, "run status", Queued => "queued", Running => "running", Succeeded => "succeeded",
    Failed => "failed", Skipped => "skipped", Missed => "missed", Interrupted => "interrupted",
    TimedOut => "timed_out", Stopped => "stopped");

/// One run of a task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRun {
    /// Id.
    pub id: i64,
    /// The task.
    pub task_id: i64,
    /// The trigger whose slot it is (none for a manual run).
    pub trigger_id: Option<i64>,
    /// The slot's nominal instant.
    pub nominal_at: Timestamp,
    /// When it really started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Where it stands.
    pub status: RunStatus,
    /// Slots missed while the host was down that this run stands for.
    pub missed: i64,
    /// Why it ended as it did, for a person.
    pub detail: Option<String>,
    /// Who or what started it.
    pub started_by: String,
}

/// Records a slot of a task. Returns `None` when the slot was recorded
/// before: the unique key is what keeps a slot from running twice.
pub fn record_slot(
    conn: &Connection,
    task: i64,
    trigger: Option<i64>,
    nominal: Timestamp,
    status: RunStatus,
    missed: i64,
    started_by: &str,
) -> Result<Option<i64>> {
    let started = (status == RunStatus::Running).then(time::now);
    Ok(conn
        .prepare_cached(
            "INSERT INTO task_runs (task_id, trigger_id, nominal_at, started_at, status, missed, started_by)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )?
        .query_row(params![task, trigger, nominal, started, status.to_string(), missed, started_by], |r| r.get(0))
        .optional()?)
}

/// Marks a queued run started.
pub fn start_run(conn: &Connection, run: i64) -> Result<()> {
    conn.execute(
        "UPDATE task_runs SET status = 'running', started_at = ? WHERE id = ?",
        params![time::now(), run],
    )?;
    Ok(())
}

/// Ends a run with a status and a sentence saying why.
pub fn finish_run(
    conn: &Connection,
    run: i64,
    status: RunStatus,
    detail: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE task_runs SET status = ?, detail = COALESCE(?, detail), finished_at = ? WHERE id = ?",
        params![status.to_string(), detail, time::now(), run],
    )?;
    Ok(())
}

/// Tasks that have a run waiting (queue one), so a tick need not read them all.
pub fn with_queued_runs(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT task_id FROM task_runs WHERE status = 'queued'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Ids of a task's runs with a status, oldest first.
pub fn runs_with(conn: &Connection, task: i64, status: RunStatus) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM task_runs WHERE task_id = ? AND status = ? ORDER BY id")?;
    let rows = stmt.query_map(params![task, status.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// At start-up: runs (and their action runs) left running by a host that
/// stopped become interrupted; queued ones are skipped. Returns how many runs
/// were interrupted.
pub fn recover(conn: &Connection) -> Result<usize> {
    let now = time::now();
    let n = conn.execute(
        "UPDATE task_runs SET status = 'interrupted', finished_at = ?,
             detail = 'the host stopped while this run was in progress'
         WHERE status = 'running'",
        [now],
    )?;
    conn.execute(
        "UPDATE task_runs SET status = 'skipped', finished_at = ?, detail = 'the host restarted before it could run'
         WHERE status = 'queued'",
        [now],
    )?;
    conn.execute(
        "UPDATE action_runs SET status = 'interrupted', finished_at = ?,
             error = 'the host stopped while this run was in progress; its changes were rolled back'
         WHERE status = 'running'",
        [now],
    )?;
    Ok(n)
}

const RUN_COLUMNS: &str =
    "id, task_id, trigger_id, nominal_at, started_at, finished_at, status, missed, detail, started_by";

fn run_from_row(r: &rusqlite::Row) -> rusqlite::Result<TaskRun> {
    let status: String = r.get(6)?;
    Ok(TaskRun {
        id: r.get(0)?,
        task_id: r.get(1)?,
        trigger_id: r.get(2)?,
        nominal_at: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        status: status.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?,
        missed: r.get(7)?,
        detail: r.get(8)?,
        started_by: r.get(9)?,
    })
}

/// A task's runs, newest first.
pub fn history(conn: &Connection, task: i64, limit: u32) -> Result<Vec<TaskRun>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?"
    ))?;
    let rows = stmt.query_map(params![task, limit], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One run.
pub fn run(conn: &Connection, id: i64) -> Result<TaskRun> {
    conn.query_row(
        &format!("SELECT {RUN_COLUMNS} FROM task_runs WHERE id = ?"),
        [id],
        run_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found(format!("no task run {id}")))
}

/// Drops a task's finished runs older than `max_age` seconds or beyond the
/// newest `max_runs`. Returns how many went.
pub fn prune(conn: &Connection, task: i64, max_age: i64, max_runs: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM task_runs WHERE task_id = ?1 AND status NOT IN ('running', 'queued') AND (
             COALESCE(finished_at, nominal_at) < ?2
             OR id NOT IN (SELECT id FROM task_runs WHERE task_id = ?1 ORDER BY id DESC LIMIT ?3))",
        params![task, time::now() - max_age, max_runs],
    )?)
}
