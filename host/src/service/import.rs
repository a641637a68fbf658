//! The Wonde import as a person drives it: run it, read its files, place
//! the unmatched, set processing rules, keep the token.

use super::{ActionResult, RunOptions, Service};
use crate::error::{Error, Result};
use crate::import::{IncomingStudent, Progress};
use crate::plugins::capability::Capability;
use crate::secrets::Secrets;
use crate::storage::files::{self, FileInfo};
use crate::storage::rules::{self, Rule, StoredRule};
use crate::storage::unmatched::{self, Unmatched};
use crate::storage::{audit, deletions, in_transaction, schools, students};
use serde_json::json;

/// The built-in import plugin.
pub const WONDE_IMPORT: &str = "wonde-import";

/// One file in full.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileDetail {
    /// The file.
    pub file: FileInfo,
    /// What applying it did (JSON counts), once completed.
    pub outcome: Option<serde_json::Value>,
}

impl Service {
    /// Imports from Wonde: every approved school, or those named; `full`
    /// ignores the last successful import and fetches everything.
    pub fn import(&self, schools: &[String], full: bool) -> Result<ActionResult> {
        self.import_with_progress(schools, full, None)
    }

    /// [`Service::import`], telling `progress` about each school as it ends.
    pub fn import_with_progress(
        &self,
        schools: &[String],
        full: bool,
        progress: Option<Progress>,
    ) -> Result<ActionResult> {
        let mut params = vec![("full".to_string(), full.to_string())];
        if !schools.is_empty() {
            params.push(("school".to_string(), schools.join(",")));
        }
        self.run_action_with(
            WONDE_IMPORT,
            &params,
            RunOptions {
                env: crate::engine::RunEnv {
                    progress,
                    ..Default::default()
                },
                ..RunOptions::default()
            },
        )
    }

    /// Points the import at a Wonde endpoint (the real API, a region's, or
    /// the sandbox): sets `wonde.base_url`, grants `wonde-import` that host,
    /// and stores the token when one is given.
    pub fn point_wonde_at(&self, base_url: &str, token: Option<&str>) -> Result<()> {
        let url = url::Url::parse(base_url.trim())
            .map_err(|e| Error::invalid(format!("`{base_url}` is not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::invalid(format!("`{base_url}` names no host")))?;
        if url.scheme() != "https" && !(url.scheme() == "http" && crate::net::is_loopback(host)) {
            return Err(Error::invalid(format!(
                "`{base_url}` must be an https:// URL: the Wonde token is never sent over plain http \
                 except to this machine (http://127.0.0.1 or localhost)"
            )));
        }
        self.set_default("wonde.base_url", base_url)?;
        self.grant(
            WONDE_IMPORT,
            &[Capability::Http(host.to_ascii_lowercase())],
            false,
        )?;
        if let Some(token) = token {
            Secrets::for_db(self.db.path()).set("wonde", token, None)?;
        }
        Ok(())
    }

    /// One import file with what applying it did.
    pub fn file(&self, id: i64) -> Result<FileDetail> {
        let (file, outcome) = files::get(&self.conn, id)?;
        Ok(FileDetail {
            file,
            outcome: outcome.and_then(|o| serde_json::from_str(&o).ok()),
        })
    }

    /// Open unmatched records, optionally one school's.
    pub fn unmatched(&self, school: Option<&str>, limit: u32) -> Result<Vec<Unmatched>> {
        let school_id = school.map(|s| self.school(s)).transpose()?.map(|s| s.id);
        unmatched::list(&self.conn, school_id, limit)
    }

    /// Adds an unmatched student as a new held record; every open record of
    /// the same person (same GUID) is resolved with it. Returns the new id.
    pub fn add_unmatched(&self, id: i64) -> Result<i64> {
        in_transaction(&self.conn, |conn| {
            let u = open_unmatched(conn, id)?;
            let incoming: IncomingStudent = serde_json::from_str(&u.data).map_err(|e| {
                Error::Database(format!("unmatched record {id} holds unreadable data: {e}"))
            })?;
            let values: Vec<(&str, Option<&str>)> = incoming
                .items
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            let student = students::insert(conn, Some(u.school_id), &values)?;
            self.resolve_person(conn, &u, "added", student)?;
            Ok(student)
        })
    }

    /// Matches an unmatched record (and the same person's others) to a held
    /// student: their source ids are linked, so the next import compares
    /// their data with the held record and raises conflicts as usual.
    pub fn match_unmatched(&self, id: i64, student: i64) -> Result<()> {
        in_transaction(&self.conn, |conn| {
            let u = open_unmatched(conn, id)?;
            students::get(conn, student)?;
            self.resolve_person(conn, &u, "matched", student)
        })
    }

    fn resolve_person(
        &self,
        conn: &rusqlite::Connection,
        u: &Unmatched,
        status: &str,
        student: i64,
    ) -> Result<()> {
        for record in unmatched::same_person(conn, u)? {
            students::link_external(conn, crate::import::SOURCE_ID, &record.source_id, student)?;
            if let Some(upi) = &record.upi {
                students::link_external(conn, crate::import::UPI, upi, student)?;
            }
            unmatched::resolve(conn, record.id, status, student, self.actor.as_str())?;
            audit::record(
                conn,
                &self.actor,
                &format!("unmatched.{status}"),
                "unmatched",
                record.id,
                json!({"student": student, "source_id": record.source_id}),
            )?;
        }
        Ok(())
    }

    /// Every processing rule.
    pub fn rules(&self) -> Result<Vec<StoredRule>> {
        rules::list(&self.conn)
    }

    /// Sets (or with `None` removes) a processing rule for every school or one.
    pub fn set_rule(&self, school: Option<&str>, target: &str, rule: Option<Rule>) -> Result<()> {
        let school_id = school.map(|s| self.school(s)).transpose()?.map(|s| s.id);
        in_transaction(&self.conn, |conn| {
            rules::set(conn, school_id, target, rule, &self.actor)
        })
    }

    /// Sets whether a school's unmatched students are added as new records.
    pub fn set_add_unmatched(&self, school: &str, add: bool) -> Result<()> {
        let s = self.school(school)?;
        in_transaction(&self.conn, |conn| {
            schools::set_add_unmatched(conn, s.id, add)?;
            audit::record(
                conn,
                &self.actor,
                "school.add_unmatched",
                "school",
                s.id,
                json!({"add": add}),
            )
        })
    }

    /// Deletions at source, newest first.
    pub fn deletions(&self, limit: u32) -> Result<Vec<deletions::Deletion>> {
        deletions::list(&self.conn, limit)
    }
}

fn open_unmatched(conn: &rusqlite::Connection, id: i64) -> Result<Unmatched> {
    let u = unmatched::get(conn, id)?;
    if u.status != "open" {
        return Err(Error::invalid(format!(
            "unmatched record {id} is already {} (student {})",
            u.status,
            u.student_id.unwrap_or(0)
        )));
    }
    Ok(u)
}
