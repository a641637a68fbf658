//! The fixture file: what to seed, what the network answers, the parameters,
//! and what must hold afterwards. The format is documented in
//! `docs/writing-plugins.md`; unknown keys are refused so that a typo fails
//! loudly rather than silently checking nothing.

use b2b_host::engine::{Fault, HttpScript, ScriptedAnswer};
use b2b_host::error::{Error, Result};
use b2b_host::storage::{conflicts, files};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A parsed fixture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Capabilities to grant; the manifest's whole request when absent.
    pub grant: Option<Vec<String>>,
    /// System Defaults to set, by key.
    #[serde(default)]
    pub defaults: BTreeMap<String, toml::Value>,
    /// Secrets (credentials) to set, by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Schools to seed (`[[schools]]`).
    #[serde(default)]
    pub schools: Vec<School>,
    /// Held students to seed (`[[students]]`), each with a label.
    #[serde(default)]
    pub students: Vec<Student>,
    /// Open conflicts to seed (`[[conflicts]]`), each with a label.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    /// Import files to seed (`[[files]]`); queued and processing ones
    /// belong to an import still running.
    #[serde(default)]
    pub files: Vec<File>,
    /// Import cache entries.
    #[serde(default)]
    pub cache: Vec<CacheEntry>,
    /// Scripted HTTP answers.
    #[serde(default)]
    pub http: Vec<Http>,
    /// The run's parameters.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// What must hold afterwards.
    pub expect: Expect,
}

/// A school, known by its Wonde id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct School {
    /// Its Wonde id, which other entries name it by.
    pub id: String,
    /// Its name (its id when absent).
    pub name: Option<String>,
    /// Its URN.
    pub urn: Option<i64>,
    /// Whether its unmatched students are added as new records.
    #[serde(default)]
    pub add_unmatched: bool,
}

/// A held student.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Student {
    /// What other entries and expectations call it.
    pub label: String,
    /// Its school's Wonde id.
    pub school: Option<String>,
    /// Its Wonde id, linked so that an import matches it by id.
    pub wonde_id: Option<String>,
    /// Held values by item key; `""` is empty.
    #[serde(default)]
    pub items: BTreeMap<String, String>,
}

/// An open conflict on a student's item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// What expectations call it.
    pub label: String,
    /// The student's label.
    pub student: String,
    /// The item key, e.g. `basic.surname`.
    pub item: String,
    /// The incoming value (empty when absent).
    pub incoming: Option<String>,
    /// The held value when it was raised (the student's current value when
    /// absent).
    pub held: Option<String>,
}

/// An import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// What expectations call it.
    pub label: String,
    /// Its school's Wonde id.
    pub school: Option<String>,
    /// How many days before the run it was received.
    pub age_days: i64,
    /// Its status (completed unless given).
    #[serde(default = "completed")]
    pub status: files::Status,
    /// What was transferred (an empty page unless given).
    #[serde(default = "empty_payload")]
    pub payload: String,
}

fn completed() -> files::Status {
    files::Status::Completed
}

fn empty_payload() -> String {
    "{}".into()
}

/// An import cache entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheEntry {
    /// What expectations call it.
    pub label: String,
    /// Its school's Wonde id.
    pub school: String,
    /// The student's id at the source (the label when absent).
    pub student: Option<String>,
    /// The data group.
    #[serde(default = "basic")]
    pub group: String,
    /// How many days before the run it was imported.
    pub age_days: i64,
}

fn basic() -> String {
    "basic".into()
}

/// A scripted HTTP answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    host: String,
    path: String,
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_file: Option<String>,
    #[serde(default)]
    delay_ms: u64,
    fault: Option<FaultName>,
}

fn ok_status() -> u16 {
    200
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FaultName {
    Connection,
    Timeout,
}

/// How the run must end and what must hold afterwards.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ok` or `failed`.
    #[serde(default)]
    pub outcome: Outcome,
    /// Text the failure must contain.
    pub error: Option<String>,
    /// The report's `examined`.
    pub examined: Option<u64>,
    /// The report's `changed`.
    pub changed: Option<u64>,
    /// The report's `skipped`.
    pub skipped: Option<u64>,
    /// Text the report's summary must contain.
    pub summary: Option<String>,
    /// Text each of which the run log must contain.
    #[serde(default)]
    pub log: Vec<String>,
    /// The capabilities the plugin is expected to be refused (none when absent).
    #[serde(default)]
    pub denied: Vec<String>,
    /// Conflict statuses by label.
    #[serde(default)]
    pub conflicts: BTreeMap<String, conflicts::Status>,
    /// Held values by student label and item key; `""` is empty.
    #[serde(default)]
    pub students: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether each file's payload is kept or deleted, by label.
    #[serde(default)]
    pub files: BTreeMap<String, Kept>,
    /// Whether each cache entry is kept or deleted, by label.
    #[serde(default)]
    pub cache: BTreeMap<String, Kept>,
    /// Row counts by name (`open_conflicts`, `cache_entries`...).
    #[serde(default)]
    pub counts: BTreeMap<String, i64>,
}

/// How a run ends.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It returned a report.
    #[default]
    Ok,
    /// It failed (and was rolled back), or could not start.
    Failed,
}

/// Whether a file's payload or a cache entry is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kept {
    /// The payload or row is still there after the run.
    Kept,
    /// The run deleted it.
    Deleted,
}

impl Fixture {
    /// Reads and parses a fixture file.
    pub fn load(path: &Path) -> Result<Fixture> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::not_found(format!("cannot read the fixture {}: {e}", path.display()))
        })?;
        toml::from_str(&text).map_err(|e| {
            Error::invalid(format!(
                "{} is not a valid fixture: {e}(the format is in docs/writing-plugins.md)",
                path.display()
            ))
        })
    }

    /// The run's parameters as `name=value` pairs.
    pub fn params(&self) -> Result<Vec<(String, String)>> {
        self.params
            .iter()
            .map(|(name, value)| Ok((name.clone(), scalar(&format!("params.{name}"), value)?)))
            .collect()
    }

    /// The System Defaults to set, as text.
    pub fn defaults(&self) -> Result<Vec<(String, String)>> {
        self.defaults
            .iter()
            .map(|(key, value)| Ok((key.clone(), scalar(&format!("defaults.{key}"), value)?)))
            .collect()
    }

    /// The scripted HTTP answers; `body_file`s are read relative to `dir`
    /// (the fixture's directory).
    pub fn http_script(&self, dir: &Path) -> Result<HttpScript> {
        let answers = self
            .http
            .iter()
            .map(|h| h.answer(dir))
            .collect::<Result<_>>()?;
        Ok(HttpScript::new(answers))
    }
}

impl Http {
    fn answer(&self, dir: &Path) -> Result<ScriptedAnswer> {
        let what = format!("[[http]] for {}{}", self.host, self.path);
        let body = match (&self.body, &self.body_file) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(format!(
                    "{what} gives both `body` and `body_file`; give one"
                )))
            }
            (Some(body), None) => body.clone().into_bytes(),
            (None, Some(file)) => std::fs::read(dir.join(file)).map_err(|e| {
                Error::not_found(format!(
                    "{what}: cannot read body_file {}: {e}",
                    dir.join(file).display()
                ))
            })?,
            (None, None) => Vec::new(),
        };
        if !self.path.starts_with('/') {
            return Err(Error::invalid(format!(
                "{what}: `path` must start with `/`, e.g. /v1.0/schools"
            )));
        }
        Ok(ScriptedAnswer {
            host: self.host.clone(),
            path: self.path.clone(),
            status: self.status,
            headers: self.headers.clone().into_iter().collect(),
            body,
            delay: Duration::from_millis(self.delay_ms),
            fault: self.fault.map(|f| match f {
                FaultName::Connection => Fault::Connection,
                FaultName::Timeout => Fault::Timeout,
            }),
        })
    }
}

/// A TOML string, number or boolean as text.
fn scalar(what: &str, value: &toml::Value) -> Result<String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        _ => Err(Error::invalid(format!(
            "{what} must be a string, number or true/false"
        ))),
    }
}
