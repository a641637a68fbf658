//! `b2b:plugin/http`: outbound requests, only to granted hosts, with the
//! host's timeouts, size cap, bounded retries and credentials.
//!
//! The plugin names a credential; the token is added here, after the
//! request has left the sandbox, so it never enters the plugin's memory, its
//! log or a stored payload. Failures are logged by URL and status, never
//! with headers.
//!
//! Requests go over the network, or, when a run carries an [`HttpScript`]
//! (the plugin test harness), to scripted answers: everything before and
//! after the send itself (grant, credential, size cap, retries) is the same
//! code either way, so a scripted test exercises the real host logic.

use super::{CallError, HostContext};
use crate::engine::bindings::b2b::plugin::http::{Host, Request, Response};
use crate::engine::bindings::b2b::plugin::types::Error as WitError;
use crate::engine::output::RunLog;
use crate::plugins::capability::Capability;
use crate::secrets::Secret;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};
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

/// Scripted answers to a run's HTTP requests, in place of the network.
///
/// Several answers for the same host and path are given in turn, the last
/// one repeating, so a test can script "503, then 200" to exercise retries.
/// Clones share which answers have been given.
#[derive(Debug, Clone, Default)]
pub struct HttpScript {
    answers: Arc<Vec<ScriptedAnswer>>,
    /// How many requests each host and scripted path has answered.
    given: Arc<Mutex<HashMap<String, usize>>>,
}

/// One scripted answer.
#[derive(Debug, Clone, Default)]
pub struct ScriptedAnswer {
    /// The host it answers, e.g. `api.wonde.com`.
    pub host: String,
    /// The path it answers, e.g. `/v1.0/schools`. With a `?query` it answers
    /// only that query and is preferred; without one it answers any query.
    pub path: String,
    /// The status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
    /// A failure to give instead of the response.
    pub fault: Option<Fault>,
}

/// A transport failure a script can give instead of a response; the host
/// retries it as it would the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection was refused or dropped.
    Connection,
    /// The server did not answer in time.
    Timeout,
}

impl HttpScript {
    /// A script of these answers (host and header names are matched in any case).
    pub fn new(answers: Vec<ScriptedAnswer>) -> HttpScript {
        let answers = answers
            .into_iter()
            .map(|mut a| {
                a.host.make_ascii_lowercase();
                a.headers
                    .iter_mut()
                    .for_each(|(k, _)| k.make_ascii_lowercase());
                a
            })
            .collect();
        HttpScript {
            answers: Arc::new(answers),
            given: Arc::default(),
        }
    }

    /// The next answer for `url`: exact `path?query` answers first, else
    /// those for its path. `None` when nothing is scripted for it.
    fn next_for(&self, url: &ureq::http::Uri) -> Option<&ScriptedAnswer> {
        let host = url.host().unwrap_or_default().to_ascii_lowercase();
        let full = url.path_and_query().map_or(url.path(), |p| p.as_str());
        let for_path = |path: &str| -> Vec<&ScriptedAnswer> {
            self.answers
                .iter()
                .filter(|a| a.host == host && a.path == path)
                .collect()
        };
        let mut candidates = for_path(full);
        if candidates.is_empty() {
            candidates = for_path(url.path());
        }
        let first = candidates.first()?;
        let mut given = self.given.lock().unwrap_or_else(|e| e.into_inner());
        let n = given.entry(format!("{host}{}", first.path)).or_insert(0);
        let answer = candidates[(*n).min(candidates.len() - 1)];
        *n += 1;
        Some(answer)
    }

    /// Refuses, before any attempt, a request nothing is scripted for: no
    /// retry could help.
    fn covers(&self, method: &str, url: &str) -> Result<(), WitError> {
        let uri: ureq::http::Uri = url.parse().map_err(|_| unscripted(method, url))?;
        let host = uri.host().unwrap_or_default();
        let known = self
            .answers
            .iter()
            .any(|a| a.host.eq_ignore_ascii_case(host) && path_matches(&a.path, &uri));
        known.then_some(()).ok_or_else(|| unscripted(method, url))
    }

    fn answer(&self, req: &Checked) -> Result<Response, String> {
        let uri: ureq::http::Uri = req.url.parse().map_err(|e| format!("is not a URL: {e}"))?;
        let answer = self
            .next_for(&uri)
            .ok_or_else(|| "has no scripted response".to_string())?;
        std::thread::sleep(answer.delay);
        match answer.fault {
            Some(Fault::Connection) => return Err("failed: connection refused (scripted)".into()),
            Some(Fault::Timeout) => return Err("failed: timed out (scripted)".into()),
            None => {}
        }
        Ok(Response {
            status: answer.status,
            headers: answer.headers.clone(),
            body: capped(answer.body.clone())?,
        })
    }
}

fn path_matches(scripted: &str, uri: &ureq::http::Uri) -> bool {
    scripted == uri.path() || uri.path_and_query().is_some_and(|p| p.as_str() == scripted)
}

fn unscripted(method: &str, url: &str) -> WitError {
    WitError::Failed(format!(
        "no scripted response for {method} {url}: the test scripts no answer for this host and path"
    ))
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
        let script = self.http_script.as_ref();
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
                            Ok(req) => send_with_retries(req, log, script),
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
        if let Some(script) = &self.http_script {
            script.covers(&r.method, &r.url)?;
        }
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

fn send_with_retries(
    req: &Checked,
    log: &RunLog,
    script: Option<&HttpScript>,
) -> Result<Response, WitError> {
    let mut attempt = 1;
    loop {
        let sent = match script {
            Some(script) => script.answer(req),
            None => send_once(req),
        };
        let (why, wait) = match sent {
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
    Ok(Response {
        status,
        headers,
        body: capped(body)?,
    })
}

/// The body, unless it is over the size cap.
fn capped(body: Vec<u8>) -> Result<Vec<u8>, String> {
    if body.len() as u64 > MAX_BODY {
        return Err(format!("answered with more than {} MiB", MAX_BODY >> 20));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(path: &str, status: u16) -> ScriptedAnswer {
        ScriptedAnswer {
            host: "API.example.org".into(),
            path: path.into(),
            status,
            ..ScriptedAnswer::default()
        }
    }

    fn statuses(script: &HttpScript, url: &str, n: usize) -> Vec<Option<u16>> {
        let uri: ureq::http::Uri = url.parse().unwrap();
        (0..n)
            .map(|_| script.next_for(&uri).map(|a| a.status))
            .collect()
    }

    #[test]
    fn answers_in_turn_and_the_last_repeats() {
        let script = HttpScript::new(vec![answer("/a", 503), answer("/a", 200)]);
        assert_eq!(
            statuses(&script, "https://api.example.org/a?x=1", 3),
            [Some(503), Some(200), Some(200)]
        );
        assert_eq!(statuses(&script, "https://api.example.org/b", 1), [None]);
        assert_eq!(statuses(&script, "https://other.example.org/a", 1), [None]);
    }

    #[test]
    fn an_exact_query_is_preferred_to_the_path() {
        let script = HttpScript::new(vec![answer("/a", 200), answer("/a?page=2", 201)]);
        assert_eq!(
            statuses(&script, "https://api.example.org/a?page=2", 1),
            [Some(201)]
        );
        assert_eq!(
            statuses(&script, "https://api.example.org/a?page=3", 1),
            [Some(200)]
        );
    }

    #[test]
    fn an_unscripted_request_is_refused_naming_method_and_url() {
        let script = HttpScript::new(vec![answer("/a", 200)]);
        assert!(script.covers("GET", "https://api.example.org/a?q").is_ok());
        let Err(WitError::Failed(message)) = script.covers("POST", "https://api.example.org/b")
        else {
            panic!("an unscripted request was covered");
        };
        assert!(
            message.starts_with("no scripted response for POST https://api.example.org/b"),
            "{message}"
        );
    }
}
