//! Per-run limits: memory, wall-clock time and the epoch ticker behind it.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// What one run may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time before the run is stopped.
    pub time: Duration,
    /// Linear memory the plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// Log and output kept, in bytes.
    pub log_bytes: usize,
}

/// Refuses memory growth past the cap and remembers that it did, so the
/// failure can be reported as "memory limit" rather than a bare trap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: usize) -> Self {
        MemoryLimiter { cap, hit: false }
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.hit = true;
            // Trapping (rather than returning false) stops the plugin at once;
            // many guests abort on allocation failure anyway, with a less clear trap.
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached",
                self.cap >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
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
