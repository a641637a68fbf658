//! The host side of the WIT interfaces: one file per interface.
//!
//! Every call goes through [`HostContext::require`], which checks the grant
//! (a call outside it gets a typed `denied` error and a line in the run log,
//! never a crash) and bounds how much data one call may move.

mod cache;
mod conflicts;
mod files;
pub(crate) mod http;
mod incoming;
mod log;
mod settings;
mod students;

use crate::actor::Actor;
use crate::engine::bindings::b2b::plugin::types;
use crate::engine::output::RunLog;
use crate::error::Error;
use crate::import;
use crate::plugins::capability::Capability;
use crate::secrets::Secrets;
use crate::time::Timestamp;
use rusqlite::Connection;

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
    http_script: Option<http::HttpScript>,
}

/// A failed host call: a typed error the plugin sees, or a trap that stops it.
pub(crate) enum CallError {
    /// Returned to the plugin as `b2b:plugin/types.error`.
    Wit(types::Error),
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Wit(match e {
            Error::Invalid(m) | Error::NotFound(m) => types::Error::Invalid(m),
            Error::Refused(m) => types::Error::Denied(m),
            other => types::Error::Failed(other.to_string()),
        })
    }
}

impl HostContext {
    pub(crate) fn new(
        conn: Option<Connection>,
        grant: Vec<Capability>,
        log: RunLog,
        started_at: Timestamp,
        actor: Actor,
        secrets: Option<Secrets>,
    ) -> Self {
        HostContext {
            conn,
            grant,
            log,
            started_at,
            actor,
            secrets,
            import: import::Session::default(),
            http_script: None,
        }
    }

    /// Reports each import file as it ends.
    pub(crate) fn set_progress(&mut self, progress: Option<import::Progress>) {
        self.import = import::Session::with_progress(progress);
    }

    /// Answers the run's HTTP requests from a script instead of the network.
    pub(crate) fn set_http_script(&mut self, script: Option<http::HttpScript>) {
        self.http_script = script;
    }

    pub(crate) fn log(&self) -> &RunLog {
        &self.log
    }

    /// Ends the run's host side: fails any import file the plugin left open
    /// (saying why) and hands back the connection.
    pub(crate) fn finish(mut self, why_unfinished: &str) -> Option<Connection> {
        if let Some(conn) = &self.conn {
            self.import.abandon(conn, why_unfinished);
        }
        self.conn.take()
    }

    /// The connection, if `capability` was granted; otherwise a `denied`
    /// error naming it, recorded in the run log.
    fn require(&self, capability: Capability, call: &str) -> Result<&Connection, CallError> {
        self.check_grant(capability, call)?;
        self.connection()
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
        Err(CallError::Wit(types::Error::Denied(capability.name())))
    }

    fn connection(&self) -> Result<&Connection, CallError> {
        self.conn.as_ref().ok_or_else(|| {
            CallError::Wit(types::Error::Failed(
                "host data is not available while the plugin describes itself".into(),
            ))
        })
    }
}

/// The run log tag of a call refused for want of a capability.
const DENIED_TAG: &str = "DENIED";

/// The capabilities that `plugin`'s run log says it was refused, once each,
/// in the order it first asked: what it tried to do outside its grant. Only
/// the host writes these lines (a plugin's own lines are tagged with their
/// level or stream), so a plugin cannot forge one.
pub(crate) fn denied_in(log: &str, plugin: &str) -> Vec<String> {
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
        return Err(invalid(format!(
            "{what} may hold at most {MAX_BATCH} entries, got {n}; send them in batches"
        )));
    }
    Ok(())
}

/// Checks a page size a plugin asks for: 1 to [`MAX_BATCH`].
fn page_size(limit: u32) -> Result<(), CallError> {
    if limit == 0 || limit as usize > MAX_BATCH {
        return Err(invalid(format!(
            "limit must be from 1 to {MAX_BATCH}, got {limit}; ask in pages"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> CallError {
    CallError::Wit(types::Error::Invalid(message))
}

/// The WIT error as a sentence, for run records.
pub(crate) fn describe_error(e: &types::Error) -> String {
    match e {
        types::Error::Denied(cap) => {
            format!("denied: it needs the `{cap}` capability, which it was not granted")
        }
        types::Error::Invalid(m) => format!("invalid: {m}"),
        types::Error::Failed(m) => format!("failed: {m}"),
    }
}

impl types::Host for HostContext {
    fn convert_error(&mut self, err: CallError) -> wasmtime::Result<types::Error> {
        match err {
            CallError::Wit(e) => Ok(e),
        }
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
