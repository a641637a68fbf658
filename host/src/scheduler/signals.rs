//! Asking a process that runs tasks to stop: SIGTERM or SIGINT (Ctrl-C)
//! turned into a flag and a wake-up, through tokio's signal handling.

use super::Wake;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A request to stop, and the wake-up that tells whoever waits. Clones
/// share one request.
#[derive(Clone, Default)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    wake: Arc<Wake>,
}

impl Shutdown {
    /// A request that SIGTERM or SIGINT makes, from now on, for the rest of
    /// the process.
    pub fn on_signals() -> Result<Shutdown> {
        let shutdown = Shutdown::default();
        let io =
            |e: std::io::Error| Error::Io(format!("cannot listen for SIGTERM and SIGINT: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(io)?;
        // Listening starts here, before this returns, so no signal is missed.
        let mut signals = runtime.block_on(async { Signals::listen() }).map_err(io)?;
        let request = shutdown.clone();
        std::thread::Builder::new()
            .name("b2b-signals".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while signals.next().await {
                        request.request();
                    }
                })
            })
            .map_err(io)?;
        Ok(shutdown)
    }

    /// Asks to stop.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.wake.notify();
    }

    /// Whether stopping was asked.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// What wakes the waiting loop when stopping is asked.
    pub fn wake(&self) -> &Arc<Wake> {
        &self.wake
    }
}

/// The signals that ask to stop.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    /// Waits for the next signal; false when no more can come.
    #[cfg(unix)]
    async fn next(&mut self) -> bool {
        tokio::select! {
            got = self.term.recv() => got.is_some(),
            got = self.int.recv() => got.is_some(),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
