//! Scripted answers to a run's HTTP requests, in place of the network: the
//! plugin test harness's transport.

use super::request::{AttemptError, Budget, Sendable};
use crate::world::b2b::plugin::http::Response;
use crate::world::WitError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

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
    /// The status to answer (a 429 or 5xx is retried as a real one would be).
    pub status: u16,
    /// Response headers, e.g. `Retry-After`.
    pub headers: Vec<(String, String)>,
    /// The body, as the plugin will receive it.
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

/// The path with its query, as a script names it.
fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
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
    fn next_for(&self, url: &Url) -> Option<&ScriptedAnswer> {
        let host = host_of(url);
        let full = path_and_query(url);
        let for_path = |path: &str| -> Vec<&ScriptedAnswer> {
            self.answers
                .iter()
                .filter(|a| a.host == host && a.path == path)
                .collect()
        };
        let mut candidates = for_path(&full);
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
    pub(super) fn covers(&self, method: &str, url: &Url) -> Result<(), WitError> {
        let host = host_of(url);
        let full = path_and_query(url);
        let known = self
            .answers
            .iter()
            .any(|a| a.host == host && (a.path == url.path() || a.path == full));
        known.then_some(()).ok_or_else(|| {
            WitError::Failed(format!(
                "no scripted response for {method} {url}: the test scripts no answer for this host and path"
            ))
        })
    }

    pub(super) async fn answer(
        &self,
        req: &Sendable,
        budget: &Budget,
    ) -> Result<Response, AttemptError> {
        let answer = self
            .next_for(&req.url)
            .ok_or_else(|| AttemptError::Final("has no scripted response".into()))?
            .clone();
        tokio::time::sleep(answer.delay).await;
        match answer.fault {
            Some(Fault::Connection) => {
                return Err(AttemptError::Transient(
                    "failed: connection refused (scripted)".into(),
                ))
            }
            Some(Fault::Timeout) => {
                return Err(AttemptError::Transient(
                    "failed: timed out (scripted)".into(),
                ))
            }
            None => {}
        }
        budget.take(answer.body.len(), answer.body.len())?;
        Ok(Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        })
    }
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
        let url = Url::parse(url).unwrap();
        (0..n)
            .map(|_| script.next_for(&url).map(|a| a.status))
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
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(script
            .covers("GET", &url("https://api.example.org/a?q"))
            .is_ok());
        let Err(WitError::Failed(message)) =
            script.covers("POST", &url("https://api.example.org/b"))
        else {
            panic!("an unscripted request was covered");
        };
        assert!(
            message.starts_with("no scripted response for POST https://api.example.org/b"),
            "{message}"
        );
    }
}
