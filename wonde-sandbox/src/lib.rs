//! A Wonde-compatible sandbox: a real HTTP/1.1 server on 127.0.0.1 that
//! answers like the Wonde API (see docs/wonde.md), so the import can be run
//! and tested without a Wonde account.
//!
//! Schools and students are made up from a seed, a page at a time, so a
//! sandbox of hundreds of thousands of students stores none of them; only
//! what a test changes ([`Sandbox::edit`], [`Sandbox::add_pupil`],
//! [`Sandbox::leave`], [`Sandbox::delete`]) is kept, and each page is
//! rendered once and then served as bytes until the roster changes. Faults
//! can be injected ([`Sandbox::inject`], or `b2b wonde-sandbox --fault`) and
//! every request is recorded ([`Sandbox::requests`]).
//!
//! ```no_run
//! use b2b_wonde_sandbox::{Config, Sandbox};
//! let sandbox = Sandbox::start(Config::default())?;
//! println!("{} (token {})", sandbox.base_url(), sandbox.token());
//! # Ok::<(), std::io::Error>(())
//! ```

mod api;
mod data;
mod faults;
mod held;
mod http;
mod page_cache;
mod render;
mod roster;
#[cfg(test)]
mod tests;
mod upn;

pub use data::{SandboxContact, SandboxStudent};
pub use faults::{Fault, FaultRule, FAULT_SYNTAX};
pub use held::held_record;

use faults::Faults;
use http::{Reply, Request, Server};
use page_cache::PageCache;
use roster::Roster;
use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};

/// How many requests [`Sandbox::requests`] remembers.
const LOG_LENGTH: usize = 10_000;

/// What to serve and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How many schools (at most 1,000).
    pub schools: usize,
    /// How many students each school lists at first (at most 8,000,
    /// added pupils included).
    pub students_per_school: usize,
    /// The same seed always gives the same schools and students.
    pub seed: u64,
    /// The API token clients must send.
    pub token: String,
    /// The port on 127.0.0.1; 0 for any free one.
    pub port: u16,
}

impl Default for Config {
    /// 3 schools of 50 students, seed 1, token `sandbox-token`, any free port.
    fn default() -> Config {
        Config {
            schools: 3,
            students_per_school: 50,
            seed: 1,
            token: "sandbox-token".to_string(),
            port: 0,
        }
    }
}

/// One request as the sandbox saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/v1.0/schools/A0000000001/students`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Whether the request carried the right token.
    pub authorized: bool,
    /// The status sent; `None` when the connection was reset unanswered.
    pub status: Option<u16>,
    /// The fault acted out on this request, if one fired.
    pub fault: Option<Fault>,
}

/// A running sandbox. It stops when dropped or [shut down](Sandbox::shutdown).
///
/// Schools and students are addressed by index: school `0..schools`,
/// student `0..students_per_school`, then added pupils numbered on. The
/// methods that change a student panic when the school does not list it,
/// as that is a mistake in the calling test.
pub struct Sandbox {
    state: Arc<State>,
    _server: Server,
}

impl Sandbox {
    /// Starts serving on 127.0.0.1. Fails when the port is taken or the
    /// configuration is out of range.
    pub fn start(config: Config) -> io::Result<Sandbox> {
        check(&config)?;
        let listener = TcpListener::bind(("127.0.0.1", config.port))?;
        let domain = format!("127.0.0.1:{}", listener.local_addr()?.port());
        let state = Arc::new(State {
            roster: Roster::new(config.seed, config.schools, config.students_per_school),
            basic: base64(format!("{}:", config.token).as_bytes()),
            token: config.token,
            base_url: format!("http://{domain}/v1.0/"),
            faults: Mutex::default(),
            pages: Mutex::default(),
            log: Mutex::default(),
        });
        let handler_state = state.clone();
        let server = Server::start(
            listener,
            Arc::new(move |request: &Request| api::handle(&handler_state, request)),
        )?;
        Ok(Sandbox {
            state,
            _server: server,
        })
    }

    /// Stops serving: closes every connection and waits for its threads.
    pub fn shutdown(self) {
        // Dropping the server does it.
    }

    /// The API base, e.g. `http://127.0.0.1:8650/v1.0/`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The token clients must send.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The schools' Wonde ids, in index order.
    pub fn school_ids(&self) -> Vec<String> {
        self.state
            .roster
            .schools()
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }

    /// The student as served now; `None` when the school does not list it.
    pub fn student(&self, school: usize, index: usize) -> Option<SandboxStudent> {
        self.state.roster.student(school, index)
    }

    /// Every student the school lists now, in the order served (none for
    /// an unknown school).
    pub fn students(&self, school: usize) -> Vec<SandboxStudent> {
        self.state.roster.page(school, None, 0, usize::MAX)
    }

    /// Changes a student; it is served as updated now. Timestamps are whole
    /// seconds, as Wonde's are, so an `updated_after` of this same second
    /// does not return it. `f` runs with the sandbox locked, so it must not
    /// call the sandbox itself.
    pub fn edit(&self, school: usize, index: usize, f: impl FnOnce(&mut SandboxStudent)) {
        self.state.change(|roster| roster.edit(school, index, f));
    }

    /// A new pupil joins the school (created and updated now).
    pub fn add_pupil(&self, school: usize) -> SandboxStudent {
        self.state.change(|roster| roster.add(school))
    }

    /// The pupil leaves: no longer listed, and not a deletion.
    pub fn leave(&self, school: usize, index: usize) {
        self.state
            .change(|roster| roster.remove(school, index, false));
    }

    /// The record is deleted at source: no longer listed, and listed by
    /// `deletions` as deleted now.
    pub fn delete(&self, school: usize, index: usize) {
        self.state
            .change(|roster| roster.remove(school, index, true));
    }

    /// Adds a fault rule after those already injected.
    pub fn inject(&self, rule: FaultRule) {
        self.state.faults().push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.faults().clear();
    }

    /// The last requests (at most 10,000), oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.log).iter().cloned().collect()
    }
}

fn check(config: &Config) -> io::Result<()> {
    let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    if config.schools > data::MAX_SCHOOLS {
        return invalid(format!(
            "a sandbox holds at most {} schools",
            data::MAX_SCHOOLS
        ));
    }
    if config.students_per_school > data::SCHOOL_CAPACITY {
        return invalid(format!(
            "a sandbox school holds at most {} students",
            data::SCHOOL_CAPACITY
        ));
    }
    if config.token.is_empty() || config.token.contains(char::is_whitespace) {
        return invalid("the token must be non-empty, without spaces".to_string());
    }
    Ok(())
}

/// What the request handlers share.
struct State {
    roster: Roster,
    token: String,
    /// The Basic credentials that carry the token: base64 of `token:`.
    basic: String,
    base_url: String,
    faults: Mutex<Faults>,
    pages: Mutex<PageCache>,
    log: Mutex<VecDeque<Recorded>>,
}

impl State {
    /// Whether an `Authorization` header carries the token, as a Bearer
    /// token or as the Basic user name with an empty password.
    fn authorized(&self, header: Option<&str>) -> bool {
        let Some((scheme, credentials)) = header.and_then(|h| h.trim().split_once(' ')) else {
            return false;
        };
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            credentials == self.token
        } else if scheme.eq_ignore_ascii_case("basic") {
            credentials == self.basic
        } else {
            false
        }
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    fn pages(&self) -> MutexGuard<'_, PageCache> {
        lock(&self.pages)
    }

    /// Changes the roster with `f`, and forgets the pages rendered before.
    fn change<T>(&self, f: impl FnOnce(&Roster) -> T) -> T {
        let out = f(&self.roster);
        self.pages().invalidate();
        out
    }

    fn record(&self, request: &Request, authorized: bool, reply: &Reply, fault: Option<Fault>) {
        let status = match reply {
            Reply::Send(r) | Reply::Truncate(r) => Some(r.status),
            Reply::Reset => None,
        };
        let mut log = lock(&self.log);
        if log.len() == LOG_LENGTH {
            log.pop_front();
        }
        log.push_back(Recorded {
            method: request.method.clone(),
            path: request.path().to_string(),
            query: request.query().to_string(),
            authorized,
            status,
            fault,
        });
    }
}

/// The lock, even if a thread panicked holding it: what it guards (fault
/// counters, the log, open connections) stays valid whatever was interrupted.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (0..3).fold(0u32, |n, i| {
            n << 8 | u32::from(chunk.get(i).copied().unwrap_or(0))
        });
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() {
                ALPHABET[sextet as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
