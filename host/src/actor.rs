//! Who is acting: every service call and every audit row names one.
//!
//! The CLI acts as the operating-system user; a plugin run acts as
//! `plugin:<id>` so that what it changed is traced to the run. When the web
//! page and users arrive (docs/architecture.md, "People") they slot in here.

use std::fmt;

/// The person or process on whose behalf a change is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// A person using the CLI, named by the operating system.
    pub fn cli_user() -> Self {
        let name = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor(format!("cli:{name}"))
    }

    /// A plugin run, e.g. `plugin:clear-conflicts#12`.
    pub fn plugin_run(plugin_id: &str, run_id: i64) -> Self {
        Actor(format!("plugin:{plugin_id}#{run_id}"))
    }

    /// The host itself (migrations, built-in plugin registration, the demo).
    pub fn system() -> Self {
        Actor("system".into())
    }

    /// A named actor, e.g. from a test or a future login.
    pub fn named(name: impl Into<String>) -> Self {
        Actor(name.into())
    }

    /// The actor's name as stored in audit rows.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
