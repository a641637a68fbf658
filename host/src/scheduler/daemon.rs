//! `b2b serve`: the daemon that runs scheduled tasks.
//!
//! It sleeps until the next due slot, waking at least every minute so a
//! changed wall clock, a resumed machine or a task edited by the CLI is
//! noticed; it uses no CPU while it waits. SIGTERM or SIGINT stops it taking
//! new runs, lets running ones finish within a grace period, and marks the
//! rest interrupted.

use super::{Scheduler, SystemClock, Wake};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::storage::Db;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest the daemon sleeps without looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// SIGTERM and SIGINT, turned into a flag and a wake-up.
pub struct Signals {
    stopping: Arc<AtomicBool>,
    wake: Arc<Wake>,
}

impl Signals {
    /// Blocks SIGTERM and SIGINT in this thread and every thread it starts
    /// afterwards, and waits for them on a thread of its own. Call it before
    /// starting any other thread (the plugin engine starts one), or a signal
    /// could land on a thread that does not expect it.
    pub fn install() -> Result<Signals> {
        let stopping = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Wake::default());
        #[cfg(unix)]
        {
            let set = blocked_set()?;
            let (flag, waker) = (Arc::clone(&stopping), Arc::clone(&wake));
            std::thread::Builder::new()
                .name("b2b-signals".into())
                .spawn(move || {
                    let mut signal = 0;
                    // SAFETY: `set` is an initialised signal set; sigwait only writes `signal`.
                    unsafe { libc::sigwait(&set, &mut signal) };
                    flag.store(true, Ordering::SeqCst);
                    waker.notify();
                })
                .map_err(|e| Error::Io(format!("cannot start the signal thread: {e}")))?;
        }
        Ok(Signals { stopping, wake })
    }
}

#[cfg(unix)]
fn blocked_set() -> Result<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before use, and
    // pthread_sigmask only changes this thread's mask (inherited by threads
    // started later).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(Error::Io("cannot block SIGTERM and SIGINT".into()));
        }
        Ok(set)
    }
}

/// Runs the daemon until a signal stops it. `say` receives one line per
/// event, for the console or a log file.
pub fn serve(
    db: Db,
    engine: Arc<Engine>,
    signals: Signals,
    grace: Duration,
    say: impl Fn(&str),
) -> Result<()> {
    let scheduler =
        Scheduler::new(db, engine, Arc::new(SystemClock)).with_wake(Arc::clone(&signals.wake));
    let interrupted = scheduler.recover()?;
    if interrupted > 0 {
        say(&format!(
            "{interrupted} run(s) left running by the last host were marked interrupted"
        ));
    }
    say("serving scheduled tasks; SIGTERM or Ctrl-C stops");
    while !signals.stopping.load(Ordering::SeqCst) {
        match scheduler.tick() {
            Ok(tick) => {
                for run in &tick.started {
                    say(&format!("started task run {run}"));
                }
                for (run, status) in &tick.recorded {
                    say(&format!("recorded task run {run} as {status}"));
                }
            }
            Err(e) => say(&format!("error: {e}")),
        }
        let now = chrono::Utc::now();
        let wait = match scheduler.next_due() {
            Ok(Some(due)) => (due - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP),
            _ => MAX_SLEEP,
        };
        scheduler.wake().wait(wait);
    }
    say(&format!(
        "stopping: {} run(s) in progress get up to {}s to finish",
        scheduler.running(),
        grace.as_secs()
    ));
    scheduler.shutdown(grace);
    say("stopped");
    Ok(())
}
