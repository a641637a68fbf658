//! `b2b:plugin/http`: outbound requests, only to granted hosts, with the
//! host's timeouts, size cap, bounded retries and credentials.
//!
//! The plugin names a credential; the token is added here, after the
//! request has left the sandbox, so it never enters the plugin's memory, its
//! log or a stored payload. Failures are logged by URL and status, never
//! with headers.

use super::{CallError, HostContext};
use crate::engine::bindings::b2b::plugin::http::{Host, Request, Response};
use crate::engine::bindings::b2b::plugin::types::Error as WitError;
use crate::engine::output::RunLog;
use crate::plugins::capability::Capability;
use crate::secrets::Secret;
use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

/// Requests sent at once from one `send` call.
const MAX_PARALLEL: usize = 8;
/// Attempts per request (the first and the retries).
const ATTEMPTS: u32 = 4;
/// The longest a `Retry-After` is honoured; longer waits fail the request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The largest response body accepted.
const MAX_BODY: u64 = 64 << 20;

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .max_redirects(0)
            .build()
            .new_agent()
    })
}

/// A request the host has checked and may send.
struct Checked {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    token: Option<Secret>,
    body: Option<Vec<u8>>,
}

impl Host for HostContext {
    fn send(
        &mut self,
        requests: Vec<Request>,
    ) -> wasmtime::Result<Vec<Result<Response, WitError>>> {
        let checked: Vec<Result<Checked, WitError>> =
            requests.into_iter().map(|r| self.check(r)).collect();
        let log = self.log.clone();
        let mut results: Vec<Option<Result<Response, WitError>>> =
            (0..checked.len()).map(|_| None).collect();
        for (chunk, slots) in checked
            .chunks(MAX_PARALLEL)
            .zip(results.chunks_mut(MAX_PARALLEL))
        {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|c| {
                        let log = &log;
                        scope.spawn(move || match c {
                            Ok(req) => send_with_retries(req, log),
                            Err(e) => Err(e.clone()),
                        })
                    })
                    .collect();
                for (slot, h) in slots.iter_mut().zip(handles) {
                    *slot = Some(h.join().unwrap_or_else(|_| {
                        Err(WitError::Failed("the request thread failed".into()))
                    }));
                }
            });
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every slot is filled"))
            .collect())
    }
}

impl HostContext {
    /// Checks a request against the grant and resolves its credential.
    fn check(&self, r: Request) -> Result<Checked, WitError> {
        let uri: ureq::http::Uri = r
            .url
            .parse()
            .map_err(|e| WitError::Invalid(format!("`{}` is not a URL: {e}", r.url)))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(WitError::Invalid(format!(
                "`{}` must be an http:// or https:// URL",
                r.url
            )));
        }
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        self.require_wit(
            Capability::Http(host.clone()),
            &format!("http.send to {host}"),
        )?;
        if !matches!(
            r.method.as_str(),
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
        ) {
            return Err(WitError::Invalid(format!(
                "method `{}` is not one of GET, POST, PUT, PATCH, DELETE",
                r.method
            )));
        }
        let token = match &r.credential {
            None => None,
            Some(name) => {
                self.require_wit(
                    Capability::Credential(name.clone()),
                    "http.send with a credential",
                )?;
                let secrets = self
                    .secrets
                    .as_ref()
                    .ok_or_else(|| WitError::Failed("no secrets while describing".into()))?;
                let secret = secrets
                    .get(name)
                    .map_err(|e| WitError::Failed(e.to_string()))?;
                Some(secret.ok_or_else(|| {
                    WitError::Failed(format!(
                        "no `{name}` secret is set; set it with `b2b secrets set {name}` or the B2B_{}_TOKEN environment variable",
                        name.to_ascii_uppercase()
                    ))
                })?)
            }
        };
        Ok(Checked {
            method: r.method,
            url: r.url,
            headers: r.headers,
            token,
            body: r.body,
        })
    }

    fn require_wit(&self, capability: Capability, call: &str) -> Result<(), WitError> {
        self.check_grant(capability, call)
            .map_err(|CallError::Wit(e)| e)
    }
}

fn send_with_retries(req: &Checked, log: &RunLog) -> Result<Response, WitError> {
    let mut attempt = 1;
    loop {
        let (why, wait) = match send_once(req) {
            Ok(resp) if resp.status == 429 || resp.status >= 500 => {
                let wait = retry_after(&resp).unwrap_or_else(|| backoff(attempt));
                (format!("answered {}", resp.status), wait)
            }
            Ok(resp) => return Ok(resp),
            Err(e) => (e, backoff(attempt)),
        };
        if attempt >= ATTEMPTS || wait > MAX_RETRY_AFTER {
            let msg = format!(
                "{} {} {why} after {attempt} attempt(s)",
                req.method, req.url
            );
            log.line("WARN", &msg);
            return Err(WitError::Failed(msg));
        }
        log.line(
            "WARN",
            &format!(
                "{} {} {why}; retrying in {} ms (attempt {} of {ATTEMPTS})",
                req.method,
                req.url,
                wait.as_millis(),
                attempt + 1
            ),
        );
        std::thread::sleep(wait);
        attempt += 1;
    }
}

/// Exponential backoff: 250 ms, 500 ms, 1 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << attempt.min(5)).min(Duration::from_secs(8))
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let (_, v) = resp.headers.iter().find(|(k, _)| k == "retry-after")?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn send_once(req: &Checked) -> Result<Response, String> {
    let mut builder = ureq::http::Request::builder()
        .method(req.method.as_str())
        .uri(&req.url);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(token) = &req.token {
        builder = builder.header("authorization", format!("Bearer {}", token.expose()));
    }
    let request = builder
        .body(req.body.clone().unwrap_or_default())
        .map_err(|e| format!("could not be built: {e}"))?;
    let mut resp = agent().run(request).map_err(|e| format!("failed: {e}"))?;
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
    resp.body_mut()
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("was cut off while reading the body: {e}"))?;
    if body.len() as u64 > MAX_BODY {
        return Err(format!("answered with more than {} MiB", MAX_BODY >> 20));
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}
