//! A request the policy passed, and what bounds its answer: the types the
//! policy and both transports share.

use crate::secrets::Secret;
use std::sync::atomic::{AtomicUsize, Ordering};
use url::Url;

/// The largest response body accepted.
const MAX_BODY: usize = 64 << 20;
/// The most response bytes one `send` call may bring back in all.
const MAX_CALL_BYTES: usize = 256 << 20;

/// A request the policy passed.
pub(crate) struct Sendable {
    pub(crate) method: String,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) token: Option<Secret>,
    pub(crate) body: Option<Vec<u8>>,
}

/// Why one attempt did not give a response.
pub(super) enum AttemptError {
    /// Worth retrying: the connection failed or timed out.
    Transient(String),
    /// Not worth retrying: the answer is too large.
    Final(String),
}

/// The response bytes one `send` call (or the requests a run has begun with
/// `start` and not yet taken with `next`) may still bring back, taken as
/// each chunk arrives, so requests in flight together cannot pass it.
pub(super) struct Budget(AtomicUsize);

impl Default for Budget {
    fn default() -> Budget {
        Budget(AtomicUsize::new(MAX_CALL_BYTES))
    }
}

impl Budget {
    /// Takes `chunk` bytes of a body that has now `body` bytes, refusing a
    /// body over the cap of one response or past what the call has left.
    pub(super) fn take(&self, body: usize, chunk: usize) -> Result<(), AttemptError> {
        if body > MAX_BODY {
            return Err(AttemptError::Final(format!(
                "answered with more than {} MiB",
                MAX_BODY >> 20
            )));
        }
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(chunk)
            })
            .map(drop)
            .map_err(|_| {
                AttemptError::Final(format!(
                    "would take this http.send call past {} MiB of responses; send fewer requests at once",
                    MAX_CALL_BYTES >> 20
                ))
            })
    }

    /// Returns `bytes` taken for a body that is no longer held: handed to
    /// the plugin by `next`, or thrown away before a retry.
    pub(super) fn give_back(&self, bytes: usize) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }
}
