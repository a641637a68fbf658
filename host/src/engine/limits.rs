//! Per-run limits: memory (one budget for the whole run), wall-clock time,
//! and the epoch ticker that makes a computing plugin yield to its deadline.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// What one run may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time before the run is stopped, whatever the plugin is
    /// doing: computing, sleeping or waiting on a host call.
    pub time: Duration,
    /// Memory the run may hold: every linear memory and table of every
    /// instance together, in bytes.
    pub memory_bytes: usize,
    /// Log and output kept, in bytes.
    pub log_bytes: usize,
    /// The longest one HTTP request may take (it is also cut to the time
    /// the run has left).
    pub http_timeout: Duration,
}

/// Core instances one run may create: a component built by cargo has a
/// handful; more is a plugin trying to multiply its memories.
pub(crate) const MAX_INSTANCES: usize = 16;
/// Linear memories one run (and one module) may create.
pub(crate) const MAX_MEMORIES: usize = 4;
/// Tables one run (and one module) may create.
pub(crate) const MAX_TABLES: usize = 8;
/// What a table element costs the host, for the run's memory total.
const TABLE_ELEMENT_BYTES: usize = 16;

/// Holds a run to one memory budget across all its memories and tables, and
/// remembers that it refused, so the failure reads "memory limit" rather
/// than a bare trap.
pub(crate) struct RunLimiter {
    cap: usize,
    used: usize,
    pub(crate) hit: bool,
}

impl RunLimiter {
    pub(crate) fn new(cap: usize) -> Self {
        RunLimiter {
            cap,
            used: 0,
            hit: false,
        }
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Moves the run's total from `current` to `desired` bytes of one memory
    /// or table, unless that would pass the cap.
    fn grow(&mut self, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let total = (self.used - current.min(self.used)).saturating_add(desired);
        if total > self.cap {
            self.hit = true;
            // Trapping (rather than returning false) stops the plugin at once;
            // many guests abort on allocation failure anyway, with a less clear trap.
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached",
                self.cap >> 20
            ));
        }
        self.used = total;
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for RunLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        )
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

/// How often the epoch advances while runs are in progress: the resolution
/// of the time limit.
const TICK: Duration = Duration::from_millis(50);

#[derive(Default)]
struct TickerState {
    active: usize,
    stopped: bool,
}

/// Advances the engine's epoch every [`TICK`] while at least one run is in
/// progress, and sleeps on a condition variable otherwise, so an idle host
/// uses no CPU.
pub(crate) struct Ticker {
    state: Arc<(Mutex<TickerState>, Condvar)>,
}

/// Keeps the ticker running while alive.
pub(crate) struct Ticking {
    state: Arc<(Mutex<TickerState>, Condvar)>,
}

impl Ticker {
    pub(crate) fn start(engine: &wasmtime::Engine) -> Ticker {
        let state = Arc::new((Mutex::new(TickerState::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        let engine = engine.weak();
        thread::Builder::new()
            .name("b2b-epoch".into())
            .spawn(move || loop {
                {
                    let (lock, cv) = &*shared;
                    let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while s.active == 0 && !s.stopped {
                        s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
                    }
                    if s.stopped {
                        return;
                    }
                }
                thread::sleep(TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            })
            .expect("spawning the epoch thread");
        Ticker { state }
    }

    /// Marks a run in progress until the returned guard drops.
    pub(crate) fn ticking(&self) -> Ticking {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap_or_else(|e| e.into_inner()).active += 1;
        cv.notify_all();
        Ticking {
            state: Arc::clone(&self.state),
        }
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .active -= 1;
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stopped = true;
        cv.notify_all();
    }
}
