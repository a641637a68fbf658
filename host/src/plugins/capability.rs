//! The capabilities a plugin can ask for and an admin can grant.
//!
//! `log` and `settings` are always available: they reveal nothing about
//! students and change nothing. Everything else is named here, checked on
//! every host call, and refused with a typed `denied` error when not granted.

use crate::error::{Error, Result};
use serde::{Serialize, Serializer};
use std::fmt;

/// One grantable capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// Read open conflicts.
    ConflictsRead,
    /// Change conflicts' status.
    ConflictsWrite,
    /// Read held student records.
    StudentsRead,
    /// Write held student records (accepting a conflict writes its value).
    StudentsWrite,
    /// List import files.
    FilesRead,
    /// Delete import file payloads.
    FilesDelete,
    /// List import cache entries.
    CacheRead,
    /// Delete import cache entries.
    CacheDelete,
    /// Bring student data in (files, matching, rules, conflicts).
    Import,
    /// Send HTTP requests to one host (`http:api.wonde.com`). In a manifest,
    /// `http:*` asks the admin to choose hosts at grant time.
    Http(String),
    /// Have the host add a named secret to HTTP requests (`credential:wonde`).
    Credential(String),
}

/// The capabilities without a parameter: name and what each allows.
const FIXED: &[(Capability, &str, &str)] = &[
    (Capability::ConflictsRead, "conflicts:read", "read open data conflicts"),
    (Capability::ConflictsWrite, "conflicts:write", "change the status of data conflicts"),
    (Capability::StudentsRead, "students:read", "read held student records"),
    (Capability::StudentsWrite, "students:write", "change held student records"),
    (Capability::FilesRead, "files:read", "list import files"),
    (Capability::FilesDelete, "files:delete", "delete the payloads of import files"),
    (Capability::CacheRead, "cache:read", "list import cache entries"),
    (Capability::CacheDelete, "cache:delete", "delete import cache entries"),
    (
        Capability::Import,
        "import",
        "bring student data in: add schools and files, match students, apply rules, raise conflicts",
    ),
];

impl Capability {
    /// The name used in manifests and grants, e.g. `conflicts:read`.
    pub fn name(&self) -> String {
        match self {
            Capability::Http(host) => format!("http:{host}"),
            Capability::Credential(name) => format!("credential:{name}"),
            fixed => FIXED
                .iter()
                .find(|(c, ..)| c == fixed)
                .map(|(_, n, _)| n.to_string())
                .expect("listed"),
        }
    }

    /// What it allows, in words.
    pub fn description(&self) -> String {
        match self {
            Capability::Http(host) if host == "*" => {
                "send HTTP requests to hosts an admin grants".into()
            }
            Capability::Http(host) => format!("send HTTP requests to {host}"),
            Capability::Credential(name) => {
                format!("have the host add the `{name}` secret to its HTTP requests")
            }
            fixed => FIXED
                .iter()
                .find(|(c, ..)| c == fixed)
                .map(|(.., d)| d.to_string())
                .expect("listed"),
        }
    }

    /// Parses a capability name, or says which names exist.
    pub fn parse(name: &str) -> Result<Capability> {
        let name = name.trim();
        if let Some(host) = name.strip_prefix("http:") {
            let host = host.to_ascii_lowercase();
            let ok = host == "*"
                || (!host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
            return if ok {
                Ok(Capability::Http(host))
            } else {
                Err(Error::invalid(format!(
                    "`{name}` must name a host, e.g. http:api.wonde.com (no scheme, port or path)"
                )))
            };
        }
        if let Some(secret) = name.strip_prefix("credential:") {
            let ok = !secret.is_empty()
                && secret
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            return if ok {
                Ok(Capability::Credential(secret.to_string()))
            } else {
                Err(Error::invalid(format!(
                    "`{name}` must name a credential in lower case, e.g. credential:wonde"
                )))
            };
        }
        FIXED
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(c, ..)| c.clone())
            .ok_or_else(|| {
                let mut names: Vec<&str> = FIXED.iter().map(|(_, n, _)| *n).collect();
                names.extend(["http:HOST", "credential:NAME"]);
                Error::invalid(format!(
                    "unknown capability `{name}`; the capabilities are: {}",
                    names.join(", ")
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

    /// Whether a manifest asking for `self` lets an admin grant `wanted`:
    /// the same capability, or any host when it asks for `http:*`.
    pub fn covers(&self, wanted: &Capability) -> bool {
        self == wanted
            || (matches!(self, Capability::Http(h) if h == "*")
                && matches!(wanted, Capability::Http(_)))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "conflicts:read",
            "import",
            "http:api.wonde.com",
            "http:*",
            "credential:wonde",
        ] {
            assert_eq!(Capability::parse(name).unwrap().name(), name);
        }
    }

    #[test]
    fn a_wildcard_request_covers_any_host_but_nothing_else() {
        let any = Capability::parse("http:*").unwrap();
        assert!(any.covers(&Capability::Http("127.0.0.1".into())));
        assert!(!any.covers(&Capability::Credential("wonde".into())));
        assert!(!Capability::Http("a.com".into()).covers(&Capability::Http("b.com".into())));
    }

    #[test]
    fn a_url_is_not_a_host() {
        let err = Capability::parse("http:https://api.wonde.com/v1.0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must name a host"), "{err}");
    }
}
