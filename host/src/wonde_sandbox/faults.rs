//! Failures the sandbox acts out on purpose, so that retries, back-off and
//! "a failed transfer changes nothing" can be tested.

use std::time::Duration;

/// What happens to a request a [`FaultRule`] fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 401, 403, 404, 500, 503) and a small
    /// JSON error body.
    Status(u16),
    /// Answer 429, with a `Retry-After` header only when a delay is given.
    TooMany {
        /// The `Retry-After` value in seconds.
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Send the right status and `Content-Length` but only half the body,
    /// then close the connection.
    TruncatedBody,
    /// Close the connection without answering (abortively, so the client
    /// sees a reset, on Unix).
    ConnectionReset,
}

/// When a [`Fault`] fires: on requests in scope, after letting `skip` of
/// them through, `times` times, then never again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests under `schools/{this Wonde id}`; `None` for every request.
    pub school: Option<String>,
    /// How many requests in scope to let through before firing.
    pub skip: u32,
    /// How many times to fire.
    pub times: u32,
    /// What to do.
    pub fault: Fault,
}

impl FaultRule {
    fn applies_to(&self, path: &str) -> bool {
        let Some(id) = &self.school else {
            return true;
        };
        path.strip_prefix("/v1.0/schools/")
            .and_then(|rest| rest.strip_prefix(id.as_str()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The injected rules, each with how many requests it has counted.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: Vec<(FaultRule, u32)>,
}

impl Faults {
    pub(super) fn push(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0));
    }

    pub(super) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a request to `path`, if any. Rules are tried in the
    /// order they were injected; every live rule in scope counts the
    /// request, until one fires, so a rule still letting requests through
    /// leaves them to the rules after it.
    pub(super) fn take(&mut self, path: &str) -> Option<Fault> {
        for (rule, counted) in &mut self.rules {
            if *counted >= rule.skip.saturating_add(rule.times) || !rule.applies_to(path) {
                continue;
            }
            *counted += 1;
            if *counted > rule.skip {
                return Some(rule.fault.clone());
            }
        }
        None
    }
}
