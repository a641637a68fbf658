//! The WASI a plugin sees: its output captured into the run log, one clock
//! that reads the run's start time, and no filesystem, network, environment
//! or arguments.
//!
//! The clocks are frozen on purpose. The WIT contract says a plugin has no
//! clock of its own (`settings.run-started-at` is its notion of "now"), so
//! that a run is reproducible and a fixture test gives the same answer
//! every time; a wall clock read through WASI would break that quietly.
//! Both WASI clocks therefore read the run's start and never advance.
//! Sleeping still works (a relative or absolute timeout waits real time) and
//! always counts against the run's deadline, like everything else.
//! Randomness is left as WASI provides it: it grants no authority and
//! reveals nothing, and the guest's standard library needs it to seed hash
//! maps.

use crate::run_log::{Capture, RunLog, Stream};
use crate::time::Timestamp;
use std::time::Duration;
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::WasiCtx;

/// A WASI context for one run (or one `describe`) of a plugin.
pub(super) fn context(log: &RunLog, started_at: Timestamp) -> WasiCtx {
    let mut wasi = WasiCtx::builder();
    wasi.stdout(Capture::new(log, Stream::Stdout))
        .stderr(Capture::new(log, Stream::Stderr))
        .wall_clock(RunStart(Duration::from_secs(started_at.max(0) as u64)))
        .monotonic_clock(Stopped)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    wasi.build()
}

/// The wall clock: always the run's start.
struct RunStart(Duration);

impl HostWallClock for RunStart {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

/// The monotonic clock: time does not pass for a plugin.
struct Stopped;

impl HostMonotonicClock for Stopped {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
