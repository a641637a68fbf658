//! Sending what the policy passed: over the network with reqwest, or to a
//! test's scripted answers, under one deadline.
//!
//! - Up to [`MAX_PARALLEL`] requests of a `send` call are in flight at once,
//!   as a sliding window: a slow request holds up no other.
//! - Each attempt's timeout is the smaller of the configured one
//!   (`plugins.http_timeout_secs`) and the time the run has left.
//! - Connection failures, timeouts, 429 and 5xx are retried a bounded number
//!   of times for idempotent methods only (a POST is never repeated), after
//!   `Retry-After` (seconds or an HTTP date) or an exponential backoff with
//!   jitter, and never past the run's deadline: a wait that would pass it
//!   fails the request at once, saying so.
//! - Bodies are capped, per response and per call.

use super::request::{AttemptError, Budget, Sendable};
use super::script::HttpScript;
use crate::capabilities::seconds;
use crate::run_log::RunLog;
use crate::world::b2b::plugin::http::Response;
use crate::world::WitError;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Requests of one `send` call in flight at once.
const MAX_PARALLEL: usize = 8;
/// Attempts per request (the first and the retries).
const ATTEMPTS: u32 = 4;
/// The longest a `Retry-After` is honoured; longer waits fail the request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP clients of the process, shared by every run so connections are
/// reused, and started at the first request (most commands send none, and
/// starting them reads the system's certificates). Requests to this machine
/// never go through a proxy; others honour the usual proxy environment
/// variables, as an LA's network may need.
#[derive(Default)]
pub(crate) struct Network {
    clients: std::sync::OnceLock<Result<Clients, String>>,
}

struct Clients {
    direct: reqwest::Client,
    proxied: reqwest::Client,
}

impl Clients {
    fn start() -> Result<Clients, String> {
        // reqwest is built without a TLS crypto provider of its own; ring is
        // the one already in the tree. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = |proxied: bool| {
            let builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("b2b-host/", env!("CARGO_PKG_VERSION")));
            let builder = if proxied { builder } else { builder.no_proxy() };
            builder
                .build()
                .map_err(|e| format!("could not be sent: the HTTP client could not start: {e}"))
        };
        Ok(Clients {
            direct: client(false)?,
            proxied: client(true)?,
        })
    }
}

impl Network {
    async fn once(&self, req: &Sendable, budget: &Budget) -> Result<Response, AttemptError> {
        let clients = self
            .clients
            .get_or_init(Clients::start)
            .as_ref()
            .map_err(|e| AttemptError::Final(e.clone()))?;
        let loopback = req.url.host_str().is_some_and(crate::net::is_loopback);
        let client = if loopback {
            &clients.direct
        } else {
            &clients.proxied
        };
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| AttemptError::Final(format!("has a bad method: {e}")))?;
        let mut builder = client.request(method, req.url.clone());
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        if let Some(token) = &req.token {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        AttemptError::Final(
                            "has a credential that is not a valid header value".into(),
                        )
                    })?;
            value.set_sensitive(true);
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder
            .send()
            .await
            .map_err(|e| AttemptError::Transient(format!("failed: {}", reqwest_error(&e))))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    budget.give_back(body.len());
                    return Err(AttemptError::Transient(format!(
                        "was cut off while reading the body: {}",
                        reqwest_error(&e)
                    )));
                }
            };
            budget.take(body.len() + chunk.len(), chunk.len())?;
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The error and its causes, without the URL reqwest puts first (the
/// caller's message names the request already).
fn reqwest_error(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Where a run's requests go.
#[derive(Clone)]
enum Via {
    Network(Arc<Network>),
    Script(HttpScript),
    /// Nowhere: `describe` has no network.
    Nowhere,
}

/// How one run's requests leave the host, and the deadline they keep.
#[derive(Clone)]
pub(crate) struct Outbound {
    via: Via,
    deadline: Instant,
    timeout: Duration,
}

impl Outbound {
    /// Requests go over the network.
    pub(crate) fn network(network: Arc<Network>, deadline: Instant, timeout: Duration) -> Self {
        Outbound {
            via: Via::Network(network),
            deadline,
            timeout,
        }
    }

    /// Requests are answered by a script (the test harness).
    pub(crate) fn scripted(script: HttpScript, deadline: Instant, timeout: Duration) -> Self {
        Outbound {
            via: Via::Script(script),
            deadline,
            timeout,
        }
    }

    /// No request can be sent.
    pub(crate) fn none() -> Self {
        Outbound {
            via: Via::Nowhere,
            deadline: Instant::now(),
            timeout: Duration::ZERO,
        }
    }

    /// Refuses, before any attempt, a request this transport can never
    /// answer, so no retry is spent on it.
    pub(super) fn admits(&self, req: &Sendable) -> Result<(), WitError> {
        match &self.via {
            Via::Network(_) => Ok(()),
            Via::Script(script) => script.covers(&req.method, &req.url),
            Via::Nowhere => Err(WitError::Failed(
                "no request can be sent while the plugin describes itself".into(),
            )),
        }
    }

    /// Sends every request, [`MAX_PARALLEL`] at a time, and gives the
    /// results in the same order.
    pub(super) async fn send_all(
        &self,
        checked: Vec<Result<Sendable, WitError>>,
        log: &RunLog,
    ) -> Vec<Result<Response, WitError>> {
        let budget = Budget::default();
        let budget = &budget;
        futures_util::stream::iter(checked)
            .map(|c| async move {
                match c {
                    Ok(req) => self.send_with_retries(&req, log, budget).await,
                    Err(e) => Err(e),
                }
            })
            .buffered(MAX_PARALLEL)
            .collect()
            .await
    }

    async fn attempt(&self, req: &Sendable, budget: &Budget) -> Result<Response, AttemptError> {
        match &self.via {
            Via::Network(network) => network.once(req, budget).await,
            Via::Script(script) => script.answer(req, budget).await,
            Via::Nowhere => Err(AttemptError::Final("has nowhere to go".into())),
        }
    }

    pub(super) async fn send_with_retries(
        &self,
        req: &Sendable,
        log: &RunLog,
        budget: &Budget,
    ) -> Result<Response, WitError> {
        let what = format!("{} {}", req.method, req.url);
        let failed = |message: String| {
            log.line("WARN", &message);
            WitError::Failed(message)
        };
        let idempotent = matches!(req.method.as_str(), "GET" | "PUT" | "DELETE");
        let mut attempt = 1;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(failed(format!(
                    "{what} was not sent: the run has no time left"
                )));
            }
            let timeout = self.timeout.min(left);
            let sent = tokio::time::timeout(timeout, self.attempt(req, budget))
                .await
                .unwrap_or_else(|_| {
                    Err(AttemptError::Transient(format!(
                        "timed out after {}",
                        seconds(timeout)
                    )))
                });
            let (why, asked) = match sent {
                Ok(resp) if resp.status == 429 || resp.status >= 500 => {
                    budget.give_back(resp.body.len());
                    (format!("answered {}", resp.status), retry_after(&resp))
                }
                Ok(resp) => return Ok(resp),
                Err(AttemptError::Final(why)) => return Err(failed(format!("{what} {why}"))),
                Err(AttemptError::Transient(why)) => (why, None),
            };
            if !idempotent {
                return Err(failed(format!(
                    "{what} {why}; not retried, as a {} may not be repeated safely",
                    req.method
                )));
            }
            if attempt >= ATTEMPTS {
                return Err(failed(format!("{what} {why} after {attempt} attempts")));
            }
            let wait = asked.unwrap_or_else(|| backoff(attempt));
            if wait > MAX_RETRY_AFTER {
                return Err(failed(format!(
                    "{what} {why} and asked to be retried in {} (Retry-After), longer than the {} the host waits",
                    seconds(wait),
                    seconds(MAX_RETRY_AFTER)
                )));
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if wait >= left {
                return Err(failed(format!(
                    "{what} {why}; a retry in {} would pass the run's time limit ({} left)",
                    seconds(wait),
                    seconds(left)
                )));
            }
            log.line(
                "WARN",
                &format!(
                    "{what} {why}; retrying in {} (attempt {} of {ATTEMPTS})",
                    seconds(wait),
                    attempt + 1
                ),
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Exponential backoff with jitter: about 250 ms, 500 ms, 1 s, ... capped at
/// 8 s, each between half and all of that, so that many clients retrying
/// together do not arrive together.
fn backoff(attempt: u32) -> Duration {
    let full =
        Duration::from_millis(250 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(8));
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date.
fn retry_after(resp: &Response) -> Option<Duration> {
    let (_, v) = resp.headers.iter().find(|(k, _)| k == "retry-after")?;
    parse_retry_after(v.trim(), SystemTime::now())
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 02 Dec 2026 08:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 02 Dec 2026 08:02:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 02 Dec 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_ceiling() {
        for attempt in 1..10 {
            let full =
                Duration::from_millis(250 << (attempt - 1).min(5)).min(Duration::from_secs(8));
            let wait = backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }
}
