//! System Defaults: typed settings with a default, a description and
//! validation (docs/architecture.md, "System Defaults"). Only values set away from their default
//! are stored; the definitions live here, so a new setting needs no migration.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::storage::audit;
use crate::time;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::fmt;

/// A setting's type and what values it accepts.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A whole number within an inclusive range.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// `true` or `false`.
    Boolean,
    /// An `http://` or `https://` URL.
    Url,
}

/// The definition of one System Default.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// The key, e.g. `files.retention_days`.
    pub key: &'static str,
    /// Its type and range.
    pub kind: Kind,
    /// The built-in default, as text.
    pub default: &'static str,
    /// What it controls, for `b2b defaults list`.
    pub description: &'static str,
}

/// A typed value of a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A switch, written `true` or `false`.
    Boolean(bool),
    /// A whole number, within the setting's bounds.
    Integer(i64),
    /// Text (URLs).
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Text(t) => f.write_str(t),
        }
    }
}

const fn int(
    key: &'static str,
    min: i64,
    max: i64,
    default: &'static str,
    description: &'static str,
) -> Definition {
    Definition {
        key,
        kind: Kind::Integer { min, max },
        default,
        description,
    }
}

/// Every System Default.
pub const DEFINITIONS: &[Definition] = &[
    int("files.retention_days", 0, 36_500, "90", "Delete Files removes the payloads of completed and failed import files older than this many days."),
    int("cache.retention_days", 0, 36_500, "30", "Clear Cache deletes import cache entries older than this many days."),
    int("import.max_age", 0, 30, "18", "Incoming students older than this many years are not offered as unmatched."),
    Definition { key: "match.guid", kind: Kind::Boolean, default: "true", description: "Match incoming students by their external id / GUID before any other rule." },
    Definition { key: "match.active_only", kind: Kind::Boolean, default: "true", description: "Only active held students can be matched." },
    Definition { key: "wonde.base_url", kind: Kind::Url, default: "https://api.wonde.com/v1.0/", description: "The Wonde API base URL." },
    int("wonde.per_page", 1, 1_000, "200", "Students asked for per page of a Wonde request."),
    int("wonde.concurrency", 1, 32, "4", "Schools imported at the same time."),
    int("scheduler.history_days", 1, 36_500, "90", "Run history older than this many days is removed."),
    int("scheduler.history_max_runs", 1, 1_000_000, "1000", "At most this many runs are kept per task."),
    int("plugins.time_limit_secs", 1, 259_200, "3600", "A plugin run longer than this many seconds is stopped and fails."),
    int("plugins.memory_mb", 16, 4_096, "256", "The most memory one plugin run may use, in MiB."),
    int("plugins.http_timeout_secs", 1, 3_600, "120", "The longest one HTTP request of a plugin may take, in seconds (it is cut to the time the run has left)."),
    int("plugins.log_kb", 1, 65_536, "256", "The most log and output kept from one plugin run, in KiB; the rest is dropped and counted."),
];

/// Finds a definition, or says which keys exist.
pub fn definition(key: &str) -> Result<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.key == key).ok_or_else(|| {
        Error::invalid(format!(
            "unknown setting `{key}`; the settings are: {}",
            DEFINITIONS
                .iter()
                .map(|d| d.key)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

impl Definition {
    /// Parses and validates a value written by a person, with a message that
    /// says what is allowed.
    pub fn parse(&self, raw: &str) -> Result<Value> {
        let raw = raw.trim();
        let bad = |allowed: String| {
            Error::invalid(format!(
                "`{raw}` is not a valid value for {}: {allowed}",
                self.key
            ))
        };
        match self.kind {
            Kind::Integer { min, max } => match raw.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Value::Integer(n)),
                _ => Err(bad(format!("expected a whole number from {min} to {max}"))),
            },
            Kind::Boolean => match raw.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Value::Boolean(true)),
                "false" | "no" | "off" | "0" => Ok(Value::Boolean(false)),
                _ => Err(bad("expected true or false".into())),
            },
            Kind::Url => {
                if (raw.starts_with("https://") || raw.starts_with("http://")) && raw.len() > 8 {
                    Ok(Value::Text(raw.to_string()))
                } else {
                    Err(bad(
                        "expected a URL starting with https:// or http://".into()
                    ))
                }
            }
        }
    }
}

/// A setting with its effective value, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// Its dotted name, e.g. `files.retention_days`.
    pub key: &'static str,
    /// The effective value.
    pub value: Value,
    /// Whether it is the built-in default.
    pub is_default: bool,
    /// What it controls.
    pub description: &'static str,
}

/// The effective value of a setting.
pub fn get(conn: &Connection, key: &str) -> Result<Value> {
    Ok(setting(conn, definition(key)?)?.value)
}

/// The effective value of an integer setting.
pub fn get_int(conn: &Connection, key: &str) -> Result<i64> {
    match get(conn, key)? {
        Value::Integer(n) => Ok(n),
        other => Err(Error::invalid(format!("{key} is {other}, not a number"))),
    }
}

fn setting(conn: &Connection, def: &'static Definition) -> Result<Setting> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT value FROM system_defaults WHERE key = ?")?
        .query_row([def.key], |r| r.get(0))
        .optional()?;
    let value = match &stored {
        Some(raw) => def.parse(raw)?,
        None => def.parse(def.default)?,
    };
    Ok(Setting {
        key: def.key,
        value,
        is_default: stored.is_none(),
        description: def.description,
    })
}

/// Every setting with its effective value.
pub fn list(conn: &Connection) -> Result<Vec<Setting>> {
    DEFINITIONS.iter().map(|d| setting(conn, d)).collect()
}

/// Validates and stores a value, audited. Returns the value stored.
pub fn set(conn: &Connection, key: &str, raw: &str, actor: &Actor) -> Result<Value> {
    let def = definition(key)?;
    let value = def.parse(raw)?;
    let old = setting(conn, def)?.value;
    conn.execute(
        "INSERT INTO system_defaults (key, value, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET value = ?2, updated_by = ?3, updated_at = ?4",
        params![key, value.to_string(), actor.as_str(), time::now()],
    )?;
    audit::record(
        conn,
        actor,
        "defaults.set",
        "system_default",
        key,
        serde_json::json!({"old": old.to_string(), "new": value.to_string()}),
    )?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_default_is_valid() {
        for d in DEFINITIONS {
            d.parse(d.default)
                .unwrap_or_else(|e| panic!("{}: {e}", d.key));
        }
    }

    #[test]
    fn out_of_range_says_what_is_allowed() {
        let err = definition("wonde.concurrency")
            .unwrap()
            .parse("0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("from 1 to 32"), "{err}");
    }
}
