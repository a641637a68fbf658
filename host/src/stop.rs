//! The signal that stops a run early. It stands apart from the engine so
//! that the host side of a run can watch it too without importing the engine.

use std::sync::Arc;
use tokio::sync::watch;

/// Stops a run early: a task's "stop existing" overlap policy, a daemon
/// shutting down. Clones share one signal; a run sees it within a tick,
/// whatever it is doing.
#[derive(Debug, Clone)]
pub struct Stop(Arc<watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(watch::channel(false).0))
    }
}

impl Stop {
    /// Asks every run holding this signal to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Whether it was asked.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once stopped.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so waiting can only end by a stop.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
