//! The host side of the WIT interfaces: one file per interface.
//!
//! Every call goes through [`HostContext::require`], which checks the grant
//! (a call outside it gets a typed `denied` error and a line in the run log,
//! never a crash) and bounds how much data one call may move. Writes are
//! not made as the plugin asks: they are staged ([`crate::staged`]) and
//! applied in one short transaction when the run succeeds, so a run never
//! holds the database's write lock while the plugin computes or waits, and a
//! failed run leaves nothing behind whatever it was granted.

mod cache;
mod conflicts;
mod files;
pub(crate) mod http;
mod incoming;
mod log;
mod settings;
mod students;
mod v0_1;

use crate::actor::Actor;
use crate::import;
use crate::plugins::capability::Capability;
use crate::run_log::RunLog;
use crate::secrets::Secrets;
use crate::staged::Staged;
use crate::stop::Stop;
use crate::time::Timestamp;
use crate::world::b2b::plugin::types;
use crate::world::{CallError, WitError};
use rusqlite::Connection;
use std::time::{Duration, Instant};

/// SQLite virtual-machine steps between checks of a run's deadline and stop
/// signal while one of its host calls runs a statement.
const STEPS_PER_CHECK: i32 = 10_000;
/// How long the host's own writes at the end of a run (failing the files a
/// plugin left open) may wait for the write lock.
const CLEANUP_WAIT: Duration = Duration::from_secs(5);

/// The most rows or ids one host call may move across the boundary.
pub(crate) const MAX_BATCH: usize = 5000;

/// What a run's host calls can reach.
pub(crate) struct HostContext {
    conn: Option<Connection>,
    grant: Vec<Capability>,
    log: RunLog,
    started_at: Timestamp,
    actor: Actor,
    secrets: Option<Secrets>,
    import: import::Session,
    http: http::Outbound,
    /// Requests begun with `http.start`: cancelled when this is dropped,
    /// that is when the run ends.
    requests: http::InFlight,
    staged: Staged,
    deadline: Instant,
}

/// What a run's host side needs, from the engine.
pub(crate) struct RunSetup {
    pub(crate) conn: Connection,
    pub(crate) grant: Vec<Capability>,
    pub(crate) log: RunLog,
    pub(crate) started_at: Timestamp,
    pub(crate) actor: Actor,
    pub(crate) secrets: Secrets,
    pub(crate) progress: Option<import::Progress>,
    pub(crate) http: http::Outbound,
    pub(crate) deadline: Instant,
    pub(crate) stop: Stop,
    pub(crate) run_id: i64,
}

impl HostContext {
    /// The host side of a run. A host call is synchronous, so the run's
    /// future cannot be cancelled while one runs: a statement it runs is
    /// interrupted instead once the deadline passes or the run is stopped.
    pub(crate) fn new(setup: RunSetup) -> Self {
        let (deadline, stop) = (setup.deadline, setup.stop);
        setup.conn.progress_handler(
            STEPS_PER_CHECK,
            Some(move || stop.is_stopped() || Instant::now() >= deadline),
        );
        HostContext {
            conn: Some(setup.conn),
            grant: setup.grant,
            log: setup.log,
            started_at: setup.started_at,
            actor: setup.actor,
            secrets: Some(setup.secrets),
            import: import::Session::new(setup.run_id, setup.progress),
            http: setup.http,
            requests: http::InFlight::default(),
            staged: Staged::default(),
            deadline,
        }
    }

    /// The host side of a `describe` call: a log and nothing else.
    pub(crate) fn describing(log: RunLog) -> Self {
        HostContext {
            conn: None,
            grant: Vec::new(),
            log,
            started_at: 0,
            actor: Actor::system(),
            secrets: None,
            import: import::Session::default(),
            http: http::Outbound::none(),
            requests: http::InFlight::default(),
            staged: Staged::default(),
            deadline: Instant::now(),
        }
    }

    pub(crate) fn log(&self) -> &RunLog {
        &self.log
    }

    /// Whether this is a `describe` call rather than a run.
    pub(crate) fn is_describing(&self) -> bool {
        self.conn.is_none()
    }

    /// Ends the run's host side: fails any import file the plugin left open
    /// (saying why) and hands back the connection, the writes the run staged
    /// and the import files it ended.
    pub(crate) fn finish(
        mut self,
        why_unfinished: &str,
    ) -> Option<(Connection, Staged, import::Ended)> {
        let conn = self.conn.take()?;
        conn.progress_handler(0, None::<fn() -> bool>);
        let _ = conn.busy_timeout(CLEANUP_WAIT);
        self.import.abandon(&conn, why_unfinished);
        let _ = conn.busy_timeout(crate::storage::BUSY_TIMEOUT);
        Some((conn, self.staged, self.import.into_ended()))
    }

    /// The connection, if `capability` was granted; otherwise a `denied`
    /// error naming it, recorded in the run log.
    fn require(&self, capability: Capability, call: &str) -> Result<&Connection, CallError> {
        self.check_grant(capability, call)?;
        self.connection()
    }

    /// [`HostContext::require`] for a call that writes: the connection to
    /// read what the write applies to, and the staged writes to record it in.
    fn require_write(
        &mut self,
        capability: Capability,
        call: &str,
    ) -> Result<(&Connection, &mut Staged), CallError> {
        self.require(capability, call)?;
        Ok((self.conn.as_ref().expect("checked above"), &mut self.staged))
    }

    /// A `denied` error naming the capability unless it was granted, and a
    /// line in the run log when it is refused.
    fn check_grant(&self, capability: Capability, call: &str) -> Result<(), CallError> {
        if self.grant.contains(&capability) {
            return Ok(());
        }
        self.log.line(
            DENIED_TAG,
            &format!(
                "{call} needs the `{capability}` capability, which this plugin was not granted"
            ),
        );
        Err(CallError::Wit(WitError::Denied(capability.name())))
    }

    /// The connection for a host call that takes the write lock: it waits
    /// for the lock no longer than the run has left.
    fn writing(&self) -> Result<&Connection, CallError> {
        let conn = self.connection()?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        conn.busy_timeout(left.min(crate::storage::BUSY_TIMEOUT))
            .map_err(|e| CallError::failed(e.to_string()))?;
        Ok(conn)
    }

    fn connection(&self) -> Result<&Connection, CallError> {
        self.conn.as_ref().ok_or_else(|| {
            CallError::failed("host data is not available while the plugin describes itself")
        })
    }
}

/// The run log tag of a call refused for want of a capability.
const DENIED_TAG: &str = "DENIED";

/// The capabilities that `plugin`'s run log says it was refused, once each,
/// in the order it first asked: what it tried to do outside its grant. Only
/// the host writes these lines (a plugin's own lines are tagged with their
/// level or stream, and its newlines are escaped), so a plugin cannot forge
/// one.
pub fn denied_in(log: &str, plugin: &str) -> Vec<String> {
    let prefix = format!("{plugin} {DENIED_TAG}: ");
    let mut denied: Vec<String> = Vec::new();
    for line in log.lines() {
        let capability = line
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once("needs the `"))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(capability, _)| capability.to_string());
        if let Some(capability) = capability.filter(|c| !denied.contains(c)) {
            denied.push(capability);
        }
    }
    denied
}

/// Checks a batch a plugin hands over against [`MAX_BATCH`].
fn bounded(what: &str, n: usize) -> Result<(), CallError> {
    if n > MAX_BATCH {
        return Err(CallError::invalid(format!(
            "{what} may hold at most {MAX_BATCH} entries, got {n}; send them in batches"
        )));
    }
    Ok(())
}

/// Checks a page size a plugin asks for: 1 to [`MAX_BATCH`].
fn page_size(limit: u32) -> Result<(), CallError> {
    if limit == 0 || limit as usize > MAX_BATCH {
        return Err(CallError::invalid(format!(
            "limit must be from 1 to {MAX_BATCH}, got {limit}; ask in pages"
        )));
    }
    Ok(())
}

impl types::Host for HostContext {
    fn convert_error(&mut self, err: CallError) -> wasmtime::Result<WitError> {
        match err {
            CallError::Wit(e) => Ok(e),
        }
    }
}

/// How long `d` is, for messages: to the nearest second, or milliseconds
/// under one.
pub(crate) fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", (d.as_millis() + 500) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::denied_in;

    #[test]
    fn denied_lines_name_each_capability_once_and_cannot_be_forged() {
        let log = "p DENIED: conflicts.accept needs the `students:write` capability, which this plugin was not granted\n\
                   p stdout: p DENIED: x needs the `import` capability\n\
                   p INFO: needs the `files:read` capability\n\
                   p DENIED: conflicts.accept needs the `students:write` capability, which this plugin was not granted\n\
                   p DENIED: http.send to a.org needs the `http:a.org` capability, which this plugin was not granted\n";
        assert_eq!(denied_in(log, "p"), ["students:write", "http:a.org"]);
        assert!(denied_in(log, "q").is_empty());
    }
}
