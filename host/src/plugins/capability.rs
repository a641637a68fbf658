//! The capabilities a plugin can ask for and an admin can grant.
//!
//! `log` and `settings` are always available: they reveal nothing about
//! students and change nothing. Everything else is named here, checked on
//! every host call, and refused with a typed `denied` error when not granted.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;

/// One grantable capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Capability {
    /// Read open conflicts.
    ConflictsRead,
    /// Change conflicts' status.
    ConflictsWrite,
    /// Read held student values.
    StudentsRead,
    /// List import files.
    FilesRead,
    /// Delete import file payloads.
    FilesDelete,
    /// List import cache entries.
    CacheRead,
    /// Delete import cache entries.
    CacheDelete,
}

/// Every capability with its name and what it allows, for `plugin inspect`.
pub const ALL: &[(Capability, &str, &str)] = &[
    (
        Capability::ConflictsRead,
        "conflicts:read",
        "read open data conflicts",
    ),
    (
        Capability::ConflictsWrite,
        "conflicts:write",
        "change the status of data conflicts",
    ),
    (
        Capability::StudentsRead,
        "students:read",
        "read held student records",
    ),
    (Capability::FilesRead, "files:read", "list import files"),
    (
        Capability::FilesDelete,
        "files:delete",
        "delete the payloads of import files",
    ),
    (
        Capability::CacheRead,
        "cache:read",
        "list import cache entries",
    ),
    (
        Capability::CacheDelete,
        "cache:delete",
        "delete import cache entries",
    ),
];

impl Capability {
    /// The name used in manifests and grants, e.g. `conflicts:read`.
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(c, ..)| *c == self)
            .map(|(_, n, _)| *n)
            .expect("every capability is listed")
    }

    /// What it allows, in words.
    pub fn description(self) -> &'static str {
        ALL.iter()
            .find(|(c, ..)| *c == self)
            .map(|(.., d)| *d)
            .expect("every capability is listed")
    }

    /// Parses a capability name, or says which names exist.
    pub fn parse(name: &str) -> Result<Capability> {
        ALL.iter()
            .find(|(_, n, _)| *n == name.trim())
            .map(|(c, ..)| *c)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown capability `{name}`; the capabilities are: {}",
                    ALL.iter()
                        .map(|(_, n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// Parses a list of names, sorted and without repeats.
    pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<Capability>> {
        let mut caps = names
            .iter()
            .map(|n| Capability::parse(n.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        caps.sort();
        caps.dedup();
        Ok(caps)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
