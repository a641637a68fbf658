//! The scheduler (docs/architecture.md, "Scheduling"): tasks fire on their triggers, obey
//! their overlap policy and time limit, catch up once after the host was
//! down, restart after a failure when asked, and never run a slot twice.
//!
//! Safety comes from the database, not from memory: a slot is recorded
//! (unique per task, trigger and nominal instant) in the same transaction
//! that admits it under the overlap policy and moves its trigger on, so a
//! crash can neither lose nor repeat it, and two processes cannot both
//! start a run the policy allows only once. Each process that runs tasks
//! holds a lease ([`crate::lease`]); its runs are recorded as interrupted only once
//! that lease has lapsed, so a live run is never taken for a dead one.
//! Time is read from a [`Clock`], so tests move it instead of sleeping.

mod admission;
pub mod daemon;
mod run_now;
mod runner;
mod signals;
mod slots;

pub use run_now::run_task_now;
pub use signals::Shutdown;
pub use slots::MAX_COUNTED as MAX_COUNTED_MISSED;

use crate::actor::Actor;
use crate::engine::{Engine, Stop};
use crate::error::{Error, Result};
use crate::lease::{Lease, RUN_LEASE};
use crate::storage::task_runs::{self, Missed, NewRun, Retry};
use crate::storage::tasks::{self, DueSlot, RunStatus, Slot, Task};
use crate::storage::{in_transaction, leases, orphans, Db};
use admission::Admission;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync {
    /// The current instant (a test's clock moves only when told).
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How long runs stopped at shutdown get to record how they ended, at most.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// How often a process with runs in progress looks for requests from other
/// processes to stop them (overlap: stop existing).
pub const STOP_POLL: Duration = Duration::from_secs(1);

/// A run in progress in this process.
struct Active {
    task_id: i64,
    stop: Stop,
    handle: JoinHandle<()>,
}

/// Wakes the daemon early: a run ended (a queued one may start), a lease
/// was lost, or a signal asked it to stop.
#[derive(Default)]
pub struct Wake {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    /// A lease's `on_lost` that wakes whoever waits here.
    pub fn on_lost(self: &Arc<Self>) -> crate::lease::OnLost {
        let wake = Arc::clone(self);
        Arc::new(move || wake.notify())
    }

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
    /// Runs started (slots, queued runs, restarts).
    pub started: Vec<i64>,
    /// Slots recorded without a run (skipped, queued, missed).
    pub recorded: Vec<(i64, RunStatus)>,
    /// Runs of processes whose lease lapsed, recorded as interrupted.
    pub interrupted: usize,
    /// Tasks deleted because they expired, by name.
    pub deleted: Vec<String>,
    /// What went wrong with one task, without stopping the others.
    pub errors: Vec<String>,
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
    /// This process's lease: given (`b2b serve`) or taken at the first run.
    lease: Mutex<Option<Arc<Lease>>>,
    /// When requests to stop runs were last looked for.
    polled: Mutex<Instant>,
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
            lease: Mutex::new(None),
            polled: Mutex::new(Instant::now()),
        }
    }

    /// Shares a wake-up with something else that may end the daemon's wait
    /// (its signal handler).
    pub fn with_wake(mut self, wake: Arc<Wake>) -> Scheduler {
        self.wake = wake;
        self
    }

    /// Runs under a lease already held (the one `b2b serve` took).
    pub fn with_lease(self, lease: Lease) -> Scheduler {
        *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(lease));
        self
    }

    /// What wakes the daemon early.
    pub fn wake(&self) -> &Arc<Wake> {
        &self.wake
    }

    /// This process's lease, if it has one yet.
    fn held(&self) -> Option<Arc<Lease>> {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// This process's lease, taken now if it has none.
    fn lease(&self) -> Result<Arc<Lease>> {
        let mut lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lease) = &*lease {
            return Ok(Arc::clone(lease));
        }
        let taken = Arc::new(Lease::register(&self.db, RUN_LEASE, self.wake.on_lost())?);
        *lease = Some(Arc::clone(&taken));
        Ok(taken)
    }

    /// Whether another process found this one's lease lapsed and took over
    /// its runs: it must stop running tasks.
    pub fn lost_lease(&self) -> bool {
        self.held().is_some_and(|lease| lease.lost())
    }

    /// Records the runs of processes whose lease has lapsed (or that ran
    /// before there were leases) as interrupted. Returns how many. A run of
    /// a process still renewing its lease is never touched.
    pub fn recover(&self) -> Result<usize> {
        let conn = self.db.connect()?;
        let now = leases::now_ms();
        if !orphans::pending(&conn, now)? {
            return Ok(0);
        }
        in_transaction(&conn, |tx| orphans::recover(tx, now)).map(|r| r.task_runs)
    }

    /// Gives each `at_startup` trigger of an enabled task a slot now (the
    /// host is starting to serve the database).
    pub fn start_up(&self) -> Result<usize> {
        let conn = self.db.connect()?;
        let now = self.clock.now();
        let mut slotted = 0;
        for task in tasks::list(&conn)?
            .into_iter()
            .filter(|t| t.definition.enabled)
        {
            let zone = &task.definition.time_zone;
            for ((trigger_id, _), trigger) in task.schedule.iter().zip(&task.definition.triggers) {
                if trigger.enabled && trigger.is_at_startup() && trigger.plan(zone)?.allows(now) {
                    let slot = Slot::delayed(now, trigger.random_delay_minutes);
                    tasks::set_next(&conn, *trigger_id, Some(slot))?;
                    slotted += 1;
                }
            }
        }
        Ok(slotted)
    }

    /// Honours requests to stop runs, records runs other processes left
    /// behind, starts queued runs whose task is free, fires every due slot
    /// and restart as of the clock's now, and deletes expired tasks. A
    /// task that cannot fire is reported in the tick; the others go on.
    pub fn tick(&self) -> Result<Tick> {
        self.reap();
        let mut tick = Tick::default();
        if self.lost_lease() {
            self.stop_all();
            return Ok(tick);
        }
        self.honour_stop_requests()?;
        tick.interrupted = self.recover()?;
        let conn = self.db.connect()?;
        self.start_queued(&conn, &mut tick)?;
        let now = self.clock.now();
        for due in tasks::due(&conn, now.timestamp())? {
            if let Err(e) = self.fire(&conn, due, now, &mut tick) {
                tick.errors.push(format!("task {}: {e}", due.task));
            }
        }
        for retry in task_runs::due_retries(&conn, now.timestamp())? {
            if let Err(e) = self.restart(&conn, retry, now, &mut tick) {
                tick.errors.push(format!("task {}: {e}", retry.task));
            }
        }
        self.delete_expired(&conn, now, &mut tick)?;
        Ok(tick)
    }

    /// The earliest instant a slot or a restart is due.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = self.db.connect()?;
        let next = [tasks::next_due(&conn)?, task_runs::next_retry(&conn)?];
        Ok(next
            .into_iter()
            .flatten()
            .min()
            .and_then(|t| DateTime::from_timestamp(t, 0)))
    }

    fn fire(
        &self,
        conn: &Connection,
        due: DueSlot,
        now: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<()> {
        let task = tasks::get(conn, due.task)?;
        let Some(index) = task.schedule.iter().position(|(id, _)| *id == due.trigger) else {
            // The task was edited since the slot was read; its triggers are new.
            return Ok(());
        };
        let trigger = &task.definition.triggers[index];
        let plan = trigger.plan(&task.definition.time_zone)?;
        let firing = slots::fire(
            &plan,
            trigger.random_delay_minutes,
            &task.definition,
            due.slot,
            now,
        );
        let owner = self.lease()?;
        let by = format!("scheduler:{}", task.definition.name);
        let recorded = in_transaction(conn, |tx| {
            let admission = match &firing.not_run {
                Some(why) => Admission::refused(RunStatus::Missed, why.clone()),
                None => admission::admit(tx, &task)?,
            };
            let run = NewRun {
                trigger: Some(due.trigger),
                nominal: firing.nominal.timestamp(),
                missed: firing.missed,
                ..self.new_run(&task, &admission, &by, owner.id())
            };
            let id = task_runs::record(tx, &run)?;
            tasks::set_next(tx, due.trigger, firing.next)?;
            Ok(id.map(|id| (id, admission)))
        })?;
        // `None`: another scheduler recorded this slot first; it owns it.
        let Some((run, admission)) = recorded else {
            return Ok(());
        };
        let ends_at = plan.repetition_end(firing.nominal);
        self.enter(&task, run, 1, admission, ends_at, tick);
        Ok(())
    }

    /// Runs a failed run again, as its task's restart-on-failure asks.
    fn restart(
        &self,
        conn: &Connection,
        retry: Retry,
        now: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<()> {
        let task = tasks::get(conn, retry.task)?;
        let def = &task.definition;
        let in_time = slots::in_time(def, now.timestamp() - retry.at);
        let owner = self.lease()?;
        let by = format!("scheduler:{} (restart)", def.name);
        let recorded = in_transaction(conn, |tx| {
            if !task_runs::take_retry(tx, retry.run)? {
                return Ok(None);
            }
            let admission = if in_time {
                admission::admit(tx, &task)?
            } else {
                let why = "the host was not running when this restart was due";
                Admission::refused(RunStatus::Missed, why.into())
            };
            let run = NewRun {
                nominal: retry.at,
                attempt: retry.attempt + 1,
                retry_of: Some(retry.first),
                ..self.new_run(&task, &admission, &by, owner.id())
            };
            Ok(task_runs::record(tx, &run)?.map(|id| (id, admission)))
        })?;
        if let Some((run, admission)) = recorded {
            self.enter(&task, run, retry.attempt + 1, admission, None, tick);
        }
        Ok(())
    }

    /// A run of `task` as admitted, recorded now by `owner`.
    fn new_run<'a>(
        &self,
        task: &Task,
        admission: &'a Admission,
        by: &'a str,
        owner: &'a str,
    ) -> NewRun<'a> {
        NewRun {
            task: task.id,
            trigger: None,
            nominal: self.clock.now().timestamp(),
            status: admission.status,
            detail: admission.detail.as_deref(),
            at: self.clock.now().timestamp(),
            missed: Missed::default(),
            attempt: 1,
            retry_of: None,
            started_by: by,
            owner,
        }
    }

    /// Acts on a recorded run: starts it, or notes how it was recorded.
    fn enter(
        &self,
        task: &Task,
        run: i64,
        attempt: u32,
        admission: Admission,
        ends_at: Option<DateTime<Utc>>,
        tick: &mut Tick,
    ) {
        if admission.stops_others {
            self.stop_task(task.id);
        }
        if admission.status == RunStatus::Running {
            self.spawn(task.clone(), run, attempt, ends_at);
            tick.started.push(run);
        } else {
            tick.recorded.push((run, admission.status));
        }
    }

    /// Starts this process's queued runs whose task is free.
    fn start_queued(&self, conn: &Connection, tick: &mut Tick) -> Result<()> {
        let Some(lease) = self.held() else {
            return Ok(());
        };
        let now = self.clock.now().timestamp();
        for (task_id, run) in task_runs::queued(conn, lease.id())? {
            if task_runs::start_queued(conn, run, now)? {
                self.spawn(tasks::get(conn, task_id)?, run, 1, None);
                tick.started.push(run);
            }
        }
        Ok(())
    }

    /// Runs a task now, outside its triggers, in this process. The overlap
    /// policy applies (to runs in any process) unless `force`; returns the
    /// run's id and how it entered. A queued run is started by
    /// [`Scheduler::wait_idle`] once the run before it ends.
    pub fn run_now(&self, task: &Task, force: bool, by: &Actor) -> Result<(i64, RunStatus)> {
        let owner = self.lease()?;
        let conn = self.db.connect()?;
        let (run, admission) = in_transaction(&conn, |tx| {
            let admission = if force {
                Admission::runs(false)
            } else {
                admission::admit(tx, task)?
            };
            let admission = admission.forcible();
            let run = self.new_run(task, &admission, by.as_str(), owner.id());
            let id = task_runs::record(tx, &run)?.ok_or_else(|| {
                Error::invalid("a run of this task started this very second; try again")
            })?;
            Ok((id, admission))
        })?;
        let status = admission.status;
        self.enter(task, run, 1, admission, None, &mut Tick::default());
        Ok((run, status))
    }

    fn spawn(&self, task: Task, run: i64, attempt: u32, ends_at: Option<DateTime<Utc>>) {
        let stop = Stop::default();
        let job = runner::Job {
            db: self.db.clone(),
            engine: Arc::clone(&self.engine),
            clock: Arc::clone(&self.clock),
            task: task.clone(),
            run,
            attempt,
            ends_at,
            stop: stop.clone(),
            shutting_down: Arc::clone(&self.shutting_down),
            owner: self.held().map(|lease| lease.id().to_string()),
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

    /// Asks the runs in this process that match `which` to stop.
    fn stop_where(&self, which: impl Fn(i64, &Active) -> bool) {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        for (run, a) in active.iter() {
            if which(*run, a) {
                a.stop.stop();
            }
        }
    }

    /// Asks every run of a task in this process to stop.
    fn stop_task(&self, task_id: i64) {
        self.stop_where(|_, a| a.task_id == task_id);
    }

    fn stop_all(&self) {
        self.stop_where(|_, _| true);
    }

    /// Stops the runs of this process that another process asked to stop
    /// (overlap: stop existing), looking at most every [`STOP_POLL`].
    fn honour_stop_requests(&self) -> Result<()> {
        let Some(lease) = self.held() else {
            return Ok(());
        };
        let idle = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        {
            let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
            if idle || polled.elapsed() < STOP_POLL {
                return Ok(());
            }
            *polled = Instant::now();
        }
        let asked = task_runs::stop_requested(&self.db.connect()?, lease.id())?;
        self.stop_where(|run, _| asked.contains(&run));
        Ok(())
    }

    /// Deletes the tasks that expired longer ago than they asked to be kept.
    fn delete_expired(&self, conn: &Connection, now: DateTime<Utc>, tick: &mut Tick) -> Result<()> {
        let actor = Actor::named("scheduler");
        for id in tasks::expired_for_deletion(conn, now.timestamp())? {
            let name = tasks::get(conn, id)?.definition.name;
            in_transaction(conn, |tx| tasks::delete(tx, id, &actor))?;
            tick.deleted.push(name);
        }
        Ok(())
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

    /// Waits until no run is in progress in this process (starting its own
    /// queued runs when their turn comes, and honouring requests to stop
    /// them), or `timeout` passes; returns whether all ended.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.lost_lease() {
                self.stop_all();
            }
            let _ = self.honour_stop_requests();
            if let Ok(conn) = self.db.connect() {
                let _ = self.start_queued(&conn, &mut Tick::default());
            }
            if self.running() == 0 && !self.has_queued() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.wake.wait(left.min(Duration::from_millis(100)));
        }
    }

    /// Whether this process has runs waiting their turn.
    fn has_queued(&self) -> bool {
        let queued = |lease: Arc<Lease>| {
            let conn = self.db.connect().ok()?;
            task_runs::queued(&conn, lease.id()).ok()
        };
        self.held()
            .and_then(queued)
            .is_some_and(|queued| !queued.is_empty())
    }

    /// Stops taking runs: lets running ones finish within `grace`, stops
    /// those still going a little before it ends, and records whatever has
    /// not recorded its end by then (running: interrupted, queued: skipped),
    /// so no run of this process is left `running`. The caller has stopped
    /// calling [`Scheduler::tick`].
    pub fn shutdown(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let margin = STOP_MARGIN.min(grace / 4);
        self.wait_running(deadline - margin);
        if self.running() > 0 {
            self.shutting_down.store(true, Ordering::SeqCst);
            self.stop_all();
            self.wait_running(deadline);
        }
        if let (Some(lease), Ok(conn)) = (self.held(), self.db.connect()) {
            let detail = format!(
                "the host stopped while this run was in progress (it had {}s to finish)",
                grace.as_secs()
            );
            let _ = task_runs::abandon(&conn, lease.id(), &detail);
        }
    }

    /// Waits until no run is in progress in this process, or `until`.
    fn wait_running(&self, until: Instant) {
        while self.running() > 0 && Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            self.wake.wait(left.min(Duration::from_millis(100)));
        }
    }
}
