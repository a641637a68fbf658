//! `b2b:plugin/http`: outbound requests, only to granted hosts, with the
//! host's timeouts, size caps, bounded retries and credentials.
//!
//! Two halves that know nothing of each other's insides:
//! - [`policy`] decides what may be sent: the grant, the method, the
//!   headers, and where a named credential may go. The plugin names a
//!   credential; the token is added only after the request has passed the
//!   policy and left the sandbox, so it never enters the plugin's memory.
//! - [`transport`] sends what the policy passed: over the network with
//!   reqwest, or to scripted answers (the plugin test harness), with the
//!   same timeouts, retries and caps either way, so a scripted test
//!   exercises the real host logic.

mod inflight;
pub(crate) mod policy;
mod request;
mod script;
pub(crate) mod transport;

pub(crate) use inflight::InFlight;
pub use script::{Fault, HttpScript, ScriptedAnswer};
pub(crate) use transport::Outbound;

use super::HostContext;
use crate::world::b2b::plugin::http::{Host, Request, Response};
use crate::world::{CallError, WitError};

/// The most requests one `send` call may carry.
const MAX_REQUESTS_PER_CALL: usize = 256;

impl Host for HostContext {
    async fn send(
        &mut self,
        requests: Vec<Request>,
    ) -> wasmtime::Result<Vec<Result<Response, WitError>>> {
        if requests.len() > MAX_REQUESTS_PER_CALL {
            let refused = WitError::Invalid(format!(
                "one http.send may carry at most {MAX_REQUESTS_PER_CALL} requests, got {}; send them in batches",
                requests.len()
            ));
            return Ok(vec![Err(refused); requests.len()]);
        }
        let checked: Vec<_> = requests.into_iter().map(|r| self.check(r)).collect();
        // The sending must not borrow the context across an await (it holds
        // the run's connection, which is not `Sync`): it takes its own handles.
        let outbound = self.http.clone();
        let log = self.log.clone();
        let answers = outbound.send_all(checked, &log).await;
        // A server that echoes what it was sent must not hand the plugin the
        // token the host added: the plugin could forward it elsewhere.
        Ok(answers
            .into_iter()
            .map(|answer| answer.map(|response| redacted(response, &log)))
            .collect())
    }

    async fn start(&mut self, request: Request) -> Result<u64, CallError> {
        let sendable = self.check(request)?;
        let (outbound, log) = (self.http.clone(), self.log.clone());
        Ok(self.requests.start(outbound, sendable, log)?)
    }

    async fn next(&mut self) -> wasmtime::Result<Option<(u64, Result<Response, WitError>)>> {
        let ended = self.requests.next().await;
        let log = &self.log;
        Ok(ended.map(|(handle, answer)| (handle, answer.map(|r| redacted(r, log)))))
    }
}

/// The response with every secret of the run replaced by `[redacted]`.
fn redacted(mut response: Response, log: &crate::run_log::RunLog) -> Response {
    if let std::borrow::Cow::Owned(body) = log.redacted_bytes(&response.body) {
        response.body = body;
    }
    for (_, value) in &mut response.headers {
        *value = log.redacted(value);
    }
    response
}
