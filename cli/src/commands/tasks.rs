//! `b2b task ...` and `b2b serve`.

use super::output::{listing, opt, single};
use super::Context;
use b2b_host::error::{Error, Result};
use b2b_host::scheduler::daemon::{self, Options};
use b2b_host::scheduler::{Shutdown, MAX_COUNTED_MISSED};
use b2b_host::service::RunRecord;
use b2b_host::storage::tasks::{OnFailure, Restart, RunStatus, TaskAction, TaskDefinition};
use b2b_host::time;
use b2b_host::triggers::Trigger;
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Scheduled tasks.
#[derive(Debug, Subcommand)]
pub enum Task {
    /// Create a task from flags, or from a TOML file (--from-file).
    New(Box<NewTask>),
    /// Every task with its next run and last result.
    List,
    /// One task in full.
    Show {
        /// Id or name.
        task: String,
    },
    /// Change a task: the flags given replace what they name (a trigger flag
    /// replaces the triggers, an --action the actions).
    Edit(Box<EditTask>),
    /// Let a task fire again (from its next slot; missed ones are not caught up).
    Enable {
        /// Id or name.
        task: String,
    },
    /// Stop a task firing (a run in progress finishes).
    Disable {
        /// Id or name.
        task: String,
    },
    /// Run a task now and wait for it; the overlap policy applies unless --force.
    ///
    /// Exits 0 when the run succeeded, 5 when it failed, timed out, or was
    /// stopped or interrupted, and 4 when the overlap policy skipped it.
    /// SIGTERM or Ctrl-C stops the run and records it as interrupted.
    Run {
        /// Id or name.
        task: String,
        /// Run even if a run is still going.
        #[arg(long)]
        force: bool,
    },
    /// The next fire times, in the task's zone with the offset.
    Next {
        /// Id or name.
        task: String,
        /// How many.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// After this instant (RFC 3339, e.g. 2027-03-27T00:00:00Z); default now.
        #[arg(long)]
        from: Option<String>,
    },
    /// Its runs, newest first, with each action's report.
    History {
        /// Id or name.
        task: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Delete a task and its history.
    Delete {
        /// Id or name.
        task: String,
    },
}

/// `task new`.
#[derive(Debug, Args)]
pub struct NewTask {
    /// A TOML task definition (see README); other flags are then not allowed.
    #[arg(long, conflicts_with_all = [
        "name", "actions", "kind", "every", "repeat_every", "random_delay", "start", "expiry",
        "description", "time_zone", "overlap", "time_limit_hours", "catch_up", "deadline_hours",
        "continue_on_failure", "restart_times", "delete_expired_after_days",
    ])]
    from_file: Option<PathBuf>,
    /// Unique name.
    #[arg(long, required_unless_present = "from_file")]
    name: Option<String>,
    /// Actions in order: PLUGIN or PLUGIN:k=v,k=v (repeat).
    #[arg(long = "action", required_unless_present = "from_file")]
    actions: Vec<String>,
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    trigger: TriggerFlags,
}

/// `task edit`.
#[derive(Debug, Args)]
pub struct EditTask {
    /// Id or name.
    task: String,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New actions in order: PLUGIN or PLUGIN:k=v,k=v (repeat).
    #[arg(long = "action")]
    actions: Vec<String>,
    /// Turn trigger N (as numbered by `task show`) on; repeat for several.
    #[arg(long = "enable-trigger", value_name = "N")]
    enable_triggers: Vec<usize>,
    /// Turn trigger N off, leaving the task's other triggers firing.
    #[arg(long = "disable-trigger", value_name = "N")]
    disable_triggers: Vec<usize>,
    #[command(flatten)]
    settings: Settings,
    #[command(flatten)]
    trigger: TriggerFlags,
}

/// Task settings, shared by `new` and `edit`.
#[derive(Debug, Args)]
struct Settings {
    /// What the task is for.
    #[arg(long)]
    description: Option<String>,
    /// IANA time zone of the triggers [default: Europe/London].
    #[arg(long)]
    time_zone: Option<String>,
    /// ignore_new (default), queue_one, parallel or stop_existing.
    #[arg(long)]
    overlap: Option<String>,
    /// Stop a run after this many hours [default: 72].
    #[arg(long)]
    time_limit_hours: Option<f64>,
    /// After the host was down, run once for the missed slots (true/false).
    #[arg(long)]
    catch_up: Option<bool>,
    /// Do not catch up a slot missed more than this many hours ago [default: 24].
    #[arg(long)]
    deadline_hours: Option<f64>,
    /// Go on with the next action when one fails.
    #[arg(long)]
    continue_on_failure: bool,
    /// Restart a run that failed or timed out, up to this many times...
    #[arg(long, requires = "restart_every", value_name = "N")]
    restart_times: Option<u32>,
    /// ...this many minutes after each failure (--restart-times 0 turns restarts off).
    #[arg(long, requires = "restart_times", value_name = "MINUTES")]
    restart_every: Option<u32>,
    /// Delete the task this many days after it expires, or "never" (it
    /// expires when no trigger can fire again: each needs an expiry or to be --once).
    #[arg(long, value_name = "DAYS|never")]
    delete_expired_after_days: Option<String>,
}

/// One trigger from flags: exactly one of the kind flags.
#[derive(Debug, Args)]
struct TriggerFlags {
    /// Once, at a local date-time "YYYY-MM-DD HH:MM".
    #[arg(long, group = "kind")]
    once: Option<String>,
    /// Every day (or every --every days) at HH:MM (or HH:MM:SS).
    #[arg(long, group = "kind")]
    daily: Option<String>,
    /// On weekdays every week (or --every weeks): DAYS@HH:MM, e.g. Mon,Wed@01:30.
    #[arg(long, group = "kind")]
    weekly: Option<String>,
    /// On days of the month: DAYS@HH:MM, e.g. 1,15@02:00 or last@02:00.
    #[arg(long, group = "kind")]
    monthly: Option<String>,
    /// On the nth weekday: WEEKS:DAYS@HH:MM, e.g. last:Fri@18:00 or first,third:Mon@07:00.
    #[arg(long, group = "kind")]
    monthly_weekday: Option<String>,
    /// A raw cron expression, 6 or 7 fields, seconds first ("0 30 1 * * *").
    ///
    /// Weekday numbers follow the `cron` crate: 1 = Sunday to 7 = Saturday,
    /// one more than Unix cron (0 is refused). "0 0 9 * * Mon-Fri" and
    /// "0 0 9 * * 2-6" are both 09:00 on weekdays; names avoid the doubt.
    /// Quartz's L, W and # are not supported: use --monthly last@HH:MM or
    /// --monthly-weekday last:Fri@HH:MM instead.
    #[arg(long, group = "kind", verbatim_doc_comment)]
    cron: Option<String>,
    /// Each time `b2b serve` starts serving the database.
    #[arg(long, group = "kind")]
    at_startup: bool,
    /// N for --daily (every N days) or --weekly (every N weeks); needs --start.
    #[arg(long)]
    every: Option<u32>,
    /// Repeat every this many minutes of elapsed time (fixed through clock changes)...
    #[arg(long, requires = "repeat_for", value_name = "MINUTES")]
    repeat_every: Option<u32>,
    /// ...for this many minutes, or "indefinitely" (until the pattern fires again).
    #[arg(long, requires = "repeat_every", value_name = "MINUTES|indefinitely")]
    repeat_for: Option<String>,
    /// Stop a run still going when the repetition's duration ends.
    #[arg(long, requires = "repeat_every")]
    stop_at_end: bool,
    /// Start each run up to this many minutes late, at random.
    #[arg(long, value_name = "MINUTES")]
    random_delay: Option<u32>,
    /// Never before this local date-time "YYYY-MM-DD HH:MM" (the anchor of --every).
    #[arg(long)]
    start: Option<String>,
    /// Never after this local date-time "YYYY-MM-DD HH:MM".
    #[arg(long)]
    expiry: Option<String>,
}

impl TriggerFlags {
    /// The trigger the flags describe, or `None` when no kind flag is given.
    /// Built as the stored JSON form, so parsing and checks live in one place.
    fn trigger(&self) -> Result<Option<Trigger>> {
        let Some(mut t) = self.kind()? else {
            return match self.modifier() {
                Some(flag) => Err(Error::invalid(format!(
                    "{flag} belongs to a trigger; give one too, e.g. --daily 01:30"
                ))),
                None => Ok(None),
            };
        };
        let obj = t.as_object_mut().expect("kinds are objects");
        for (key, value) in [("start", &self.start), ("expiry", &self.expiry)] {
            if let Some(v) = value {
                obj.insert(key.into(), json!(v));
            }
        }
        if let Some(every) = self.repeat_every {
            obj.insert("repeat".into(), self.repeat(every)?);
        }
        if let Some(minutes) = self.random_delay {
            obj.insert("random_delay_minutes".into(), json!(minutes));
        }
        serde_json::from_value(t)
            .map(Some)
            .map_err(|e| Error::invalid(format!("the trigger is not valid: {e}")))
    }

    /// A flag given that only means something with a kind flag.
    fn modifier(&self) -> Option<&'static str> {
        [
            (self.every.is_some(), "--every"),
            (self.repeat_every.is_some(), "--repeat-every"),
            (self.random_delay.is_some(), "--random-delay"),
            (self.start.is_some(), "--start"),
            (self.expiry.is_some(), "--expiry"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    fn repeat(&self, every: u32) -> Result<Value> {
        let span = self.repeat_for.as_deref().unwrap_or_default().trim();
        let mut repeat = if span.eq_ignore_ascii_case("indefinitely") {
            json!({"every_minutes": every, "indefinitely": true})
        } else {
            let minutes: u32 = span.parse().map_err(|_| {
                Error::invalid(format!(
                    "--repeat-for `{span}` is neither a number of minutes nor `indefinitely`"
                ))
            })?;
            json!({"every_minutes": every, "for_minutes": minutes})
        };
        if self.stop_at_end {
            repeat["stop_at_end"] = json!(true);
        }
        Ok(repeat)
    }

    /// N of `--every`, for the kinds that count days or weeks.
    fn every(&self, allowed: bool) -> Result<u32> {
        match self.every {
            Some(_) if !allowed => Err(Error::invalid(
                "--every counts days (--daily) or weeks (--weekly) and means nothing for this \
                 trigger; for runs within a day use --repeat-every and --repeat-for",
            )),
            every => Ok(every.unwrap_or(1)),
        }
    }

    fn kind(&self) -> Result<Option<Value>> {
        let counted = self.daily.is_some() || self.weekly.is_some();
        let every = self.every(counted)?;
        Ok(Some(if let Some(at) = &self.once {
            json!({"kind": "once", "at": at})
        } else if let Some(at) = &self.daily {
            json!({"kind": "daily", "every_days": every, "at": at})
        } else if let Some(spec) = &self.weekly {
            let (days, at) = split_at(spec)?;
            json!({"kind": "weekly", "every_weeks": every, "weekdays": list(days), "at": at})
        } else if let Some(spec) = &self.monthly {
            let (days, at) = split_at(spec)?;
            let last_day = list(days).contains(&"last".to_string());
            let numbers = list(days)
                .into_iter()
                .filter(|d| d != "last")
                .map(|d| {
                    d.parse::<u32>().map_err(|_| {
                        Error::invalid(format!(
                            "`{d}` is not a day of the month (1 to 31, or last)"
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            json!({"kind": "monthly", "days": numbers, "last_day": last_day, "at": at})
        } else if let Some(spec) = &self.monthly_weekday {
            let (which, at) = split_at(spec)?;
            let (weeks, days) = which.split_once(':').ok_or_else(|| {
                Error::invalid(format!(
                    "`{spec}` must be WEEKS:DAYS@HH:MM, e.g. last:Fri@18:00"
                ))
            })?;
            json!({"kind": "monthly_weekday", "weeks": list(weeks), "weekdays": list(days), "at": at})
        } else if let Some(expression) = &self.cron {
            json!({"kind": "cron", "expression": expression})
        } else if self.at_startup {
            json!({"kind": "at_startup"})
        } else {
            return Ok(None);
        }))
    }
}

fn split_at(spec: &str) -> Result<(&str, &str)> {
    spec.split_once('@')
        .ok_or_else(|| Error::invalid(format!("`{spec}` must end in @HH:MM, e.g. Mon,Wed@01:30")))
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `PLUGIN` or `PLUGIN:k=v,k=v`.
fn action(raw: &str, on_failure: OnFailure) -> Result<TaskAction> {
    let (plugin, params) = raw.split_once(':').unwrap_or((raw, ""));
    let params = list(params)
        .iter()
        .map(|p| b2b_host::service::parse_param(p))
        .collect::<Result<_>>()?;
    Ok(TaskAction {
        plugin: plugin.trim().to_string(),
        params,
        on_failure,
    })
}

impl Settings {
    fn apply(&self, def: &mut TaskDefinition) -> Result<()> {
        if let Some(d) = &self.description {
            def.description = d.clone();
        }
        if let Some(z) = &self.time_zone {
            def.time_zone = z.clone();
        }
        if let Some(o) = &self.overlap {
            def.overlap = o.parse()?;
        }
        if let Some(h) = self.time_limit_hours {
            def.time_limit_secs = (h * 3600.0).round() as i64;
        }
        if let Some(c) = self.catch_up {
            def.catch_up = c;
        }
        if let Some(h) = self.deadline_hours {
            def.starting_deadline_secs = (h * 3600.0).round() as i64;
        }
        if let (Some(times), Some(every_minutes)) = (self.restart_times, self.restart_every) {
            def.restart_on_failure = (times > 0).then_some(Restart {
                times,
                every_minutes,
            });
        }
        if let Some(days) = &self.delete_expired_after_days {
            def.delete_expired_after_days = match days.trim() {
                never if never.eq_ignore_ascii_case("never") => None,
                days => Some(days.parse().map_err(|_| {
                    Error::invalid(format!(
                        "--delete-expired-after-days `{days}` is neither a number of days nor `never`"
                    ))
                })?),
            };
        }
        Ok(())
    }

    fn on_failure(&self) -> OnFailure {
        if self.continue_on_failure {
            OnFailure::Continue
        } else {
            OnFailure::Stop
        }
    }
}

fn from_flags(new: &NewTask) -> Result<TaskDefinition> {
    if let Some(file) = &new.from_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::not_found(format!("cannot read {}: {e}", file.display())))?;
        return toml::from_str(&text)
            .map_err(|e| Error::invalid(format!("{} is not a valid task: {e}", file.display())));
    }
    let mut def: TaskDefinition = toml::from_str(&format!(
        "name = {:?}\nactions = []",
        new.name.clone().unwrap_or_default()
    ))
    .expect("a minimal task parses");
    new.settings.apply(&mut def)?;
    def.actions = new
        .actions
        .iter()
        .map(|a| action(a, new.settings.on_failure()))
        .collect::<Result<_>>()?;
    def.triggers = new.trigger.trigger()?.into_iter().collect();
    Ok(def)
}

pub(super) fn task(ctx: &Context, cmd: &Task) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Task::New(new) => {
            let t = svc.create_task(&from_flags(new)?)?;
            tell(
                ctx,
                &format!("Created task {} `{}`.", t.id, t.definition.name),
            );
            show(ctx, &t);
            notes(&svc.task_notes(&t));
        }
        Task::List => {
            let list = svc.tasks()?;
            listing(
                ctx.json,
                &list,
                &["ID", "NAME", "ENABLED", "NEXT RUN", "LAST RUN", "RESULT"],
                |s| {
                    vec![
                        s.task.id.to_string(),
                        s.task.definition.name.clone(),
                        s.task.definition.enabled.to_string(),
                        opt(&s
                            .next_run
                            .map(|d| d.format("%Y-%m-%d %H:%M %:z").to_string())),
                        opt(&s.last_run.as_ref().map(|r| time::display(r.nominal_at))),
                        opt(&s.last_run.as_ref().map(|r| r.status.to_string())),
                    ]
                },
            );
        }
        Task::Show { task } => {
            let t = svc.task(task)?;
            show(ctx, &t);
            notes(&svc.task_notes(&t));
        }
        Task::Edit(e) => {
            let t = svc.edit_task(&e.task, |def| edit(e, def))?;
            tell(
                ctx,
                &format!("Changed task {} `{}`.", t.id, t.definition.name),
            );
            show(ctx, &t);
            notes(&svc.task_notes(&t));
        }
        Task::Enable { task } => println!(
            "Enabled `{}`.",
            svc.set_task_enabled(task, true)?.definition.name
        ),
        Task::Disable { task } => println!(
            "Disabled `{}`.",
            svc.set_task_enabled(task, false)?.definition.name
        ),
        Task::Run { task, force } => {
            let shutdown = Shutdown::on_signals()?;
            let record = b2b_host::scheduler::run_task_now(svc, task, *force, &shutdown)?;
            single(ctx.json, &record, print_run);
            return ended(&record);
        }
        Task::Next { task, count, from } => {
            let from = from.as_deref().map(parse_instant).transpose()?;
            let times = svc.next_fires(task, *count, from)?;
            single(ctx.json, &times, |times| {
                for t in times {
                    println!("{}", t.format("%a %Y-%m-%d %H:%M:%S %:z"));
                }
            });
        }
        Task::History { task, limit } => {
            let history = svc.task_history(task, *limit)?;
            single(ctx.json, &history, |h| h.iter().for_each(print_run));
        }
        Task::Delete { task } => {
            svc.delete_task(task)?;
            println!("Deleted task `{task}` and its history.");
        }
    }
    Ok(())
}

/// Applies `task edit`'s flags to a definition.
fn edit(e: &EditTask, def: &mut TaskDefinition) -> Result<()> {
    if let Some(name) = &e.name {
        def.name = name.clone();
    }
    e.settings.apply(def)?;
    if !e.actions.is_empty() {
        def.actions = e
            .actions
            .iter()
            .map(|a| action(a, e.settings.on_failure()))
            .collect::<Result<_>>()?;
    }
    if let Some(trigger) = e.trigger.trigger()? {
        def.triggers = vec![trigger];
    }
    for (numbers, enabled) in [(&e.enable_triggers, true), (&e.disable_triggers, false)] {
        for n in numbers {
            let count = def.triggers.len();
            let trigger = n
                .checked_sub(1)
                .and_then(|i| def.triggers.get_mut(i))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "the task has no trigger {n}; its triggers are numbered 1 to {count} \
                         (see `b2b task show`)"
                    ))
                })?;
            trigger.enabled = enabled;
        }
    }
    Ok(())
}

/// A message for people: on stdout, or on stderr when stdout carries JSON.
fn tell(ctx: &Context, message: &str) {
    if ctx.json {
        eprintln!("{message}");
    } else {
        println!("{message}");
    }
}

/// What a person should know about a task they just stored or looked at.
fn notes(notes: &[String]) {
    for note in notes {
        eprintln!("note: {note}");
    }
}

/// `task run`'s exit: 0 when the run succeeded, 5 when it failed, timed
/// out, or was stopped or interrupted, 4 when the overlap policy skipped it.
fn ended(record: &RunRecord) -> Result<()> {
    let run = &record.run;
    let why = run.detail.as_deref().unwrap_or("no reason was recorded");
    let said = format!("task run {} {}: {why}", run.id, run.status);
    match run.status {
        RunStatus::Succeeded => Ok(()),
        RunStatus::Skipped => Err(Error::Refused(said)),
        RunStatus::Running | RunStatus::Queued => Err(Error::ActionFailed(format!(
            "task run {} is still {} after its time limit; see `b2b task history`",
            run.id, run.status
        ))),
        _ => Err(Error::ActionFailed(said)),
    }
}

fn parse_instant(raw: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").map(|n| n.and_utc()))
        .map_err(|_| Error::invalid(format!("`{raw}` is not an instant; write 2027-03-27T00:00:00Z or \"2027-03-27 00:00\" (UTC)")))
}

fn show(ctx: &Context, t: &b2b_host::storage::tasks::Task) {
    single(ctx.json, t, |t| {
        let d = &t.definition;
        println!(
            "Task {} `{}` ({})",
            t.id,
            d.name,
            if d.enabled { "enabled" } else { "disabled" }
        );
        if !d.description.is_empty() {
            println!("  {}", d.description);
        }
        println!(
            "  zone {}, overlap {}, time limit {}s, catch up {} (deadline {}s)",
            d.time_zone, d.overlap, d.time_limit_secs, d.catch_up, d.starting_deadline_secs
        );
        if let Some(r) = d.restart_on_failure {
            println!(
                "  restart on failure: up to {} time(s), {} minute(s) after each failure",
                r.times, r.every_minutes
            );
        }
        if let Some(days) = d.delete_expired_after_days {
            let expires = t.expires_at.map_or_else(|| "never".into(), time::display);
            println!("  expires {expires}; deleted {days} day(s) after that");
        }
        for (n, (trigger, (_, next))) in d.triggers.iter().zip(&t.schedule).enumerate() {
            let next = match next {
                Some(next) => time::display(*next),
                None if trigger.is_at_startup() => "when the host starts".into(),
                None => "never".into(),
            };
            println!(
                "  when {}: {}; next {next}",
                n + 1,
                trigger.describe(&d.time_zone)
            );
        }
        for (n, a) in d.actions.iter().enumerate() {
            let params: Vec<String> = a.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "  do {}:   {} {} (on failure: {})",
                n + 1,
                a.plugin,
                params.join(" "),
                a.on_failure
            );
        }
    });
}

fn print_run(r: &RunRecord) {
    let run = &r.run;
    let missed = match (run.missed, run.missed_from, run.missed_until) {
        (0, ..) => String::new(),
        (n, Some(from), Some(until)) => {
            let at_least = if n as usize >= MAX_COUNTED_MISSED {
                "at least "
            } else {
                ""
            };
            format!(
                ", {at_least}{n} slot(s) missed from {} to {}",
                time::display(from),
                time::display(until)
            )
        }
        (n, ..) => format!(", {n} slot(s) missed"),
    };
    let attempt = match run.attempt {
        1 => String::new(),
        n => format!(" (restart {} after a failure)", n - 1),
    };
    println!(
        "Run {} for {}{attempt}: {}{missed}; started {}, ended {}",
        run.id,
        time::display(run.nominal_at),
        run.status,
        run.started_at
            .map(time::display)
            .unwrap_or_else(|| "-".into()),
        run.finished_at
            .map(time::display)
            .unwrap_or_else(|| "-".into())
    );
    if let Some(d) = &run.detail {
        println!("  {d}");
    }
    if let Some(at) = run.retry_at {
        println!("  restarts at {}", time::display(at));
    }
    for a in &r.actions {
        let counts = a.counts.as_ref().map(|c| {
            format!(
                "examined {}, changed {}, skipped {}",
                c.examined, c.changed, c.skipped
            )
        });
        println!(
            "  {} (run {}): {} {}",
            a.plugin_id,
            a.id,
            a.status,
            counts.or(a.error.clone()).unwrap_or_default()
        );
    }
}

pub(super) fn serve(ctx: &Context, grace: u64, lease: u64) -> Result<()> {
    if !(MIN_LEASE..=MAX_LEASE).contains(&lease) {
        return Err(Error::invalid(format!(
            "--lease-secs {lease} is out of range; give {MIN_LEASE} to {MAX_LEASE} seconds \
             (a standby takes over this long after the holder stops renewing it)"
        )));
    }
    let shutdown = Shutdown::on_signals()?;
    let svc = ctx.service()?;
    let engine = std::sync::Arc::clone(svc.engine()?);
    let options = Options {
        grace: std::time::Duration::from_secs(grace),
        lease: std::time::Duration::from_secs(lease),
    };
    daemon::serve(svc.db().clone(), engine, shutdown, options, |line| {
        println!("{} {line}", time::display(time::now()))
    })
}

/// The bounds of `serve --lease-secs`: renewals come a third of it apart.
const MIN_LEASE: u64 = 2;
const MAX_LEASE: u64 = 3600;
