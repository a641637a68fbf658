//! `b2b serve`: the daemon that runs scheduled tasks.
//!
//! One `serve` holds a database at a time, by a lease it renews (see
//! [`crate::lease`]). Another started on the same database says who holds
//! it and waits as a standby, taking over when that lease lapses (its
//! holder stopped, crashed or froze); taking over records the runs the
//! holder left as interrupted, and nothing of a live holder's.
//!
//! The holder sleeps until the next due slot, waking at least every minute
//! so a changed wall clock, a resumed machine or a task edited by the CLI is
//! noticed; it uses no CPU while it waits. SIGTERM or SIGINT stops it taking
//! new runs; running ones get the grace period to finish, are stopped a
//! little before it ends, and each is recorded as it ended.

use super::{Scheduler, Shutdown, SystemClock, Tick};
use crate::engine::Engine;
use crate::error::Result;
use crate::lease::{Lease, Taken};
use crate::storage::leases::{self, Owner};
use crate::storage::Db;
use std::sync::Arc;
use std::time::Duration;

/// The longest the daemon sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How `b2b serve` runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How long running tasks get to finish when it stops.
    pub grace: Duration,
    /// How long its lease lasts unless renewed (renewed every third of it):
    /// how long a standby waits after a holder dies before taking over.
    pub lease: Duration,
}

/// How serving the database ended.
enum Ended {
    /// Stopping was asked.
    Stopping,
    /// Another `serve` found this one's lease lapsed and took over.
    LostLease,
}

/// Runs the daemon until `shutdown` is requested. `say` receives one line
/// per event, for the console or a log file.
pub fn serve(
    db: Db,
    engine: Arc<Engine>,
    shutdown: Shutdown,
    options: Options,
    say: impl Fn(&str),
) -> Result<()> {
    while let Some(taken) = standby(&db, &shutdown, options, &say)? {
        let holder = taken.lease.owner().clone();
        let scheduler = Scheduler::new(db.clone(), Arc::clone(&engine), Arc::new(SystemClock))
            .with_wake(Arc::clone(shutdown.wake()))
            .with_lease(taken.lease);
        say(&format!(
            "serving scheduled tasks as {holder}; SIGTERM or Ctrl-C stops"
        ));
        if taken.interrupted > 0 {
            say(&format!(
                "{} run(s) left running by a host that stopped were marked interrupted",
                taken.interrupted
            ));
        }
        match scheduler.start_up() {
            Ok(0) => {}
            Ok(n) => say(&format!("{n} start-up trigger(s) due")),
            Err(e) => say(&format!("error: start-up triggers: {e}")),
        }
        match serving(&scheduler, &shutdown, &say) {
            Ended::Stopping => {
                say(&format!(
                    "stopping: {} run(s) in progress get up to {}s to finish",
                    scheduler.running(),
                    options.grace.as_secs()
                ));
                scheduler.shutdown(options.grace);
                say("stopped");
                return Ok(());
            }
            Ended::LostLease => {
                say("another `b2b serve` found this one's lease lapsed and took over; its runs were stopped");
                scheduler.wait_idle(Duration::from_secs(10));
            }
        }
    }
    say("stopped");
    Ok(())
}

/// Ticks until stopping is asked or the lease is lost.
fn serving(scheduler: &Scheduler, shutdown: &Shutdown, say: &impl Fn(&str)) -> Ended {
    loop {
        if shutdown.requested() {
            return Ended::Stopping;
        }
        if scheduler.lost_lease() {
            scheduler.stop_all();
            return Ended::LostLease;
        }
        match scheduler.tick() {
            Ok(tick) => report(&tick, say),
            Err(e) => say(&format!("error: {e}")),
        }
        scheduler.wake().wait(sleep(scheduler));
    }
}

/// How long to sleep: until the next due slot, at most a minute, and at
/// most [`super::STOP_POLL`] while runs are going (another process may ask
/// to stop one).
fn sleep(scheduler: &Scheduler) -> Duration {
    let until_due = match scheduler.next_due() {
        Ok(Some(due)) => (due - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
        _ => MAX_SLEEP,
    };
    let most = if scheduler.running() > 0 {
        super::STOP_POLL
    } else {
        MAX_SLEEP
    };
    until_due.min(most)
}

fn report(tick: &Tick, say: &impl Fn(&str)) {
    for run in &tick.started {
        say(&format!("started task run {run}"));
    }
    for (run, status) in &tick.recorded {
        say(&format!("recorded task run {run} as {status}"));
    }
    if tick.interrupted > 0 {
        say(&format!(
            "{} run(s) of a b2b process that stopped were marked interrupted",
            tick.interrupted
        ));
    }
    for name in &tick.deleted {
        say(&format!(
            "deleted task `{name}`: it expired and its delete_expired_after_days have passed"
        ));
    }
    for error in &tick.errors {
        say(&format!("error: {error}"));
    }
}

/// Waits until this process holds the database, saying who holds it
/// meanwhile; `None` when stopping is asked first.
fn standby(
    db: &Db,
    shutdown: &Shutdown,
    options: Options,
    say: &impl Fn(&str),
) -> Result<Option<Taken>> {
    let mut told: Option<String> = None;
    loop {
        if shutdown.requested() {
            return Ok(None);
        }
        let holder = match Lease::take(db, options.lease, shutdown.wake().on_lost()) {
            Ok(Ok(taken)) => return Ok(Some(taken)),
            Ok(Err(holder)) => holder,
            Err(e) => {
                say(&format!("error: cannot take the database yet: {e}"));
                shutdown.wake().wait(options.lease / 3);
                continue;
            }
        };
        if told.as_deref() != Some(holder.id.as_str()) {
            say(&held_by(&holder));
            told = Some(holder.id.clone());
        }
        let lapses_in =
            Duration::from_millis((holder.expires_at_ms - leases::now_ms()).max(0) as u64);
        shutdown
            .wake()
            .wait(lapses_in.min(options.lease / 3) + Duration::from_millis(20));
    }
}

/// Who holds the database, for a standby to say.
fn held_by(holder: &Owner) -> String {
    format!(
        "the database is held by {holder}, serving since {}; its lease was last renewed at {} \
         and lapses at {} unless renewed. Waiting as a standby: this one takes over if that \
         lease lapses",
        crate::time::display(holder.started_at),
        leases::display_ms(holder.renewed_at_ms),
        leases::display_ms(holder.expires_at_ms),
    )
}
