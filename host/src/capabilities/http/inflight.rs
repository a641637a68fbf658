//! Requests a run has begun with `http.start` and not yet taken with
//! `http.next`: each one a task of its own on the engine's runtime, so a
//! slow one holds up no other and goes on while the plugin computes.
//!
//! The tasks belong to the run: they live in a `JoinSet` owned by the run's
//! host side, so when the run ends, however it ends, dropping it cancels
//! every request still in flight. Their response bodies count against one
//! budget, given back as the plugin takes each response, so what the host
//! holds for a run's requests stays bounded however many it begins.

use super::request::{Budget, Sendable};
use super::transport::Outbound;
use crate::run_log::RunLog;
use crate::world::b2b::plugin::http::Response;
use crate::world::WitError;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::{self, JoinSet};

/// The most requests a run may have in flight at once.
pub(crate) const MAX_IN_FLIGHT: usize = 64;

type Ended = (u64, Result<Response, WitError>);

/// A run's begun requests.
#[derive(Default)]
pub(crate) struct InFlight {
    tasks: JoinSet<Ended>,
    /// Which request each task sends, for a task that ends without saying.
    handles: HashMap<task::Id, u64>,
    last: u64,
    budget: Arc<Budget>,
}

impl InFlight {
    /// Begins sending `req` and returns its handle.
    pub(super) fn start(
        &mut self,
        outbound: Outbound,
        req: Sendable,
        log: RunLog,
    ) -> Result<u64, WitError> {
        if self.tasks.len() >= MAX_IN_FLIGHT {
            return Err(WitError::Invalid(format!(
                "a run may have at most {MAX_IN_FLIGHT} requests in flight; take one with http.next first"
            )));
        }
        self.last += 1;
        let handle = self.last;
        let budget = Arc::clone(&self.budget);
        let task = self.tasks.spawn(async move {
            let answer = outbound.send_with_retries(&req, &log, &budget).await;
            (handle, answer)
        });
        self.handles.insert(task.id(), handle);
        Ok(handle)
    }

    /// The next request to end, with its answer; `None` when none is in
    /// flight.
    pub(super) async fn next(&mut self) -> Option<Ended> {
        let (id, (handle, answer)) = match self.tasks.join_next_with_id().await? {
            Ok(ended) => ended,
            // Only a bug in the host can make a sending task panic; the
            // request still gets an answer.
            Err(e) => (
                e.id(),
                (
                    self.handles.get(&e.id()).copied().unwrap_or_default(),
                    Err(WitError::Failed(format!("the host failed sending it: {e}"))),
                ),
            ),
        };
        self.handles.remove(&id);
        if let Ok(response) = &answer {
            self.budget.give_back(response.body.len());
        }
        Some((handle, answer))
    }
}
