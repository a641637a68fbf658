//! The scheduler (DESIGN.md section 6): tasks fire on their triggers, obey
//! their overlap policy and time limit, catch up once after the host was
//! down, and never run a slot twice.
//!
//! Safety comes from the database, not from memory: a slot is recorded
//! (unique per task, trigger and nominal instant) in the same transaction
//! that moves its trigger on, so a crash can neither lose nor repeat it;
//! runs left running by a stopped host become interrupted at start-up.
//! Time is read from a [`Clock`], so tests move it instead of sleeping.

pub mod daemon;
mod runner;
pub mod trigger;

use crate::actor::Actor;
use crate::engine::{Engine, Stop};
use crate::error::Result;
use crate::storage::tasks::{self, Overlap, RunStatus, Task};
use crate::storage::{in_transaction, Db};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A slot later than this after its nominal instant counts as missed (the
/// host was down or asleep), not merely late.
const ON_TIME: i64 = 120;
/// The most past slots counted for one trigger; enough for a minutely
/// trigger missed for two months.
const MAX_SLOTS: usize = 100_000;

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A run in progress in this process.
struct Active {
    task_id: i64,
    stop: Stop,
    handle: JoinHandle<()>,
}

/// Wakes the daemon early: a run ended (a queued one may start) or a
/// signal asked it to stop.
#[derive(Default)]
pub struct Wake {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    /// Wakes whoever waits.
    pub fn notify(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Waits until notified or `timeout` passes; uses no CPU meanwhile.
    pub fn wait(&self, timeout: Duration) {
        let flag = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        let (mut flag, _) = self
            .cv
            .wait_timeout_while(flag, timeout, |woken| !*woken)
            .unwrap_or_else(|e| e.into_inner());
        *flag = false;
    }
}

/// What one [`Scheduler::tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Runs started (slots and queued runs).
    pub started: Vec<i64>,
    /// Slots recorded without a run (skipped, queued, missed).
    pub recorded: Vec<(i64, RunStatus)>,
}

/// Fires due tasks and runs them on threads of their own.
pub struct Scheduler {
    db: Db,
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    active: Mutex<HashMap<i64, Active>>,
    wake: Arc<Wake>,
    /// Set when the host is stopping: runs stopped then end interrupted.
    shutting_down: Arc<AtomicBool>,
}

impl Scheduler {
    /// A scheduler over a database, sharing a plugin engine.
    pub fn new(db: Db, engine: Arc<Engine>, clock: Arc<dyn Clock>) -> Scheduler {
        Scheduler {
            db,
            engine,
            clock,
            active: Mutex::new(HashMap::new()),
            wake: Arc::new(Wake::default()),
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Shares a wake-up with something else that may end the daemon's wait
    /// (its signal handler).
    pub fn with_wake(mut self, wake: Arc<Wake>) -> Scheduler {
        self.wake = wake;
        self
    }

    /// What wakes the daemon early.
    pub fn wake(&self) -> &Arc<Wake> {
        &self.wake
    }

    /// At start-up, before anything runs: runs left running by a host that
    /// stopped become interrupted. Returns how many.
    pub fn recover(&self) -> Result<usize> {
        tasks::recover(&self.db.connect()?)
    }

    /// Starts queued runs whose task is free, then fires every due slot as of
    /// the clock's now.
    pub fn tick(&self) -> Result<Tick> {
        self.reap();
        let conn = self.db.connect()?;
        let mut tick = Tick::default();
        self.start_queued(&conn, &mut tick)?;
        let now = self.clock.now();
        for (task_id, trigger_id, nominal) in tasks::due(&conn, now.timestamp())? {
            let task = tasks::get(&conn, task_id)?;
            self.fire(&conn, &task, trigger_id, nominal, now, &mut tick)?;
        }
        Ok(tick)
    }

    /// The earliest next fire instant of any enabled task.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(tasks::next_due(&self.db.connect()?)?.and_then(|t| DateTime::from_timestamp(t, 0)))
    }

    fn fire(
        &self,
        conn: &Connection,
        task: &Task,
        trigger_id: i64,
        nominal: i64,
        now: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<()> {
        let index = task
            .schedule
            .iter()
            .position(|(id, _)| *id == trigger_id)
            .expect("the trigger belongs to the task");
        let trigger = &task.definition.triggers[index];
        let zone = &task.definition.time_zone;
        // Every slot from the recorded one up to now, and the first after now.
        let mut slots = vec![nominal];
        let mut next = trigger.next_after(zone, from_ts(nominal))?;
        while let Some(at) = next.filter(|at| *at <= now && slots.len() < MAX_SLOTS) {
            slots.push(at.timestamp());
            next = trigger.next_after(zone, at)?;
        }
        let latest = *slots.last().expect("at least the recorded slot");
        let late = now.timestamp() - latest;
        let runs = late <= ON_TIME
            || (task.definition.catch_up && late <= task.definition.starting_deadline_secs);
        let missed = slots.len() as i64 - i64::from(runs);
        let status = if runs {
            self.admit(conn, task)?
        } else {
            RunStatus::Missed
        };
        let by = format!("scheduler:{}", task.definition.name);
        let recorded = in_transaction(conn, |tx| {
            let id =
                tasks::record_slot(tx, task.id, Some(trigger_id), latest, status, missed, &by)?;
            tasks::advance(tx, trigger_id, next.map(|n| n.timestamp()))?;
            Ok(id)
        })?;
        // `None`: another scheduler recorded this slot first; it owns it.
        let Some(run) = recorded else { return Ok(()) };
        if status == RunStatus::Running {
            self.spawn(task.clone(), run);
            tick.started.push(run);
        } else {
            if status == RunStatus::Skipped {
                let detail = "the previous run was still going (overlap: ignore new)";
                tasks::finish_run(conn, run, RunStatus::Skipped, Some(detail))?;
            } else if status == RunStatus::Missed {
                tasks::finish_run(
                    conn,
                    run,
                    RunStatus::Missed,
                    Some("the host was not running at this time"),
                )?;
            }
            tick.recorded.push((run, status));
        }
        Ok(())
    }

    /// How a new run of `task` enters, given its overlap policy and the runs
    /// still going (in this process or another).
    fn admit(&self, conn: &Connection, task: &Task) -> Result<RunStatus> {
        if tasks::runs_with(conn, task.id, RunStatus::Running)?.is_empty() {
            return Ok(RunStatus::Running);
        }
        Ok(match task.definition.overlap {
            Overlap::IgnoreNew => RunStatus::Skipped,
            Overlap::QueueOne if tasks::runs_with(conn, task.id, RunStatus::Queued)?.is_empty() => {
                RunStatus::Queued
            }
            Overlap::QueueOne => RunStatus::Skipped,
            Overlap::Parallel => RunStatus::Running,
            Overlap::StopExisting => {
                self.stop_task(task.id);
                RunStatus::Running
            }
        })
    }

    fn start_queued(&self, conn: &Connection, tick: &mut Tick) -> Result<()> {
        for task_id in tasks::with_queued_runs(conn)? {
            let queued = tasks::runs_with(conn, task_id, RunStatus::Queued)?;
            if let Some(&run) = queued.first() {
                if tasks::runs_with(conn, task_id, RunStatus::Running)?.is_empty() {
                    tasks::start_run(conn, run)?;
                    self.spawn(tasks::get(conn, task_id)?, run);
                    tick.started.push(run);
                }
            }
        }
        Ok(())
    }

    /// Runs a task now, outside its triggers. The overlap policy applies
    /// unless `force`; returns the run's id and how it entered.
    pub fn run_now(&self, task: &Task, force: bool, by: &Actor) -> Result<(i64, RunStatus)> {
        let conn = self.db.connect()?;
        let status = if force {
            RunStatus::Running
        } else {
            self.admit(&conn, task)?
        };
        let run = tasks::record_slot(
            &conn,
            task.id,
            None,
            self.clock.now().timestamp(),
            status,
            0,
            by.as_str(),
        )?
        .ok_or_else(|| {
            crate::error::Error::invalid("a run of this task started this very second; try again")
        })?;
        match status {
            RunStatus::Running => self.spawn(task.clone(), run),
            RunStatus::Skipped => tasks::finish_run(
                &conn,
                run,
                status,
                Some("the previous run was still going (overlap: ignore new); --force runs anyway"),
            )?,
            _ => {}
        }
        Ok((run, status))
    }

    fn spawn(&self, task: Task, run: i64) {
        let stop = Stop::default();
        let job = runner::Job {
            db: self.db.clone(),
            engine: Arc::clone(&self.engine),
            task: task.clone(),
            run,
            stop: stop.clone(),
            shutting_down: Arc::clone(&self.shutting_down),
        };
        let wake = Arc::clone(&self.wake);
        let handle = std::thread::Builder::new()
            .name(format!("task-{}", task.id))
            .spawn(move || {
                job.execute();
                wake.notify();
            })
            .expect("spawning a task thread");
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                run,
                Active {
                    task_id: task.id,
                    stop,
                    handle,
                },
            );
    }

    /// Asks every run of a task in this process to stop.
    fn stop_task(&self, task_id: i64) {
        for a in self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|a| a.task_id == task_id)
        {
            a.stop.stop();
        }
    }

    /// Forgets runs that have ended.
    fn reap(&self) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let done: Vec<i64> = active
            .iter()
            .filter(|(_, a)| a.handle.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(a) = active.remove(&id) {
                let _ = a.handle.join();
            }
        }
    }

    /// How many runs are in progress in this process.
    pub fn running(&self) -> usize {
        self.reap();
        self.active.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Waits until no run is in progress, or `timeout` passes; returns
    /// whether all ended.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.running() > 0 {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            self.wake.wait(Duration::from_millis(100));
        }
        true
    }

    /// Lets running runs finish within `grace`, then stops the rest, which
    /// end interrupted. The caller has stopped calling [`Scheduler::tick`].
    pub fn shutdown(&self, grace: Duration) {
        if self.wait_idle(grace) {
            return;
        }
        self.shutting_down.store(true, Ordering::Relaxed);
        for a in self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            a.stop.stop();
        }
        self.wait_idle(Duration::from_secs(10));
    }
}

fn from_ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).expect("stored instants are in range")
}
